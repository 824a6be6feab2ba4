"""Facts for sections 摘要, 一, 二 and 四, computed from the week's rows by rules you can read.

Every function returns plain dicts for the templates; every figure in them is a Markup string produced by the
:class:`ClaimRecorder` (so it is recorded with its source), every data text is escaped. The wording lives in the
jinja templates; the *choice* of what to say lives here:

- per reporter and direction, the latest Comtrade year it has (one year, never a sum of years);
- the top three partners with value and share, the top-3 share, HHI and its level;
- the lowest / highest HHI among the reporters; a partner count under half the others' median is flagged as a
  coverage problem (建議人工審核);
- the largest single bilateral surplus across reporters;
- for the US Census partners: top export/import chapter, balance, the chapter with the largest deficit and its
  share of the deficit, the change against the same months of the previous year;
- 上週 / trend from the previous week's partition, 去年同週 from the same ISO week one year earlier.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from markupsafe import Markup

from trade_pipeline.core.formatting import hhi as fmt_hhi
from trade_pipeline.defs.bilateral_trade_flows.codes import is_excluded_partner
from trade_pipeline.defs.trade_briefing.claims import ClaimRecorder
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, Rows, WeekInputs

#: Reporter order of the seed's sections (US, China, Japan, Korea, Germany, Taiwan); others follow by code.
REPORTER_ORDER = (842, 156, 392, 410, 276, 490, 158)
#: US Census partners in the seed's order (China, Taiwan, Japan, Korea, Germany).
CENSUS_ORDER = ("5700", "5830", "5880", "5800", "4280")
CHINA = 156
TOP_N = 3

PR_KEYS = ("reporter_code", "flow", "year", "rank")
MC_KEYS = ("reporter_code", "flow", "year")
CS_KEYS = ("reporter_code", "flow", "year", "hs2")
TB_KEYS = ("reporter_code", "partner_code", "year")
CTB_KEYS = ("cty_code", "year", "hs2")
CCD_KEYS = ("cty_code", "flow", "rank")
REV_KEYS = ("cty_code", "flow", "year", "month", "hs2")
FLOW_ZH = {"X": "出口", "M": "進口", "export": "出口", "import": "進口"}


def _order(code: Any, order: tuple) -> tuple[int, Any]:
    return (order.index(code), code) if code in order else (len(order), code)


def _flags(row: dict[str, Any]) -> str:
    return (row.get("review_flags") or "").strip()


def census_period(year: int, month: int) -> str:
    return f"{year} 年 1 月" if month == 1 else f"{year} 年 1-{month} 月"


def reporters(inp: WeekInputs) -> list[int]:
    codes = {r["reporter_code"] for r in inp.rows("market_concentration")} | {
        r["reporter_code"] for r in inp.rows("partner_rankings")}
    return sorted(codes, key=lambda c: _order(c, REPORTER_ORDER))


def latest_year(rows: Rows, reporter: int, flow: str) -> int | None:
    years = [r["year"] for r in rows if r["reporter_code"] == reporter and r["flow"] == flow]
    return max(years) if years else None


def _concentration_row(rows: Rows, reporter: int, flow: str, year: int | None) -> dict[str, Any] | None:
    if year is None:
        return None
    for r in rows:
        if r["reporter_code"] == reporter and r["flow"] == flow and r["year"] == year:
            return r
    return None


#: Taiwan appears twice: its own filing under Comtrade reporter 490 and our mirror estimate under 158. Both rows
#: are named 台灣 in the tables, so the report tells them apart.
TAIWAN_SUFFIX = {490: "（自報）", 158: "（鏡像）"}


def _reporter_name(inp: WeekInputs, rec: ClaimRecorder, reporter: int) -> Markup:
    for table in ("market_concentration", "partner_rankings"):
        for r in inp.rows(table):
            if r["reporter_code"] == reporter and r.get("reporter_name_zh"):
                name = rec.text(r["reporter_name_zh"], table, r, PR_KEYS if table == "partner_rankings" else MC_KEYS,
                                "reporter_name_zh")
                return name + Markup(TAIWAN_SUFFIX.get(int(reporter), ""))
    # No row names this reporter (e.g. no mirror estimate yet): say so with its code, never invent a name.
    return Markup(f"報告國 ({int(reporter)})")


def _hhi_extremes(inp: WeekInputs, flow: str) -> tuple[int | None, int | None]:
    """Reporters with the lowest / highest HHI among the reported (non-mirror, unflagged) series."""
    rows = []
    for rc in reporters(inp):
        row = _concentration_row(inp.rows("market_concentration"), rc, flow,
                                 latest_year(inp.rows("market_concentration"), rc, flow))
        if row and row.get("hhi") is not None and not row.get("is_mirror"):
            rows.append(row)
    if len(rows) < 2:
        return None, None
    return min(rows, key=lambda r: r["hhi"])["reporter_code"], max(rows, key=lambda r: r["hhi"])["reporter_code"]


def _narrow_coverage(inp: WeekInputs, flow: str) -> set[int]:
    """Reporters whose partner count is under half the median of the others (likely truncated coverage)."""
    counts = {}
    for rc in reporters(inp):
        row = _concentration_row(inp.rows("market_concentration"), rc, flow,
                                 latest_year(inp.rows("market_concentration"), rc, flow))
        if row and row.get("partner_count") and not row.get("is_mirror"):
            counts[rc] = row["partner_count"]
    out = set()
    for rc, n in counts.items():
        others = [v for k, v in counts.items() if k != rc]
        if len(others) >= 2 and n < 0.5 * median(others):
            out.add(rc)
    return out


def country_flow(inp: WeekInputs, rec: ClaimRecorder, files: ExtractorFiles, reporter: int, flow: str) -> dict[str, Any]:
    """One reporter × direction paragraph: top partners, concentration, top HS2 chapter, flags."""
    rankings = inp.rows("partner_rankings")
    year = latest_year(rankings, reporter, flow)
    name = _reporter_name(inp, rec, reporter)
    out: dict[str, Any] = {"code": reporter, "name": name, "flow": flow, "year": year, "missing": year is None,
                           "top": [], "sources": [], "tags": [], "flags": Markup(""), "is_mirror": False,
                           "china_balance": None, "review": False, "confidence": ""}
    category = "export_flow" if flow == "X" else "import_flow"
    if year is None:
        src = files.comtrade(category, reporter, latest_year(inp.rows("market_concentration"), reporter, flow) or 0)
        out["sources"] = [src] if src else []
        return out
    ranked = sorted((r for r in rankings if r["reporter_code"] == reporter and r["flow"] == flow and r["year"] == year),
                    key=lambda r: r["rank"])
    for r in ranked[:TOP_N]:
        out["top"].append({
            "name": rec.text(r["partner_name_zh"], "partner_rankings", r, PR_KEYS, "partner_name_zh"),
            "code": r["partner_code"],
            "value": rec.cell("usd", "partner_rankings", r, PR_KEYS, "value_usd"),
            "value_amount": rec.cell("usd_amount", "partner_rankings", r, PR_KEYS, "value_usd"),
            "share": rec.cell("pct", "partner_rankings", r, PR_KEYS, "share_pct"),
            "yoy": rec.cell("signed_pct", "partner_rankings", r, PR_KEYS, "yoy_pct"),
        })
    first = ranked[0] if ranked else {}
    out["is_mirror"] = bool(first.get("is_mirror"))
    out["confidence"] = first.get("confidence") or ""
    flags = sorted({f for r in ranked for f in _flags(r).split(";") if f})
    mc = _concentration_row(inp.rows("market_concentration"), reporter, flow, year)
    if mc:
        out["hhi"] = rec.cell("hhi", "market_concentration", mc, MC_KEYS, "hhi")
        out["level"] = rec.text(mc.get("concentration_level"), "market_concentration", mc, MC_KEYS, "concentration_level")
        out["top3_share"] = rec.cell("pct", "market_concentration", mc, MC_KEYS, "top3_share_pct")
        out["partner_count"] = rec.cell("count", "market_concentration", mc, MC_KEYS, "partner_count")
        out["is_mirror"] = out["is_mirror"] or bool(mc.get("is_mirror"))
        out["confidence"] = mc.get("confidence") or out["confidence"]
        flags = sorted(set(flags) | {f for f in _flags(mc).split(";") if f})
        low, high = _hhi_extremes(inp, flow)
        if reporter == low:
            out["tags"].append("most_diversified")
        if reporter == high:
            out["tags"].append("most_concentrated")
        if reporter in _narrow_coverage(inp, flow):
            out["tags"].append("narrow_coverage")
    out["review"] = bool(flags)
    if flags:
        out["flags"] = Markup(md_join(flags))
    structure = sorted((r for r in inp.rows("commodity_structure")
                        if r["reporter_code"] == reporter and r["flow"] == flow and r["year"] == year),
                       key=lambda r: r["rank"])
    if structure:
        top = structure[0]
        out["top_chapter"] = {
            "hs2": top["hs2"],
            "desc": rec.text(top.get("hs2_desc_zh") or top.get("hs2_desc"), "commodity_structure", top, CS_KEYS,
                             "hs2_desc_zh" if top.get("hs2_desc_zh") else "hs2_desc"),
            "value": rec.cell("usd", "commodity_structure", top, CS_KEYS, "value_usd"),
            "share": rec.cell("pct", "commodity_structure", top, CS_KEYS, "share_pct"),
        }
    for cat in (category, "commodity_structure") if structure else (category,):
        src = files.comtrade(cat, reporter, year)
        if src:
            out["sources"].append(src)
    if flow == "M" and reporter != CHINA:
        out["china_balance"] = china_balance(inp, rec, reporter, year)
    return out


def md_join(flags: list[str]) -> str:
    from trade_pipeline.defs.trade_briefing.markdown import md_escape

    return md_escape(";".join(flags))


def china_balance(inp: WeekInputs, rec: ClaimRecorder, reporter: int, year: int) -> dict[str, Any] | None:
    for r in inp.rows("trade_balances"):
        if r["reporter_code"] == reporter and r["partner_code"] == CHINA and r["year"] == year:
            return {
                "balance": rec.cell("signed_usd", "trade_balances", r, TB_KEYS, "balance_usd"),
                "export": rec.cell("usd_amount", "trade_balances", r, TB_KEYS, "export_usd"),
                "import": rec.cell("usd_amount", "trade_balances", r, TB_KEYS, "import_usd"),
                "label": rec.text(r.get("balance_label"), "trade_balances", r, TB_KEYS, "balance_label"),
            }
    return None


def largest_surplus(inp: WeekInputs, rec: ClaimRecorder, files: ExtractorFiles) -> dict[str, Any] | None:
    """The largest bilateral surplus of any reporter in its latest year (reported data only)."""
    best = None
    for rc in reporters(inp):
        year = latest_year(inp.rows("partner_rankings"), rc, "X")
        for r in inp.rows("trade_balances"):
            # bilateral only: World (0) and the nes/special areas are not a partner country
            if is_excluded_partner(r["partner_code"]):
                continue
            if r["reporter_code"] == rc and r["year"] == year and r.get("balance_usd") is not None \
                    and not _flags(r) and (best is None or r["balance_usd"] > best["balance_usd"]):
                best = r
    if not best or best["balance_usd"] <= 0:
        return None
    return {
        "reporter": _reporter_name(inp, rec, best["reporter_code"]),
        "partner": rec.text(best["partner_name_zh"], "trade_balances", best, TB_KEYS, "partner_name_zh"),
        "year": best["year"],
        "balance": rec.cell("usd", "trade_balances", best, TB_KEYS, "balance_usd"),
        "source": files.comtrade("trade_balance", best["reporter_code"], best["year"]),
    }


def census_facts(inp: WeekInputs, rec: ClaimRecorder, files: ExtractorFiles) -> dict[str, Any] | None:
    """US Census year-to-date facts per partner: totals, balance, top chapters, largest deficit chapter."""
    tb = inp.rows("census_trade_balance")
    totals = sorted((r for r in tb if r["hs2"] == "TOTAL"), key=lambda r: _order(r["cty_code"], CENSUS_ORDER))
    if not totals:
        return None
    year, month = totals[0]["year"], totals[0]["through_month"]
    detail = inp.rows("census_country_detail")
    partners = []
    for t in totals:
        cty = t["cty_code"]
        chapters = [r for r in tb if r["cty_code"] == cty and r["hs2"] != "TOTAL" and r["year"] == t["year"]]
        deficits = [r for r in chapters if r.get("balance_usd") is not None and r["balance_usd"] < 0]
        p: dict[str, Any] = {
            "cty": cty,
            "name": rec.text(t["cty_name_zh"], "census_trade_balance", t, CTB_KEYS, "cty_name_zh"),
            "export": rec.cell("usd", "census_trade_balance", t, CTB_KEYS, "export_ytd_usd"),
            "import": rec.cell("usd", "census_trade_balance", t, CTB_KEYS, "import_ytd_usd"),
            "export_amount": rec.cell("usd_amount", "census_trade_balance", t, CTB_KEYS, "export_ytd_usd"),
            "import_amount": rec.cell("usd_amount", "census_trade_balance", t, CTB_KEYS, "import_ytd_usd"),
            "balance": rec.cell("signed_usd", "census_trade_balance", t, CTB_KEYS, "balance_usd"),
            "balance_abs": None,
            "deficit": t.get("balance_usd") is not None and t["balance_usd"] < 0,
            "prev_year_balance": rec.cell("signed_usd", "census_trade_balance", t, CTB_KEYS, "prev_year_balance_usd"),
            "flags": Markup(md_join([f for f in _flags(t).split(";") if f])) if _flags(t) else Markup(""),
            "sources": [s for s in (files.census("trade_balance", cty, t["year"]),
                                    files.census("country_detail", cty, t["year"])) if s],
            "export_sources": [s for s in (files.census("monthly_export", cty, t["year"]),) if s],
            "import_sources": [s for s in (files.census("monthly_import", cty, t["year"]),) if s],
        }
        if deficits:
            d = min(deficits, key=lambda r: r["balance_usd"])
            p["top_deficit"] = {
                "hs2": d["hs2"],
                "desc": rec.text(d.get("hs2_desc_zh") or d.get("hs2_desc"), "census_trade_balance", d, CTB_KEYS,
                                 "hs2_desc_zh" if d.get("hs2_desc_zh") else "hs2_desc"),
                "balance": rec.cell("signed_usd", "census_trade_balance", d, CTB_KEYS, "balance_usd"),
                "share": rec.cell("pct", "census_trade_balance", d, CTB_KEYS, "share_of_deficit_pct"),
                "share_value": d.get("share_of_deficit_pct"),
                "row": d,
            }
        for flow in ("export", "import"):
            top = sorted((r for r in detail if r["cty_code"] == cty and r["flow"] == flow), key=lambda r: r["rank"])
            p[f"top_{flow}"] = [{
                "hs2": r["hs2"],
                "desc": rec.text(r.get("hs2_desc_zh"), "census_country_detail", r, CCD_KEYS, "hs2_desc_zh"),
                "value": rec.cell("usd", "census_country_detail", r, CCD_KEYS, "value_usd"),
                "share": rec.cell("pct", "census_country_detail", r, CCD_KEYS, "share_pct"),
            } for r in top[:2]]
        p["total_row"] = t
        partners.append(p)
    worst = min((p for p in partners if p["deficit"]), key=lambda p: p["total_row"]["balance_usd"], default=None)
    return {"year": year, "through_month": month, "period": census_period(year, month), "partners": partners,
            "largest_deficit": worst, "revisions": revisions(inp, rec),
            "same_week_last_year": census_last_year(inp, rec, partners)}


def revisions(inp: WeekInputs, rec: ClaimRecorder) -> list[dict[str, Any]]:
    out = []
    names = {r["cty_code"]: r for r in inp.rows("census_trade_balance") if r["hs2"] == "TOTAL"}
    for r in sorted(inp.rows("census_revisions"),
                    key=lambda r: (-abs(r.get("change_usd") or 0.0), r["cty_code"], r["flow"], r["month"], r["hs2"])):
        n = names.get(r["cty_code"])
        out.append({
            "name": rec.text(n["cty_name_zh"], "census_trade_balance", n, CTB_KEYS, "cty_name_zh") if n else r["cty_code"],
            "flow": FLOW_ZH.get(r["flow"], r["flow"]), "year": r["year"], "month": r["month"], "hs2": r["hs2"],
            "previous": rec.cell("usd_amount", "census_revisions", r, REV_KEYS, "previous_usd"),
            "revised": rec.cell("usd_amount", "census_revisions", r, REV_KEYS, "revised_usd"),
            "change": rec.cell("signed_usd", "census_revisions", r, REV_KEYS, "change_usd"),
            "row": r,
        })
    return out


def census_last_year(inp: WeekInputs, rec: ClaimRecorder, partners: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The same ISO week one year earlier: that week's year-to-date balances, when the partition exists."""
    ly = [r for r in inp.last_year.get("census_trade_balance", []) if r["hs2"] == "TOTAL"]
    if not ly:
        return None
    by_cty = {r["cty_code"]: r for r in ly}
    rows = []
    for p in partners:
        r = by_cty.get(p["cty"])
        rows.append({"name": p["name"], "now": p["balance"],
                     "then": rec.cell("signed_usd", "census_trade_balance", r, CTB_KEYS, "balance_usd") if r else Markup("--"),
                     "then_period": census_period(r["year"], r["through_month"]) if r else "--"})
    return {"week": inp.last_year_key, "rows": rows}


