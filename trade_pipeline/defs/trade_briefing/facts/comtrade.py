"""Facts of the UN Comtrade layer: per reporter and direction, the latest year, top partners, concentration, top HS2
chapter and the balance with China; the lowest/highest HHI; the largest bilateral surplus; the HHI table (四)."""

from __future__ import annotations

from statistics import median
from typing import Any

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import hhi as fmt_hhi
from trade_pipeline.core.hs_chapters import hs2_short_zh
from trade_pipeline.defs.bilateral_trade_flows.codes import is_excluded_partner
from trade_pipeline.defs.trade_briefing.facts.model import FactBook
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, Rows, WeekInputs
from trade_pipeline.defs.trade_briefing.names import area_name_en, hs2_desc_en

#: Reporter order of the seed's sections (US, China, Japan, Korea, Germany, Taiwan); others follow by code.
REPORTER_ORDER = (842, 156, 392, 410, 276, 490, 158)
CHINA = 156
TOP_N = 3
PR, MC, CS, TB = (
    contract.PARTNER_RANKINGS,
    contract.MARKET_CONCENTRATION,
    contract.COMMODITY_STRUCTURE,
    contract.TRADE_BALANCES,
)
#: Taiwan appears twice: its own filing (Comtrade reporter 490) and our mirror estimate (158).
TAIWAN_LABEL = {490: "taiwan_own", 158: "taiwan_mirror"}


def _order(code: Any, order: tuple) -> tuple[int, Any]:
    return (order.index(code), code) if code in order else (len(order), code)


def reporters(inp: WeekInputs) -> list[int]:
    codes = {r["reporter_code"] for r in inp.rows(MC)} | {r["reporter_code"] for r in inp.rows(PR)}
    return sorted(codes, key=lambda c: _order(c, REPORTER_ORDER))


def latest_year(rows: Rows, reporter: int, flow: str) -> int | None:
    years = [r["year"] for r in rows if r["reporter_code"] == reporter and r["flow"] == flow]
    return max(years) if years else None


def concentration_row(rows: Rows, reporter: int, flow: str, year: int | None) -> dict[str, Any] | None:
    if year is None:
        return None
    return next((r for r in rows if r["reporter_code"] == reporter and r["flow"] == flow and r["year"] == year), None)


def _latest_concentration(inp: WeekInputs, flow: str) -> list[dict[str, Any]]:
    rows = inp.rows(MC)
    out = []
    for rc in reporters(inp):
        r = concentration_row(rows, rc, flow, latest_year(rows, rc, flow))
        if r is not None:
            out.append(r)
    return out


def hhi_extremes(inp: WeekInputs, flow: str) -> tuple[dict | None, dict | None, list[dict]]:
    """(lowest, highest, considered) among the reported (non-mirror) series with an HHI. ``considered`` also holds
    the series whose HHI is missing: they could not compete, so a problem there may change the answer."""
    considered = [r for r in _latest_concentration(inp, flow) if not r.get("is_mirror")]
    cands = [r for r in considered if r.get("hhi") is not None]
    if len(cands) < 2:
        return None, None, considered
    return min(cands, key=lambda r: r["hhi"]), max(cands, key=lambda r: r["hhi"]), considered


def narrow_coverage(inp: WeekInputs, flow: str) -> tuple[set[int], list[dict]]:
    """Reporters whose partner count is under half the median of the others (likely truncated coverage); the rows
    considered include those without a count (a missing count takes part in the median it is absent from)."""
    considered = [r for r in _latest_concentration(inp, flow) if not r.get("is_mirror")]
    counts = {r["reporter_code"]: r["partner_count"] for r in considered if r.get("partner_count")}
    out = set()
    for rc, n in counts.items():
        others = [v for k, v in counts.items() if k != rc]
        if len(others) >= 2 and n < 0.5 * median(others):
            out.add(rc)
    return out, considered


def reporter_name(book: FactBook, inp: WeekInputs, slot: str, reporter: int) -> None:
    """``slot.name`` (the table's name), ``slot.name_en`` (English, from the code) and ``slot.label``
    (taiwan_own / taiwan_mirror / plain)."""
    for table in (MC, PR):
        row = next((r for r in inp.rows(table) if r["reporter_code"] == reporter and r.get("reporter_name_zh")), None)
        if row is not None:
            book.cell(f"{slot}.name", "md_text", table, row, "reporter_name_zh")
            book.cell(f"{slot}.name_en", "md_text", table, row, "reporter_code", transform=area_name_en)
            break
    else:
        book.cell(f"{slot}.name", "md_text", MC, None, "reporter_name_zh")
        book.cell(f"{slot}.name_en", "md_text", MC, None, "reporter_code")
    book.ident(f"{slot}.code", "code", str(int(reporter)))
    book.enum(f"{slot}.label", TAIWAN_LABEL.get(int(reporter), "plain"))


