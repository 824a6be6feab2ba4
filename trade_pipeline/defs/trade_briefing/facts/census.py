"""Facts of the US Census layer: per partner the year-to-date totals, balance, top chapters and the largest deficit
chapter; the partner with the largest deficit; revisions since last week; the same week last year."""

from __future__ import annotations

from trade_pipeline.core import contract
from trade_pipeline.core.hs_chapters import hs2_short_zh
from trade_pipeline.defs.trade_briefing.facts.model import FactBook
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, WeekInputs
from trade_pipeline.defs.trade_briefing.names import census_name_en, hs2_desc_en

#: US Census partners in the seed's order (China, Taiwan, Japan, Korea, Germany).
CENSUS_ORDER = ("5700", "5830", "5880", "5800", "4280")
TB, CD, REV, STATUS = (
    contract.CENSUS_TRADE_BALANCE,
    contract.CENSUS_COUNTRY_DETAIL,
    contract.CENSUS_REVISIONS,
    contract.CENSUS_RELEASE_STATUS,
)
TOP_CHAPTERS = 2
FLOW_ZH = {"export": "出口", "import": "進口"}


def _order(code: str) -> tuple[int, str]:
    return (CENSUS_ORDER.index(code), code) if code in CENSUS_ORDER else (len(CENSUS_ORDER), code)


def census_facts(book: FactBook, inp: WeekInputs, files: ExtractorFiles) -> None:
    tb = inp.rows(TB)
    totals = sorted((r for r in tb if r["hs2"] == "TOTAL"), key=lambda r: _order(r["cty_code"]))
    book.flag("census.present", bool(totals))
    if not totals:
        return
    first = totals[0]
    book.cell("census.year", "year", TB, first, "year")
    book.ident("census.first_month", "month", 1)
    book.cell("census.through_month", "month", TB, first, "through_month")
    book.flag("census.single_month", first["through_month"] == 1)
    detail = inp.rows(CD)
    for t in totals:
        cty = t["cty_code"]
        s = f"census.partners.{cty}"
        book.ident(f"{s}.cty", "code", cty)
        book.cell(f"{s}.name", "md_text", TB, t, "cty_name_zh")
        book.cell(f"{s}.name_en", "md_text", TB, t, "cty_code", transform=census_name_en)
        book.cell(f"{s}.export", "usd", TB, t, "export_ytd_usd")
        book.cell(f"{s}.import", "usd", TB, t, "import_ytd_usd")
        book.cell(f"{s}.export_amount", "usd_amount", TB, t, "export_ytd_usd")
        book.cell(f"{s}.import_amount", "usd_amount", TB, t, "import_ytd_usd")
        book.cell(f"{s}.balance", "signed_usd", TB, t, "balance_usd")
        book.cell(f"{s}.balance_text", "usd_signed", TB, t, "balance_usd")
        book.cell(f"{s}.prev_year_balance", "signed_usd", TB, t, "prev_year_balance_usd")
        book.flag(f"{s}.deficit", t.get("balance_usd") is not None and t["balance_usd"] < 0)
        book.flag(f"{s}.review", bool(book.flags_of(TB, t)), depends=[(TB, t)])
        book.enum(f"{s}.flags", contract.join_flags(book.flags_of(TB, t)))
        chapters = [r for r in tb if r["cty_code"] == cty and r["hs2"] != "TOTAL" and r["year"] == t["year"]]
        deficits = [r for r in chapters if r.get("balance_usd") is not None and r["balance_usd"] < 0]
        # the quality problems of the partner's chapter figures, in words where a figure over them is withheld
        chapter_quality = contract.quality_flags([f for r in (t, *chapters) for f in book.flags_of(TB, r)])
        book.enum(f"{s}.chapter_flags", contract.join_flags(list(dict.fromkeys(chapter_quality))))
        top_share = min(deficits, key=lambda r: r["balance_usd"]).get("share_of_deficit_pct") if deficits else None
        # a deficit (or a balance that could not be computed) whose chapter shares are missing over flagged input:
        # the concentration rule cannot be decided, and the report says so instead of dropping the partner
        undecided = (
            (t.get("balance_usd") is None or t["balance_usd"] < 0) and top_share is None and bool(chapter_quality)
        )
        book.flag(f"{s}.top_deficit_withheld", undecided, depends=[(TB, t), *((TB, c) for c in chapters)])
        if deficits:
            d = min(deficits, key=lambda r: r["balance_usd"])
            # chosen among the partner's chapters: any chapter's quality problem can change which one it is
            deps = [(TB, c) for c in chapters]
            book.cell(f"{s}.top_deficit.hs2", "code", TB, d, "hs2")
            book.cell(f"{s}.top_deficit.desc", "md_text", TB, d, "hs2", transform=hs2_short_zh)
            book.cell(f"{s}.top_deficit.desc_en", "md_text", TB, d, "hs2", transform=hs2_desc_en)
            book.cell(f"{s}.top_deficit.balance", "signed_usd", TB, d, "balance_usd", depends=deps)
            book.cell(f"{s}.top_deficit.balance_text", "usd_signed", TB, d, "balance_usd", depends=deps)
            book.cell(f"{s}.top_deficit.share", "pct", TB, d, "share_of_deficit_pct", depends=deps)
            share = d.get("share_of_deficit_pct")
            book.flag(f"{s}.top_deficit.over_half", share is not None and share >= DEFICIT_SHARE_WATCH, depends=deps)
        for flow in ("export", "import"):
            top = sorted((r for r in detail if r["cty_code"] == cty and r["flow"] == flow), key=lambda r: r["rank"])
            book.flag(f"{s}.has_{flow}_detail", bool(top))
            for i, r in enumerate(top[:TOP_CHAPTERS], start=1):
                c = f"{s}.top_{flow}.{i}"
                book.cell(f"{c}.hs2", "code", CD, r, "hs2")
                book.cell(f"{c}.desc", "md_text", CD, r, "hs2", transform=hs2_short_zh)
                book.cell(f"{c}.desc_en", "md_text", CD, r, "hs2", transform=hs2_desc_en)
                book.cell(f"{c}.value", "usd", CD, r, "value_usd")
                book.cell(f"{c}.share", "pct", CD, r, "share_pct")
        n = 0
        for view in ("trade_balance", "country_detail"):
            if src := files.census(view, cty, t["year"]):
                n += 1
                book.ident(f"{s}.sources.{n}", "code", src)
        for view, flow in (("monthly_export", "export"), ("monthly_import", "import")):
            if src := files.census(view, cty, t["year"]):
                book.ident(f"{s}.{flow}_source", "code", src)
    deficits = [t for t in totals if t.get("balance_usd") is not None and t["balance_usd"] < 0]
    book.flag("census.has_deficit", bool(deficits))
    if deficits:
        worst = min(deficits, key=lambda t: t["balance_usd"])
        book.enum("census.largest_deficit", worst["cty_code"])
        book.cell(
            "census.largest_deficit_balance", "usd_signed", TB, worst, "balance_usd", depends=[(TB, t) for t in totals]
        )
    _revisions(book, inp, totals)
    _last_year(book, inp, totals)


