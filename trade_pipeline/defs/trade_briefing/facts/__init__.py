"""Build one week's facts from the layer tables (the ``briefing_facts`` asset and ``trade-pipeline verify`` both call
:func:`build_week_facts`, so a published figure is re-derived by exactly the code that produced it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb

from trade_pipeline.core import contract
from trade_pipeline.core.lineage import LineageResolver
from trade_pipeline.core.partitions import previous_partition_key, same_week_last_year_key
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.briefing_charts.assets import read_week_tables
from trade_pipeline.defs.trade_briefing.facts import (
    census,
    changes,
    charts,
    comtrade,
    controls,
    overview,
    policy,
    watch,
)
from trade_pipeline.defs.trade_briefing.facts.model import FIGURE_KINDS, FactBook, FactTree
from trade_pipeline.defs.trade_briefing.facts.policy import as_date, split_items
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, WeekInputs, load_weeks_inputs

MC, PR, ANN = contract.MARKET_CONCENTRATION, contract.PARTNER_RANKINGS, contract.MOFCOM_ANNOUNCEMENTS
#: Tables each of the report's layers must have rows in for the week, or the week is refused (nothing published).
REQUIRED_TABLES = {
    "bilateral_trade_flows": (PR, MC),
    "us_trade_census": (contract.CENSUS_TRADE_BALANCE,),
    "cn_export_control": (ANN,),
}


class EmptyWeekError(RuntimeError):
    """A layer the report needs has no rows for the week: the report is refused rather than published empty."""


def missing_layers(inp: WeekInputs) -> list[str]:
    return [
        f"{layer} ({', '.join(t for t in tables if not inp.rows(t))})"
        for layer, tables in REQUIRED_TABLES.items()
        if any(not inp.rows(t) for t in tables)
    ]


def require_data(inp: WeekInputs) -> None:
    missing = missing_layers(inp)
    if missing:
        raise EmptyWeekError(
            f"{inp.iso_week} ({inp.key}): no rows for this week in {'; '.join(missing)} — materialize those layers "
            f"for the week first; nothing was published"
        )


def _week(book: FactBook, inp: WeekInputs) -> None:
    from trade_pipeline.core.partitions import iso_week_label

    book.ident("week.iso_week", "code", inp.iso_week)
    book.ident("week.start", "date", inp.start)
    book.ident("week.end", "date", inp.end)
    book.ident("week.prev_iso_week", "code", iso_week_label(inp.prev_key))
    book.ident("week.last_year_iso_week", "code", iso_week_label(inp.last_year_key) if inp.last_year_key else None)


def _summary(book: FactBook, inp: WeekInputs, tree: FactTree, chosen: list[dict]) -> None:
    reported = [r for r in inp.rows(MC) if r["flow"] == "X" and not r.get("is_mirror")]
    codes = sorted({r["reporter_code"] for r in reported})
    book.aggregate(
        "summary.reporter_count",
        "count",
        len(codes) or None,
        MC,
        {"flow": "X", "is_mirror": False},
        "count(distinct reporter_code)",
        rows=reported,
    )
    exports = tree.get_path("exports") or {}
    n = m = 0
    for rc, e in exports.items():
        if e.missing:
            continue
        if e.is_mirror:
            m += 1
            book.enum(f"summary.mirrors.{m}", f"exports.{rc}")
        else:
            n += 1
            book.enum(f"summary.reporters.{n}", f"exports.{rc}")
    years = sorted({int(e.year.value) for e in exports.values() if not e.missing and e.year})
    for i, y in enumerate(years, start=1):
        book.ident(f"summary.years.{i}", "year", y)
    ann = inp.rows(ANN)
    doubtful = [r for r in ann if contract.doubts_row(book.flags_of(ANN, r))]  # counted, and the count says so
    book.aggregate("summary.announcements", "count", len(ann) or None, ANN, {}, "count(*)", rows=doubtful)
    fresh = [r for r in ann if policy.is_new(inp, r)]
    book.aggregate(
        "summary.new_announcements",
        "count",
        len(fresh),
        ANN,
        {"publish_date": {"between": [inp.start.isoformat(), inp.end.isoformat()]}},
        "count(*)",
        rows=[r for r in doubtful if r in fresh],
    )
    book.flag("summary.has_new", bool(fresh))
    items: list[str] = []
    for r in chosen:
        for item in split_items(r.get("controlled_items")):
            if item not in items and not any(ch.isdigit() for ch in item):
                items.append(item)
    book.ident("summary.controlled", "md_list", ";".join(items) if items else None)


def _limitations(book: FactBook, inp: WeekInputs, tree: FactTree) -> None:
    years_by_reporter: dict[int, set[int]] = {}
    for r in inp.rows(PR):
        years_by_reporter.setdefault(r["reporter_code"], set()).add(r["year"])
    exports = tree.get_path("exports") or {}
    for rc in exports:
        for i, y in enumerate(sorted(years_by_reporter.get(int(rc), set())), start=1):
            book.ident(f"limits.available.{rc}.{i}", "year", y)
    # one line per (year used, years available): the reporters that share them are named together
    groups: dict[tuple, list[str]] = {}
    missing = []
    for rc, e in exports.items():
        if e.missing or not e.year:
            missing.append(f"exports.{rc}")
            continue
        groups.setdefault((int(e.year.value), tuple(sorted(years_by_reporter.get(int(rc), set())))), []).append(rc)
    for i, rcs in enumerate(groups.values(), start=1):
        book.enum(f"limits.comtrade.{i}.ref", f"exports.{rcs[0]}")
        book.enum(f"limits.comtrade.{i}.available", f"limits.available.{rcs[0]}")
        for j, rc in enumerate(rcs, start=1):
            book.enum(f"limits.comtrade.{i}.members.{j}", f"exports.{rc}")
    for j, ref in enumerate(missing, start=1):
        book.enum(f"limits.comtrade_missing.{j}", ref)
    totals = [r for r in inp.rows(contract.CENSUS_TRADE_BALANCE) if r["hs2"] == "TOTAL"]
    book.aggregate(
        "limits.census_partners",
        "count",
        len(totals) or None,
        contract.CENSUS_TRADE_BALANCE,
        {"hs2": "TOTAL"},
        "count(*)",
        rows=totals,
    )
    status = inp.rows(contract.CENSUS_RELEASE_STATUS)
    if status:
        book.cell("limits.census_as_of", "date", contract.CENSUS_RELEASE_STATUS, status[0], "as_of")
    ann = inp.rows(ANN)
    book.aggregate(
        "limits.announcements",
        "count",
        len(ann) or None,
        ANN,
        {},
        "count(*)",
        rows=[r for r in ann if contract.doubts_row(book.flags_of(ANN, r))],
    )
    dated = sorted((r for r in ann if as_date(r.get("publish_date"))), key=lambda r: as_date(r["publish_date"]))
    if dated:
        book.cell("limits.first_date", "date", ANN, dated[0], "publish_date")
        book.cell("limits.last_date", "date", ANN, dated[-1], "publish_date")
    for status_code, label in policy.FETCH_NOTE.items():
        n = sum(1 for r in ann if r.get("fetch_status") == status_code)
        if n:
            book.enum(f"limits.fetch.{status_code}.label", label)
            book.aggregate(
                f"limits.fetch.{status_code}.count", "count", n, ANN, {"fetch_status": status_code}, "count(*)"
            )
    flagged = [r for r in ann if book.flags_of(ANN, r)]
    book.aggregate(
        "limits.flagged_announcements", "count", len(flagged) or None, ANN, {"review_flags": {"ne": ""}}, "count(*)"
    )


def _flag_index(book: FactBook) -> None:
    """數據期間與限制: every flag on a figure the report can print, in words, with the statements it touches."""
    subjects: dict[str, list[str]] = {}
    for f in list(book):
        if not f.flags or f.kind not in FIGURE_KINDS:
            continue
        subject = changes.subject_of(f.slot)
        for code in f.flags:
            bucket = subjects.setdefault(code, [])
            if subject not in bucket:
                bucket.append(subject)
    for i, (code, subs) in enumerate(sorted(subjects.items()), start=1):
        info = contract.flag_info(code)
        book.enum(f"limits.flags.{i}.kind", info.kind)
        book.enum(f"limits.flags.{i}.words_zh", info.zh)
        book.enum(f"limits.flags.{i}.words_en", info.en)
        for j, sub in enumerate(subs, start=1):
            book.enum(f"limits.flags.{i}.subjects.{j}", sub)


def build_week_facts(inp: WeekInputs, lineage: LineageResolver | None, site_root: Path) -> FactBook:
    """Every fact of one week's report, from the week's rows (``inp``) and effective flags (``lineage``, covering
    the week and the weeks it compares with)."""
    book = FactBook(inp.key, lineage)
    files = ExtractorFiles(site_root)
    _week(book, inp)
    codes = comtrade.reporters(inp)
    for rc in codes:
        comtrade.country_flow(book, inp, files, rc, "X")
    for rc in codes:
        comtrade.country_flow(book, inp, files, rc, "M")
    comtrade.largest_surplus(book, inp, files)
    census.census_facts(book, inp, files)
    comtrade.concentration_table(book, inp, files)
    chosen = policy.policy_facts(book, inp, files)
    measures = controls.controls_table(book, inp, files)
    controls.timeline_facts(book, inp, files)
    controls.exposure_facts(book, inp, files, chosen, measures)
    policy.impact_facts(book, chosen, files)
    charts.chart_facts(book, inp)
    tree = book.tree()
    overview.overview_facts(book, inp, tree)
    watch.watch_facts(book, inp, files, tree, chosen)
    _summary(book, inp, tree, chosen)
    _limitations(book, inp, tree)
    changes.change_facts(book, inp, book.tree())
    changes.review_changes(book, inp)  # last: compares the flags of every figure built above with last week's
    changes.comparable_sources(book)
    _flag_index(book)
    return book


def week_facts(
    warehouse: Warehouse, keys: list[str], site_root: Path, conn: duckdb.DuckDBPyConnection | None = None
) -> Iterator[tuple[WeekInputs, FactBook]]:
    """(inputs, facts) of each week in ``keys``, in order, read in one read-only warehouse session."""
    with warehouse.session(read_only=True), warehouse.connect(read_only=True) as own:
        weeks = (
            set(keys)
            | {previous_partition_key(k) for k in keys}
            | {w for k in keys if (w := same_week_last_year_key(k))}
        )
        lineage = LineageResolver(conn or own, weeks)  # every week's flags in one query per table and edge
        last: tuple[str, FactBook] | None = None
        # the layer rows the charts are drawn from: the chart builder runs again over them (facts/charts.py)
        chart_tables = {t.key: t for t in read_week_tables(warehouse, list(keys))}
        for inp in load_weeks_inputs(warehouse, keys):
            inp.chart_tables = chart_tables.get(inp.key)
            if last is not None and last[0] == inp.prev_key:
                # last week was built in this same pass (a single-run backfill writes every week's facts at once):
                # compare with the facts just built for it, which are what is stored for it once the run writes
                inp.previous[contract.BRIEFING_FACTS] = stored_rows(last[1])
            book = build_week_facts(inp, lineage, site_root)
            yield inp, book
            last = (inp.key, book)


def stored_rows(book: FactBook) -> list[dict]:
    """A week's facts as the rows ``briefing_facts`` stores for it (what last week's comparison reads)."""
    return book.frame().to_dicts()