def country_flow(book: FactBook, inp: WeekInputs, files: ExtractorFiles, reporter: int, flow: str) -> None:
    base = f"{'exports' if flow == 'X' else 'imports'}.{reporter}"
    rankings = inp.rows(PR)
    year = latest_year(rankings, reporter, flow)
    reporter_name(book, inp, base, reporter)
    category = "export_flow" if flow == "X" else "import_flow"
    book.flag(f"{base}.missing", year is None)
    if year is None:
        src = files.comtrade(category, reporter, latest_year(inp.rows(MC), reporter, flow) or 0)
        if src:
            book.ident(f"{base}.sources.1", "code", src)
        return
    ranked = sorted(
        (r for r in rankings if r["reporter_code"] == reporter and r["flow"] == flow and r["year"] == year),
        key=lambda r: r["rank"],
    )
    first = ranked[0] if ranked else {}
    # a later year the layer holds but could not rank (its reply refused or failed): this year is printed in its
    # place, so every figure of the statement depends on that year's rows
    later = [(MC, r) for r in inp.rows(MC) if r["reporter_code"] == reporter and r["flow"] == flow and r["year"] > year]
    book.cell(f"{base}.year", "year", PR, first, "year", depends=later)
    # said in words where the year is named (數據期間與限制), not only as marks on the figures
    book.flag(f"{base}.year_in_place", bool(later))
    if later:
        latest = max((r for _, r in later), key=lambda r: r["year"])
        book.cell(f"{base}.later_year", "year", MC, latest, "year")
        book.enum(
            f"{base}.later_flags",
            contract.join_flags(
                list(dict.fromkeys(f for _, r in later for f in contract.quality_flags(book.flags_of(MC, r))))
            ),
        )
    for i, r in enumerate(ranked[:TOP_N], start=1):
        s = f"{base}.top.{i}"
        book.cell(f"{s}.name", "md_text", PR, r, "partner_name_zh", depends=later)
        book.cell(f"{s}.name_en", "md_text", PR, r, "partner_code", transform=area_name_en, depends=later)
        book.cell(f"{s}.code", "code", PR, r, "partner_code", depends=later)
        book.cell(f"{s}.value", "usd", PR, r, "value_usd", depends=later)
        book.cell(f"{s}.value_amount", "usd_amount", PR, r, "value_usd", depends=later)
        book.cell(f"{s}.share", "pct", PR, r, "share_pct", depends=later)
        book.cell(f"{s}.yoy", "signed_pct", PR, r, "yoy_pct", depends=later)
    mc = concentration_row(inp.rows(MC), reporter, flow, year)
    is_mirror = bool(first.get("is_mirror")) or bool(mc and mc.get("is_mirror"))
    book.flag(f"{base}.is_mirror", is_mirror)
    book.enum(f"{base}.confidence", (mc or {}).get("confidence") or first.get("confidence") or "")
    flagged = [(PR, r) for r in ranked] + ([(MC, mc)] if mc else []) + later
    book.flag(f"{base}.review", any(book.flags_of(t, r) for t, r in flagged), depends=flagged)
    book.enum(f"{base}.flags", contract.join_flags(c for t, r in flagged for c in book.flags_of(t, r)))
    if mc:
        book.cell(f"{base}.hhi", "hhi", MC, mc, "hhi", depends=later)
        book.enum(f"{base}.level", mc.get("concentration_level"))
        book.cell(f"{base}.top3_share", "pct", MC, mc, "top3_share_pct", depends=later)
        book.cell(f"{base}.partner_count", "count", MC, mc, "partner_count", depends=later)
        low, high, cands = hhi_extremes(inp, flow)
        narrow, ncands = narrow_coverage(inp, flow)
        deps = [(MC, c) for c in cands]
        book.flag(f"{base}.most_diversified", bool(low) and low["reporter_code"] == reporter, depends=deps)
        book.flag(f"{base}.most_concentrated", bool(high) and high["reporter_code"] == reporter, depends=deps)
        book.flag(f"{base}.narrow_coverage", reporter in narrow, depends=[(MC, c) for c in ncands])
    structure = sorted(
        (r for r in inp.rows(CS) if r["reporter_code"] == reporter and r["flow"] == flow and r["year"] == year),
        key=lambda r: r["rank"],
    )
    if structure:
        top = structure[0]
        book.cell(f"{base}.top_chapter.hs2", "code", CS, top, "hs2", depends=later)
        book.cell(f"{base}.top_chapter.desc", "md_text", CS, top, "hs2", transform=hs2_short_zh, depends=later)
        book.cell(f"{base}.top_chapter.desc_en", "md_text", CS, top, "hs2", transform=hs2_desc_en, depends=later)
        book.cell(f"{base}.top_chapter.value", "usd", CS, top, "value_usd", depends=later)
        book.cell(f"{base}.top_chapter.share", "pct", CS, top, "share_pct", depends=later)
    n = 0
    for cat in (category, "commodity_structure") if structure else (category,):
        src = files.comtrade(cat, reporter, year)
        if src:
            n += 1
            book.ident(f"{base}.sources.{n}", "code", src)
    if flow == "M" and reporter != CHINA:
        row = next(
            (
                r
                for r in inp.rows(TB)
                if r["reporter_code"] == reporter and r["partner_code"] == CHINA and r["year"] == year
            ),
            None,
        )
        if row is not None:
            s = f"{base}.china_balance"
            book.cell(f"{s}.balance", "signed_usd", TB, row, "balance_usd", depends=later)
            book.cell(f"{s}.balance_text", "usd_signed", TB, row, "balance_usd", depends=later)
            book.cell(f"{s}.export", "usd_amount", TB, row, "export_usd", depends=later)
            book.cell(f"{s}.import", "usd_amount", TB, row, "import_usd", depends=later)
            book.cell(f"{s}.label", "md_text", TB, row, "balance_label", depends=later)
            # why a balance is missing, in words, where the prose withholds it
            book.enum(f"{s}.flags", contract.join_flags(book.flags_of(TB, row)))
            bal = row.get("balance_usd")
            book.enum(f"{s}.sign", None if bal is None else "surplus" if bal > 0 else "deficit" if bal < 0 else "even")