DEFICIT_SHARE_WATCH = 50.0
REVISION_WATCH_USD = 1e8  # 1 億


def _revisions(book: FactBook, inp: WeekInputs, totals: list[dict]) -> None:
    names = {r["cty_code"]: r for r in totals}
    rows = sorted(
        inp.rows(REV), key=lambda r: (-abs(r.get("change_usd") or 0.0), r["cty_code"], r["flow"], r["month"], r["hs2"])
    )
    book.flag("census.has_revisions", bool(rows))
    big = 0
    for i, r in enumerate(rows, start=1):
        s = f"census.revisions.{i}"
        n = names.get(r["cty_code"])
        if n is not None:
            book.cell(f"{s}.name", "md_text", TB, n, "cty_name_zh")
        else:
            book.cell(f"{s}.name", "code", REV, r, "cty_code")
        book.cell(f"{s}.name_en", "md_text", REV, r, "cty_code", transform=census_name_en)
        book.ident(f"{s}.cty", "code", r["cty_code"])
        book.enum(f"{s}.flow", FLOW_ZH.get(r["flow"], r["flow"]))
        book.cell(f"{s}.year", "year", REV, r, "year")
        book.cell(f"{s}.month", "month", REV, r, "month")
        book.cell(f"{s}.hs2", "code", REV, r, "hs2")
        book.flag(f"{s}.is_total", r["hs2"] == "TOTAL")
        book.cell(f"{s}.previous", "usd_amount", REV, r, "previous_usd")
        book.cell(f"{s}.revised", "usd_amount", REV, r, "revised_usd")
        book.cell(f"{s}.change", "signed_usd", REV, r, "change_usd")
        book.cell(f"{s}.change_text", "usd_signed", REV, r, "change_usd")
        material = abs(r.get("change_usd") or 0.0) >= REVISION_WATCH_USD
        book.flag(f"{s}.material", material)
        big += material
    book.flag("census.has_material_revisions", big > 0)


def _last_year(book: FactBook, inp: WeekInputs, totals: list[dict]) -> None:
    ly = {r["cty_code"]: r for r in inp.last_year.get(TB, []) if r["hs2"] == "TOTAL"}
    book.flag("census.last_year.present", bool(ly))
    if not ly:
        return
    for t in totals:
        s = f"census.last_year.rows.{t['cty_code']}"
        book.ident(f"{s}.cty", "code", t["cty_code"])
        r = ly.get(t["cty_code"])
        book.flag(f"{s}.present", r is not None)
        if r is not None:
            book.cell(f"{s}.balance", "signed_usd", TB, r, "balance_usd")
            book.cell(f"{s}.year", "year", TB, r, "year")
            book.ident(f"{s}.first_month", "month", 1)
            book.cell(f"{s}.through_month", "month", TB, r, "through_month")
            book.flag(f"{s}.single_month", r["through_month"] == 1)
