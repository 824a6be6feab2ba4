"""The `briefing_charts` asset: each week's charts as stored rows and SVG files beside the report.

Writes, per week:
- ``briefing_chart_data``: one row per plotted point (value, the layer cell(s) it comes from, review flags);
- ``briefing_charts``: one row per chart (file, link from the report, title, alt text, the key figure the alt text
  states and its source cell and format kind, or the reason it was not drawn);
- ``Narrator/trade_briefing/charts/<ISO week>/<chart_id>.svg`` and the week's chart page ``…/index.md``.

The report embeds a chart by reading its ``briefing_charts`` row: ``![alt_zh](report_link)``.
"""

# No `from __future__ import annotations` here: Dagster resolves the resource annotations at definition time.

import hashlib
import json
from collections.abc import Iterable

import polars as pl
import yaml
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
)

from trade_pipeline.core import contract
from trade_pipeline.core.lineage import LineageResolver
from trade_pipeline.core.markdown import md_escape
from trade_pipeline.core.partitions import iso_week_label, weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.table_assets import table_asset
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.core.week_metadata import add_week_metadata, week_log, week_rows
from trade_pipeline.defs.briefing_charts.data import (
    CHART_TABLES,
    ChartData,
    LineageFlags,
    WeekTables,
    build_charts,
    key_json,
)
from trade_pipeline.defs.briefing_charts.render import prepare_fonts, render_svg

GROUP = "trade_briefing"
OWNERS = ["team:trade-intel"]
ASSET_NAME = "briefing_charts"
#: Upstream assets whose tables the charts read.
BASE_DEPS = (
    "census_monthly_flows",
    "census_trade_balance",
    "market_concentration",
    "partner_rankings",
    "comtrade_partner_flows",
)
#: Upstream assets depended on when the graph has them (issue 14's exposure table).
OPTIONAL_DEPS = (contract.POLICY_TRADE_EXPOSURE,)
REPORT_TITLE = "貿易動態週報"  # the index page's title: the chart pages' parent

DATA_SCHEMA = {
    "chart_id": pl.Utf8,
    "seq": pl.Int32,
    "series": pl.Utf8,
    "x": pl.Utf8,
    "y": pl.Float64,
    "label": pl.Utf8,
    "source_table": pl.Utf8,
    "source_row_key": pl.Utf8,
    "source_column": pl.Utf8,
    "derivation": pl.Utf8,
    "review_flags": pl.Utf8,
}
CHARTS_SCHEMA = {
    "chart_id": pl.Utf8,
    "seq": pl.Int32,
    "status": pl.Utf8,
    "skip_reason": pl.Utf8,
    "relpath": pl.Utf8,
    "report_link": pl.Utf8,
    "title_zh": pl.Utf8,
    "alt_zh": pl.Utf8,
    "alt_en": pl.Utf8,
    "key_kind": pl.Utf8,
    "key_value": pl.Float64,
    "key_text_zh": pl.Utf8,
    "key_text_en": pl.Utf8,
    "key_source_table": pl.Utf8,
    "key_source_row_key": pl.Utf8,
    "key_source_column": pl.Utf8,
    "key_review_flags": pl.Utf8,
    "points": pl.Int32,
    "flagged_points": pl.Int32,
    "review_flags": pl.Utf8,
    "svg_sha256": pl.Utf8,
}
OK, SKIPPED = "ok", "skipped"


def chart_page_relpath(iso_week: str) -> str:
    return f"{contract.CHARTS_DIR}/{iso_week}/index.md"


#: What the charts read of each table (static SQL over code constants): only the rows they plot or name, so a
#: backfill does not turn every week's HS2 detail into Python rows.
_READS = {
    contract.CENSUS_MONTHLY_FLOWS: f"SELECT * FROM {contract.CENSUS_MONTHLY_FLOWS} WHERE hs2 = 'TOTAL'",
    contract.CENSUS_TRADE_BALANCE: f"SELECT * FROM {contract.CENSUS_TRADE_BALANCE} WHERE hs2 = 'TOTAL'",
    contract.MARKET_CONCENTRATION: f"SELECT * FROM {contract.MARKET_CONCENTRATION} WHERE flow = 'X'",
    contract.PARTNER_RANKINGS: f"SELECT * FROM {contract.PARTNER_RANKINGS} WHERE flow = 'X' AND rank <= 3",
    # the English names of the ranked partners (for alt_en)
    contract.COMTRADE_PARTNER_FLOWS: (
        f"SELECT f.week_start, f.reporter_code, f.partner_code, f.flow, f.year, min(f.partner_name) AS partner_name "
        f"FROM {contract.COMTRADE_PARTNER_FLOWS} f JOIN {contract.PARTNER_RANKINGS} r "
        f"USING (week_start, reporter_code, partner_code, flow, year) WHERE r.flow = 'X' AND r.rank <= 3 "
        f"GROUP BY ALL"
    ),
    contract.POLICY_TRADE_EXPOSURE: f"SELECT * FROM {contract.POLICY_TRADE_EXPOSURE}",
}