def largest_surplus(book: FactBook, inp: WeekInputs, files: ExtractorFiles) -> None:
    """The largest bilateral surplus of any reporter in its latest year (reported data only, countries only)."""
    best, cands = None, []
    for rc in reporters(inp):
        year = latest_year(inp.rows(PR), rc, "X")
        for r in inp.rows(TB):
            # bilateral only: World (0) and the nes/special areas are not a partner country
            if r["reporter_code"] != rc or is_excluded_partner(r["partner_code"]) or r.get("is_mirror"):
                continue
            if year is not None and r["year"] < year:
                continue
            # considered: the year's balances, those whose balance is missing (they could not compete) and a later
            # year's the layer could not complete (printed in its place)
            cands.append(r)
            if r["year"] != year or r.get("balance_usd") is None:
                continue
            if best is None or r["balance_usd"] > best["balance_usd"]:
                best = r
    s = "summary.surplus"
    book.flag(f"{s}.present", best is not None and best["balance_usd"] > 0)
    if best is None or best["balance_usd"] <= 0:
        return
    # chosen among every reporter's partner balances: a quality problem in any of them may change the answer
    deps = [(TB, c) for c in cands]
    reporter_name(book, inp, f"{s}.reporter", best["reporter_code"])
    book.cell(f"{s}.partner", "md_text", TB, best, "partner_name_zh")
    book.cell(f"{s}.partner_en", "md_text", TB, best, "partner_code", transform=area_name_en)
    book.cell(f"{s}.year", "year", TB, best, "year")
    book.cell(f"{s}.balance", "usd", TB, best, "balance_usd", depends=deps)
    src = files.comtrade("trade_balance", best["reporter_code"], best["year"])
    if src:
        book.ident(f"{s}.source", "code", src)