def concentration_table(inp: WeekInputs, rec: ClaimRecorder, files: ExtractorFiles, flow: str = "X") -> dict[str, Any]:
    """Section 四: one row per reporter, with 上週 (previous partition) and 去年同週 columns and a trend arrow."""
    mc = inp.rows("market_concentration")
    prev = inp.previous.get("market_concentration", [])
    ly = inp.last_year.get("market_concentration", [])
    low, high = _hhi_extremes(inp, flow)
    narrow = _narrow_coverage(inp, flow)
    rows = []
    for rc in reporters(inp):
        year = latest_year(mc, rc, flow)
        r = _concentration_row(mc, rc, flow, year)
        row: dict[str, Any] = {"code": rc, "name": _reporter_name(inp, rec, rc), "year": year, "missing": r is None}
        if r is None:
            rows.append(row)
            continue
        row.update({
            "hhi": rec.cell("hhi", "market_concentration", r, MC_KEYS, "hhi"),
            "level": rec.text(r.get("concentration_level"), "market_concentration", r, MC_KEYS, "concentration_level"),
            "top3_share": rec.cell("pct", "market_concentration", r, MC_KEYS, "top3_share_pct"),
            "partner_count": rec.cell("count", "market_concentration", r, MC_KEYS, "partner_count"),
            "is_mirror": bool(r.get("is_mirror")),
            "confidence": r.get("confidence") or "",
            "flags": Markup(md_join([f for f in _flags(r).split(";") if f])) if _flags(r) else Markup(""),
            "tags": [t for t, on in (("most_diversified", rc == low), ("most_concentrated", rc == high),
                                     ("narrow_coverage", rc in narrow)) if on],
            "hhi_value": r.get("hhi"),
            "source": files.comtrade("market_concentration", rc, year),
        })
        if r.get("hhi_prev_year") is not None and r.get("hhi") is not None:
            # the same reporter's previous data year, as the layer computed it (HHI trend year over year)
            row["prev_year_hhi"] = rec.cell("hhi", "market_concentration", r, MC_KEYS, "hhi_prev_year")
            now_s, before_s = fmt_hhi(r["hhi"]), fmt_hhi(r["hhi_prev_year"])
            row["year_trend"] = "→" if now_s == before_s else ("↑" if r["hhi"] > r["hhi_prev_year"] else "↓")
        p = _concentration_row(prev, rc, flow, year) or _concentration_row(prev, rc, flow, latest_year(prev, rc, flow))
        if p is not None and p.get("hhi") is not None and r.get("hhi") is not None:
            row["prev"] = rec.cell("hhi", "market_concentration", p, MC_KEYS, "hhi")
            row["prev_year_note"] = p["year"] if p["year"] != year else None
            now_s, prev_s = fmt_hhi(r["hhi"]), fmt_hhi(p["hhi"])
            # Compare what is printed, so the arrow never contradicts two identical-looking figures.
            row["trend"] = "→" if now_s == prev_s else ("↑" if r["hhi"] > p["hhi"] else "↓")
        l = _concentration_row(ly, rc, flow, latest_year(ly, rc, flow))
        if l is not None:
            row["last_year"] = rec.cell("hhi", "market_concentration", l, MC_KEYS, "hhi")
            row["last_year_data_year"] = l["year"]
        rows.append(row)
    # Reported series by HHI (most diversified first), mirror estimates and missing reporters after them.
    rows.sort(key=lambda x: (x["missing"], x.get("is_mirror", False), x.get("hhi_value") or 0.0))
    years = sorted({r["year"] for r in rows if r.get("year")})
    return {"rows": rows, "has_previous": bool(prev), "has_last_year": bool(ly), "years": years,
            "prev_week": inp.prev_key, "last_year_week": inp.last_year_key,
            "low": next((r for r in rows if r["code"] == low), None),
            "high": next((r for r in rows if r["code"] == high), None),
            "low_threshold": rec.constant("int", "hhi_levels", "low_below"),
            "high_threshold": rec.constant("int", "hhi_levels", "high_above")}
