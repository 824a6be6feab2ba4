"""Assets of the trade_briefing layer: the weekly Traditional-Chinese report and the index of reports."""

# No `from __future__ import annotations` here: Dagster resolves the Config/resource annotations at definition time.


from datetime import datetime, timezone

from dagster import (
    AssetExecutionContext, BackfillPolicy, Config, MaterializeResult, MetadataValue, TableColumn, TableSchema, asset,
)

from trade_pipeline.core.partitions import iso_week_label, weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.trade_briefing.claims import CLAIMS_SCHEMA, CLAIMS_TABLE
from trade_pipeline.defs.trade_briefing.inputs import load_weeks_inputs
from trade_pipeline.defs.trade_briefing.markdown import split_front_matter
from trade_pipeline.defs.trade_briefing.render import (
    REPORT_DIR, existing_reports, render_index, render_report, renumber_nav_order,
)
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

GROUP = "trade_briefing"
OWNERS = ["team:trade-intel"]
#: Upstream assets, by name (the layers are independent packages; the report reads their tables).
BRIEFING_DEPS = [
    "partner_rankings", "trade_balances", "market_concentration", "commodity_structure", "bilateral_extractor_files",
    "census_monthly_flows", "census_trade_balance", "census_country_detail", "census_revisions",
    "census_extractor_files", "mofcom_announcements", "mofcom_extractor_files",
]
_CLAIMS_COLUMNS = TableSchema(columns=[TableColumn("week_start", "DATE")] + [
    TableColumn(name, "DOUBLE" if dtype == CLAIMS_SCHEMA["value"] else "VARCHAR") for name, dtype in CLAIMS_SCHEMA.items()])


class BriefingConfig(Config):
    """``generated_at``: the 產出時間 printed in the report (ISO-8601, UTC). Empty means the run's start time;
    tests pin it so the golden file is stable."""

    generated_at: str = ""


def resolve_generated_at(value: str) -> datetime:
    if not value:
        return datetime.now(timezone.utc).replace(microsecond=0)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@asset(
    name="trade_briefing",
    deps=BRIEFING_DEPS,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "markdown"},
    owners=OWNERS,
    description=(
        "The weekly Traditional-Chinese trade briefing (Narrator/trade_briefing/YYYY-Www-trade-briefing.md): "
        "summary, exports, imports, policy updates, concentration (HHI) with last week's trend, watch list, "
        "limitations and sources, rendered from the three layers' tables. Every printed figure is recorded in "
        "briefing_claims with the table/row/column it came from."
    ),
)
def trade_briefing(
    context: AssetExecutionContext,
    config: BriefingConfig,
    warehouse: Warehouse,
    site: Site,
    comtrade: ComtradeClient,
    census: CensusTradeClient,
    mofcom: MofcomClient,
) -> MaterializeResult:
    generated_at = resolve_generated_at(config.generated_at)
    # The clients are asked one thing only: is this run built from the embedded sample (then the report says so)?
    sample = [name for name, client in (("UN Comtrade", comtrade), ("US Census", census), ("MOFCOM", mofcom))
              if client.uses_embedded_sample()]
    written, claims_total, last, claims = [], 0, None, {}
    # Every upstream table is written for all the run's weeks: read each once (one session), render week by week.
    for inputs in load_weeks_inputs(warehouse, sorted(context.partition_keys)):
        report = render_report(inputs, site.root_dir(), generated_at, sample)
        site.write(report.relpath, report.markdown)
        claims[inputs.key] = report.claims
        written.append(report.relpath)
        last = report
        context.log.info(f"{report.iso_week}: wrote {report.relpath} ({report.claims.height} claims, "
                         f"{len(report.cited)} Extractor files cited)")
    assert last is not None
    with warehouse.session():
        claims_total = warehouse.replace_partitions(CLAIMS_TABLE, claims)  # the weeks in one transaction
    return MaterializeResult(metadata={
        "dagster/row_count": claims_total,
        "dagster/column_schema": _CLAIMS_COLUMNS,
        "reports": MetadataValue.json(written),
        "weeks": MetadataValue.json([iso_week_label(k) for k in sorted(context.partition_keys)]),
        "cited_extractor_files": len(last.cited),
        "embedded_sample": MetadataValue.json(sample),
        "generated_at": generated_at.isoformat(),
        # The UI renders markdown only: the YAML front matter would show as one big heading, so the preview is the
        # front matter's title as a heading, then the body. In a single-run backfill every week's event carries
        # this run's metadata: the preview is the last week's (preview_week says which).
        "preview_week": last.iso_week,
        "preview": MetadataValue.md(f"# {last.facts['front']['title']} 貿易動態週報\n\n"
                                    + split_front_matter(last.markdown)[1].lstrip()),
    })


@asset(
    name="trade_briefing_index",
    deps=[trade_briefing],
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"markdown"},
    owners=OWNERS,
    description=(
        "Narrator/trade_briefing/index.md: every report present in the site, newest first; also keeps each "
        "report's nav_order consistent (newest = 1)."
    ),
)
def trade_briefing_index(context: AssetExecutionContext, site: Site) -> MaterializeResult:
    root = site.root_dir()
    # The index is one file over all weeks: rebuilding it once covers every key of a single-run backfill.
    renumbered = renumber_nav_order(root)
    text, entries = render_index(root)
    site.write(f"{REPORT_DIR}/index.md", text)
    context.log.info(f"index lists {len(entries)} reports for keys {sorted(context.partition_keys)}")
    return MaterializeResult(metadata={
        "dagster/row_count": len(entries),
        "dagster/column_schema": TableSchema(columns=[TableColumn("week", "VARCHAR"), TableColumn("title", "VARCHAR"),
                                                      TableColumn("description", "VARCHAR")]),
        "reports": MetadataValue.json(existing_reports(root)),
        "renumbered": MetadataValue.json(renumbered),
        "preview": MetadataValue.md(text),
    })


ASSETS = [trade_briefing, trade_briefing_index]
