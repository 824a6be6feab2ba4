"""Facts of section 三 beyond the items: the controls table, the timeline per material family and one exposure table
per listed goods measure (how much trade the controlled HS codes carry).

- ``controls.rows.<i>``: every measure of ``mofcom_controls`` (own announcements by publication date, then the
  measures a stored text suspends or revokes), with its status as of the week's end.
- ``controls.unread``: announcements whose text could not be read this week (count, titles), said under each table.
- ``timeline.families.<k>.steps.<n>``: ``mofcom_control_timeline`` in family order, each step citing its measure.
- ``exposure.measures.<k>``: per goods measure of ``policy_trade_exposure`` — the measures of the listed items first
  (in the items' order), then the other measures in the controls table's order — its codes largest Chinese exports
  first; a measure with no mapped code says so (``no_hs_mapping``) instead of printing a table.

Every figure is a cell of its layer row; flags come with the cell (the row's own, and by lineage the QUALITY flags of
its announcement, its measure and the Comtrade/Census rows it was computed from).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from trade_pipeline.core import contract
from trade_pipeline.defs.trade_briefing.facts.model import FactBook
from trade_pipeline.defs.trade_briefing.facts.policy import as_date, title_cell
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, WeekInputs

ANN = contract.MOFCOM_ANNOUNCEMENTS
CONTROLS = contract.MOFCOM_CONTROLS
TIMELINE = contract.MOFCOM_CONTROL_TIMELINE
EXPOSURE = contract.POLICY_TRADE_EXPOSURE
#: Comtrade partners of the exposure shares, in the table's column order (share_to_<code>_pct), then the rest.
SHARE_PARTNERS = ("842", "392", "410", "276", "490")
BASIS_WORDS = {"announcement": "公告列明", "concordance": "對照表"}
#: The nomenclature of the mapped codes (policy_exposure/controlled_hs_map.csv: item × HS 2022 subheading).
NOMENCLATURE = "HS 2022"


def _has(row: dict[str, Any], column: str) -> bool:
    return str(row.get(column) or "").strip() != ""


def ordered_controls(inp: WeekInputs) -> list[dict[str, Any]]:
    """Own measures by publication date (then id), then the referenced measures (no date of their own) by id."""

    def key(r: dict[str, Any]) -> tuple:
        d = as_date(r.get("publish_date"))
        return (r.get("measure_kind") == "referenced", d is None, d or date.min, _natural(r.get("measure_id")))

    return sorted(inp.rows(CONTROLS), key=key)


def _natural(value: Any) -> tuple:
    """'mofcom-912' before 'mofcom-1010' (ids sort by their number)."""
    text = str(value or "")
    head, _, tail = text.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (text, -1)


def unread_announcements(book: FactBook, inp: WeekInputs) -> None:
    """``controls.unread``: announcements whose text could not be read this week (title only, garbled, changed page):
    the measures they list (if any) are in none of section 三's tables, so the report names them where the measures
    would stand instead of leaving them out."""
    unread = [r for r in inp.rows(ANN) if r.get("fetch_status") not in (None, "ok")]
    book.flag("controls.unread_present", bool(unread))
    if not unread:
        return
    book.aggregate("controls.unread.count", "count", len(unread), ANN, {"fetch_status": {"ne": "ok"}}, "count(*)")
    for j, r in enumerate(unread, start=1):
        title_cell(book, f"controls.unread.titles.{j}", r)


def controls_table(book: FactBook, inp: WeekInputs, files: ExtractorFiles) -> list[dict[str, Any]]:
    rows = ordered_controls(inp)
    book.flag("controls.present", bool(rows))
    unread_announcements(book, inp)
    if rows:
        book.cell("controls.as_of", "date", CONTROLS, rows[0], "status_as_of")
    for i, r in enumerate(rows, start=1):
        s = f"controls.rows.{i}"
        has_doc = _has(r, "doc_number_zh_tw")
        book.flag(f"{s}.has_doc", has_doc)
        book.cell(f"{s}.doc", "md_text", CONTROLS, r, "doc_number_zh_tw" if has_doc else "title_zh_tw")
        for name, kind, column in (
            ("kind", "md_text", "measure_kind_zh_tw"),
            ("item_names", "md_list", "items_zh_tw"),
            ("status", "md_text", "status_zh_tw"),
        ):
            if _has(r, column):
                book.cell(f"{s}.{name}", kind, CONTROLS, r, column)
        for column in ("publish_date", "effective_date"):
            if r.get(column) is not None:
                book.cell(f"{s}.{column}", "date", CONTROLS, r, column)
        if r.get("entity_count"):
            book.cell(f"{s}.entity_count", "count", CONTROLS, r, "entity_count")
        if src := files.mofcom(r.get("extractor_path")):
            book.ident(f"{s}.source", "code", src)
    return rows


def timeline_facts(book: FactBook, inp: WeekInputs, files: ExtractorFiles) -> None:
    steps = sorted(
        inp.rows(TIMELINE),
        key=lambda r: (r.get("family_order") or 0, str(r.get("family_key") or ""), r.get("step_no") or 0),
    )
    book.flag("timeline.present", bool(steps))
    families: dict[str, int] = {}
    counts: dict[str, int] = {}
    for r in steps:
        fam = str(r.get("family_key") or "")
        if fam not in families:
            families[fam] = len(families) + 1
            book.cell(f"timeline.families.{families[fam]}.name", "md_text", TIMELINE, r, "family_zh_tw")
        counts[fam] = counts.get(fam, 0) + 1
        s = f"timeline.families.{families[fam]}.steps.{counts[fam]}"
        if r.get("event_date") is not None:
            book.cell(f"{s}.date", "date", TIMELINE, r, "event_date")
        for name, kind, column in (
            ("doc", "md_text", "doc_number_zh_tw"),
            ("event", "md_text", "event_zh_tw"),
            ("item_names", "md_list", "items_zh_tw"),
            ("status", "md_text", "status_zh_tw"),
        ):
            if _has(r, column):
                book.cell(f"{s}.{name}", kind, TIMELINE, r, column)
        if src := files.mofcom(r.get("extractor_path")):
            book.ident(f"{s}.source", "code", src)


def exposure_facts(
    book: FactBook, inp: WeekInputs, files: ExtractorFiles, chosen: list[dict[str, Any]], controls: list[dict[str, Any]]
) -> None:
    by_measure: dict[str, list[dict[str, Any]]] = {}
    for r in inp.rows(EXPOSURE):
        by_measure.setdefault(str(r.get("measure_id")), []).append(r)
    control_of = {str(c.get("measure_id")): c for c in controls}
    order: list[str] = []
    listed = [str(r.get("announcement_id")) for r in chosen]
    for mid in (
        [m for a in listed for m in by_measure if by_measure[m][0].get("announcement_id") == a]
        + [str(c.get("measure_id")) for c in controls]
        + sorted(by_measure, key=_natural)
    ):
        if mid in by_measure and mid not in order:
            order.append(mid)
    book.flag("exposure.present", bool(order))
    book.ident("exposure.nomenclature", "code", NOMENCLATURE)
    _common_period(book, [r for mid in order for r in by_measure[mid] if _has(r, "hs6")])
    for k, mid in enumerate(order, start=1):
        _measure(
            book,
            f"exposure.measures.{k}",
            by_measure[mid],
            control_of.get(mid),
            files,
            listed=str(by_measure[mid][0].get("announcement_id")) in listed,
        )


def _common_period(book: FactBook, mapped: list[dict[str, Any]]) -> None:
    """When every table has the same periods (China's export year, the US year to date), they are said once above
    the tables instead of once per measure."""
    cn_years = {r.get("cn_export_year") for r in mapped}
    us_periods = {(r.get("us_import_year"), r.get("us_import_through_month")) for r in mapped}
    common = (
        bool(mapped)
        and len(cn_years) == 1
        and len(us_periods) == 1
        and None not in cn_years
        and None not in next(iter(us_periods))
    )
    deps = [(EXPOSURE, r) for r in mapped]
    book.flag("exposure.common_period", common, depends=deps)
    if common:
        book.cell("exposure.cn_year", "year", EXPOSURE, mapped[0], "cn_export_year", depends=deps)
        book.cell("exposure.us_year", "year", EXPOSURE, mapped[0], "us_import_year", depends=deps)
        book.cell("exposure.us_month", "month", EXPOSURE, mapped[0], "us_import_through_month", depends=deps)


def _measure(
    book: FactBook,
    s: str,
    rows: list[dict[str, Any]],
    control: dict[str, Any] | None,
    files: ExtractorFiles,
    listed: bool,
) -> None:
    first = rows[0]
    book.flag(f"{s}.listed", listed)
    if control is not None and not _has(first, "doc_number_zh_tw"):
        book.cell(f"{s}.doc", "md_text", CONTROLS, control, "title_zh_tw")
    else:  # an empty 文號 with no measure row to name it prints as missing
        book.cell(f"{s}.doc", "md_text", EXPOSURE, first, "doc_number_zh_tw")
    if control is not None:
        if _has(control, "status_zh_tw"):
            book.cell(f"{s}.status", "md_text", CONTROLS, control, "status_zh_tw")
        if src := files.mofcom(control.get("extractor_path")):
            book.ident(f"{s}.source", "code", src)
    mapped = sorted(
        (r for r in rows if _has(r, "hs6")), key=lambda r: (-(r.get("cn_export_world_usd") or -1.0), str(r.get("hs6")))
    )
    unmapped = [r for r in rows if not _has(r, "hs6")]
    book.flag(f"{s}.has_codes", bool(mapped))
    # one period for the whole table when every row has the same one (else each row prints its own)
    cn_years = {r.get("cn_export_year") for r in mapped if r.get("cn_export_year") is not None}
    us_periods = {
        (r.get("us_import_year"), r.get("us_import_through_month"))
        for r in mapped
        if r.get("us_import_year") is not None
    }
    cn_one, us_one = len(cn_years) == 1, len(us_periods) == 1
    book.flag(f"{s}.cn_year_per_row", len(cn_years) > 1)
    book.flag(f"{s}.us_period_per_row", len(us_periods) > 1)
    if cn_one:
        src = next(r for r in mapped if r.get("cn_export_year") is not None)
        book.cell(f"{s}.cn_year", "year", EXPOSURE, src, "cn_export_year", depends=[(EXPOSURE, r) for r in mapped])
    if us_one:
        src = next(r for r in mapped if r.get("us_import_year") is not None)
        book.cell(f"{s}.us_year", "year", EXPOSURE, src, "us_import_year", depends=[(EXPOSURE, r) for r in mapped])
        book.cell(
            f"{s}.us_month", "month", EXPOSURE, src, "us_import_through_month", depends=[(EXPOSURE, r) for r in mapped]
        )
    book.flag(f"{s}.any_broader", any(r.get("hs6_scope") == "broader" for r in mapped))
    for j, r in enumerate(mapped, start=1):
        t = f"{s}.rows.{j}"
        book.cell(f"{t}.hs6", "code", EXPOSURE, r, "hs6")
        for name, column in (("desc", "hs6_desc_zh_tw"), ("item_names", "items_zh_tw")):
            book.cell(f"{t}.{name}", "md_text", EXPOSURE, r, column)
        book.flag(f"{t}.broader", r.get("hs6_scope") == "broader")
        basis = "、".join(BASIS_WORDS.get(b, b) for b in contract.split_flags(r.get("basis_kinds")))
        book.enum(f"{t}.basis", basis or None)
        book.enum(f"{t}.confidence", r.get("mapping_confidence") or None)
        if len(cn_years) > 1:
            book.cell(f"{t}.cn_year", "year", EXPOSURE, r, "cn_export_year")
        if len(us_periods) > 1:
            book.cell(f"{t}.us_year", "year", EXPOSURE, r, "us_import_year")
            book.cell(f"{t}.us_month", "month", EXPOSURE, r, "us_import_through_month")
        book.cell(f"{t}.cn_world", "usd_amount", EXPOSURE, r, "cn_export_world_usd")
        for p in SHARE_PARTNERS:
            book.cell(f"{t}.share_{p}", "pct", EXPOSURE, r, f"share_to_{p}_pct")
        book.cell(f"{t}.share_rest", "pct", EXPOSURE, r, "share_rest_pct")
        book.cell(f"{t}.us_total", "usd_amount", EXPOSURE, r, "us_import_ytd_usd")
        book.cell(f"{t}.us_from_cn", "usd_amount", EXPOSURE, r, "us_import_from_cn_ytd_usd")
        book.cell(f"{t}.cn_share", "pct", EXPOSURE, r, "cn_share_of_us_imports_pct")
        book.cell(f"{t}.cn_yoy", "signed_pct", EXPOSURE, r, "us_import_from_cn_yoy_pct")
        book.cell(f"{t}.us_yoy", "signed_pct", EXPOSURE, r, "us_import_yoy_pct")
    for j, r in enumerate(unmapped, start=1):
        t = f"{s}.unmapped.{j}"
        book.cell(f"{t}.item_names", "md_list", EXPOSURE, r, "items_zh_tw")
        book.enum(f"{t}.flags", contract.join_flags(book.flags_of(EXPOSURE, r)))