def concentration_table(book: FactBook, inp: WeekInputs, files: ExtractorFiles, flow: str = "X") -> None:
    """Section 四: one row per reporter (reported series by HHI, then mirror estimates and missing reporters), with
    the previous data year's HHI, 上週 (the layer's hhi_prev_week) and 去年同週 (the same ISO week last year)."""
    mc = inp.rows(MC)
    ly = inp.last_year.get(MC, [])
    low, high, cands = hhi_extremes(inp, flow)
    narrow, ncands = narrow_coverage(inp, flow)
    deps = [(MC, c) for c in cands]
    entries = []
    for rc in reporters(inp):
        year = latest_year(mc, rc, flow)
        r = concentration_row(mc, rc, flow, year)
        entries.append((rc, year, r))
    entries.sort(key=lambda e: (e[2] is None, bool(e[2] and e[2].get("is_mirror")), (e[2] or {}).get("hhi") or 0.0))
    has_prev = any(r is not None and r.get("hhi_prev_week") is not None for _, _, r in entries)
    for i, (rc, year, r) in enumerate(entries, start=1):
        s = f"concentration.rows.{i}"
        reporter_name(book, inp, s, rc)
        book.flag(f"{s}.missing", r is None)
        if r is None:
            continue
        book.cell(f"{s}.year", "year", MC, r, "year")
        book.cell(f"{s}.hhi", "hhi", MC, r, "hhi")
        book.enum(f"{s}.level", r.get("concentration_level"))
        book.cell(f"{s}.top3_share", "pct", MC, r, "top3_share_pct")
        book.cell(f"{s}.partner_count", "count", MC, r, "partner_count")
        book.flag(f"{s}.is_mirror", bool(r.get("is_mirror")))
        book.enum(f"{s}.confidence", r.get("confidence") or "")
        book.flag(f"{s}.review", bool(book.flags_of(MC, r)), depends=[(MC, r)])
        book.flag(f"{s}.most_diversified", bool(low) and low["reporter_code"] == rc, depends=deps)
        book.flag(f"{s}.most_concentrated", bool(high) and high["reporter_code"] == rc, depends=deps)
        book.flag(f"{s}.narrow_coverage", rc in narrow, depends=[(MC, c) for c in ncands])
        if r.get("hhi_prev_year") is not None and r.get("hhi") is not None:
            book.cell(f"{s}.prev_year_hhi", "hhi", MC, r, "hhi_prev_year")
            book.ident(f"{s}.prev_year", "year", int(r["year"]) - 1)
            book.enum(f"{s}.year_trend", _arrow(r["hhi"], r["hhi_prev_year"]))
        if r.get("hhi_prev_week") is not None and r.get("hhi") is not None:
            book.cell(f"{s}.prev_week_hhi", "hhi", MC, r, "hhi_prev_week")
            book.enum(f"{s}.week_trend", _arrow(r["hhi"], r["hhi_prev_week"]))
        then = concentration_row(ly, rc, flow, latest_year(ly, rc, flow))
        if then is not None:
            book.cell(f"{s}.last_year_hhi", "hhi", MC, then, "hhi")
            book.cell(f"{s}.last_year_data_year", "year", MC, then, "year")
        src = files.comtrade("market_concentration", rc, year)
        if src:
            book.ident(f"{s}.source", "code", src)
    years = sorted({int(y) for _, y, r in entries if r is not None and y is not None})
    for i, y in enumerate(years, start=1):
        book.ident(f"concentration.years.{i}", "year", y)
    book.flag("concentration.has_previous", has_prev)
    book.flag("concentration.has_last_year", bool(ly))
    if low and high:
        reporter_name(book, inp, "concentration.low", low["reporter_code"])
        book.cell("concentration.low.hhi", "hhi", MC, low, "hhi", depends=deps)
        reporter_name(book, inp, "concentration.high", high["reporter_code"])
        book.cell("concentration.high.hhi", "hhi", MC, high, "hhi", depends=deps)
        book.cell("concentration.high.partner_count", "count", MC, high, "partner_count")
        book.flag(
            "concentration.high.narrow_coverage", high["reporter_code"] in narrow, depends=[(MC, c) for c in ncands]
        )
    book.constant("concentration.low_threshold", "int", contract.HHI_LOW_BELOW, "hhi_low_below")
    book.constant("concentration.high_threshold", "int", contract.HHI_HIGH_ABOVE, "hhi_high_above")


def _arrow(now: float, before: float) -> str:
    # compare what is printed, so the arrow never contradicts two identical-looking figures
    if fmt_hhi(now) == fmt_hhi(before):
        return "→"
    return "↑" if now > before else "↓"