def read_week_tables(warehouse: Warehouse, keys: list[str]) -> list[WeekTables]:
    """The chart tables' rows for each week (one session; a table that does not exist stays absent)."""
    weeks = {k: WeekTables(k, iso_week_label(k)) for k in keys}
    placeholders = ", ".join("?::DATE" for _ in keys)
    with warehouse.session(read_only=True):
        for table in CHART_TABLES:
            needed = [table] + ([contract.PARTNER_RANKINGS] if table == contract.COMTRADE_PARTNER_FLOWS else [])
            if not all(warehouse.has_table(t) for t in needed):
                continue
            sql = f"SELECT * FROM ({_READS[table]}) WHERE week_start IN ({placeholders})"
            df = warehouse.query(sql, list(keys))
            for w in weeks.values():
                w.rows_by_table[table] = []
            for row in df.to_dicts():
                weeks[str(row["week_start"])].rows_by_table[table].append(row)
    return [weeks[k] for k in keys]


def chart_rows(tables: WeekTables, charts: list[ChartData], svgs: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(briefing_chart_data rows, briefing_charts rows) of one week."""
    data, meta = [], []
    for n, chart in enumerate(charts):
        ok = chart.skip_reason is None
        if ok:
            for i, p in enumerate(chart.points):
                data.append(
                    {
                        "chart_id": chart.chart_id,
                        "seq": i,
                        "series": p.series,
                        "x": p.x,
                        "y": p.y,
                        "label": p.label,
                        "source_table": p.source_table,
                        "source_row_key": key_json(p.source_row_key),
                        "source_column": p.source_column,
                        "derivation": p.derivation,
                        "review_flags": contract.join_flags(p.flags),
                    }
                )
        alt_zh, alt_en = chart.alt_texts() if ok else ("", "")
        key = chart.key if ok else None
        flags = contract.join_flags(f for p in chart.points for f in p.flags) if ok else ""
        meta.append(
            {
                "chart_id": chart.chart_id,
                "seq": n,
                "status": OK if ok else SKIPPED,
                "skip_reason": chart.skip_reason,
                "relpath": contract.chart_relpath(tables.iso_week, chart.chart_id) if ok else None,
                "report_link": contract.chart_report_link(tables.iso_week, chart.chart_id) if ok else None,
                "title_zh": chart.title_zh,
                "alt_zh": alt_zh or None,
                "alt_en": alt_en or None,
                "key_kind": key.kind if key else None,
                "key_value": key.value if key else None,
                "key_text_zh": key.text_zh if key else None,
                "key_text_en": key.text_en if key else None,
                "key_source_table": key.table if key else None,
                "key_source_row_key": key_json(key.row_key) if key else None,
                "key_source_column": key.column if key else None,
                "key_review_flags": contract.join_flags(key.flags) if key else None,
                "points": len(chart.points) if ok else 0,
                "flagged_points": len(chart.flagged_points) if ok else 0,
                "review_flags": flags,
                "svg_sha256": hashlib.sha256(svgs[chart.chart_id].encode()).hexdigest() if ok else None,
            }
        )
    return pl.DataFrame(data, schema=DATA_SCHEMA), pl.DataFrame(meta, schema=CHARTS_SCHEMA)


def _yaml(value: str) -> str:
    return yaml.safe_dump(value, allow_unicode=True, default_style='"', width=10_000).strip().removesuffix("\n...")


def chart_page(iso_week: str, charts: list[ChartData], meta: pl.DataFrame) -> str:
    """The week's chart page (markdown with front matter, like every page of the site)."""
    y, w = iso_week.split("-W")
    report = f"{contract.REPORT_DIR}/{iso_week}-trade-briefing.md"
    lines = [
        "---",
        "layout: default",
        f"title: {_yaml(f'{y} 年第 {w} 週圖表')}",
        f"parent: {REPORT_TITLE}",
        "nav_exclude: true",
        "related_reports:",
        f"  - {_yaml('/' + report.removesuffix('.md') + '/')}",
        "---",
        "",
        f"# {y} 年第 {w} 週圖表",
        "",
        f"[{y} 年第 {w} 週週報](../../{iso_week}-trade-briefing.md)的圖表。每張圖的數據點存於 `briefing_chart_data`"
        "（一點一列，附來源資料表、列鍵與欄位），圖說中的關鍵數字及其來源存於 `briefing_charts`。",
        "",
    ]
    rows = {r["chart_id"]: r for r in meta.to_dicts()}
    for chart in charts:
        r = rows[chart.chart_id]
        if chart.source_absent:
            continue  # an optional table this warehouse does not have: nothing to say to a reader
        lines += [f"## {md_escape(chart.title_zh)}", ""]
        if r["status"] != OK:
            lines += [f"本週未繪製：{md_escape(r['skip_reason'])}", ""]
            continue
        lines += [
            f"![{md_escape(r['alt_zh'] or chart.title_zh)}]({chart.chart_id}.svg)",
            "",
            md_escape(r["alt_zh"] or ""),
            "",
        ]
        if r["key_source_table"]:
            key = json.loads(r["key_source_row_key"])
            where = "、".join(f"{k} = {v}" for k, v in key.items() if k != "week_start")
            lines += [f"關鍵數字來源：`{r['key_source_table']}.{r['key_source_column']}`（{md_escape(where)}）", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def build_chart_assets(available: Iterable[str] = ()) -> list[AssetsDefinition]:
    """The charts asset; depends on the OPTIONAL_DEPS among ``available`` (asset names in the graph)."""
    names = set(available)
    deps = [*BASE_DEPS, *(n for n in OPTIONAL_DEPS if n in names)]

    @table_asset(
        side_tables={
            contract.BRIEFING_CHART_DATA: "One row per plotted point of the week's charts: series, x, y, label and "
            "the layer cell it comes from (table, row key, column, derivation), with that cell's review flags."
        },
        name=ASSET_NAME,
        deps=deps,
        partitions_def=weekly_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        group_name=GROUP,
        kinds={"duckdb", "svg"},
        owners=OWNERS,
        description=(
            "The briefing's charts (Narrator/trade_briefing/charts/<ISO week>/<chart>.svg, Vega-Altair + vl-convert): "
            "US balance by month per partner, export HHI against the previous year, top-partner shares and, when "
            "policy_trade_exposure exists, China's share of US imports of controlled codes. Every plotted point is a "
            "briefing_chart_data row tied to its layer cell; briefing_charts holds each chart's file, alt text and "
            "the key figure the alt text states, with its source cell."
        ),
    )
    def briefing_charts(context: AssetExecutionContext, warehouse: Warehouse, site: Site) -> MaterializeResult:
        font = prepare_fonts()
        if font is None:
            context.log.warning(
                "no CJK font found (fc-list :lang=zh-tw): the SVG text is laid out with a fallback "
                "font; install fonts-noto-cjk or fonts-wqy-microhei (.ci/install-browser does)"
            )
        keys = sorted(context.partition_keys)
        data_frames, meta_frames, written, skipped = {}, {}, [], {}
        with warehouse.session(read_only=True):
            weeks = read_week_tables(warehouse, keys)
            with warehouse.connect(read_only=True) as conn:  # effective flags, by lineage, for all the weeks
                flags = LineageFlags(LineageResolver(conn, keys))
                built = [(tables, build_charts(tables, flags)) for tables in weeks]
        drawn: dict[tuple, str] = {}  # this step's SVGs by chart_key: identical charts of several weeks drawn once
        with week_log(context) as lines:  # the weeks' log lines are one event-log write
            for tables, charts in built:
                svgs = {}
                for chart in charts:
                    relpath = contract.chart_relpath(tables.iso_week, chart.chart_id)
                    if chart.skip_reason is not None:
                        skipped[f"{tables.iso_week}/{chart.chart_id}"] = chart.skip_reason
                        site.path(relpath).unlink(missing_ok=True)  # never leave an earlier run's chart standing
                        continue
                    svgs[chart.chart_id] = render_svg(chart, chart.alt_texts()[0], drawn)
                    site.write(relpath, svgs[chart.chart_id])
                    written.append(relpath)
                data_frames[tables.key], meta_frames[tables.key] = chart_rows(tables, charts, svgs)
                site.write(
                    chart_page_relpath(tables.iso_week), chart_page(tables.iso_week, charts, meta_frames[tables.key])
                )
                lines.append(f"{tables.iso_week}: {len(svgs)} chart(s) written, {len(charts) - len(svgs)} skipped")
        with warehouse.session():
            points = warehouse.replace_partitions(contract.BRIEFING_CHART_DATA, data_frames)
            charts_n = warehouse.replace_partitions(contract.BRIEFING_CHARTS, meta_frames)
        # each week's materialization counts that week's rows (a range run returns one result for all its weeks)
        add_week_metadata(
            context,
            week_rows(meta_frames, name=contract.BRIEFING_CHARTS, **{contract.BRIEFING_CHART_DATA: data_frames}),
        )
        return MaterializeResult(
            metadata={
                "dagster/row_count": charts_n,
                "dagster/column_schema": TableSchema(
                    columns=[TableColumn("week_start", "DATE")]
                    + [
                        TableColumn(k, "DOUBLE" if v == pl.Float64 else "INTEGER" if v == pl.Int32 else "VARCHAR")
                        for k, v in CHARTS_SCHEMA.items()
                    ]
                ),
                "chart_points": points,
                "files": MetadataValue.json(written),
                "skipped": MetadataValue.json(skipped),
                "cjk_font": font or "none",
                "weeks": MetadataValue.json([iso_week_label(k) for k in keys]),
            }
        )

    return [briefing_charts]
