"""Assets of the trade_briefing layer.

    layer tables ── briefing_facts ── trade_briefing ── trade_briefing_index

``briefing_facts`` states every fact the report can print, computed once from the layer tables with its source cell
and effective review flags. ``trade_briefing`` renders the report from those stored facts, verifies every printed
figure in place against facts recomputed from the layer tables, and only then publishes (claims + files); the index
follows a successful publish.
"""

# No `from __future__ import annotations` here: Dagster resolves the Config/resource annotations at definition time.

from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from trade_pipeline.core import contract
from trade_pipeline.core.partitions import iso_week_label, weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.table_assets import table_asset
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.core.week_metadata import add_week_metadata, week_log, week_rows
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.trade_briefing.facts import missing_layers, week_facts
from trade_pipeline.defs.trade_briefing.facts.model import FACTS_SCHEMA, facts_from_frame
from trade_pipeline.defs.trade_briefing.markdown import split_front_matter
from trade_pipeline.defs.trade_briefing.printing import CLAIMS_SCHEMA
from trade_pipeline.defs.trade_briefing.publish import (
    VerificationFailed,
    Verified,
    outcomes_metadata,
    publish,
    recomputed_facts,
    verify_published,
)
from trade_pipeline.defs.trade_briefing.render import (
    REPORT_DIR,
    ZH,
    edition_files,
    existing_reports,
    langs_of,
    render_index,
    render_report,
    renumber_nav_order,
    report_relpath,
)
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

GROUP = "trade_briefing"
OWNERS = ["team:trade-intel"]
#: Upstream assets, by name (the layers are independent packages; the facts read their tables).
BRIEFING_DEPS = [
    "partner_rankings",
    "trade_balances",
    "market_concentration",
    "commodity_structure",
    "bilateral_extractor_files",
    "census_monthly_flows",
    "census_trade_balance",
    "census_country_detail",
    "census_revisions",
    "census_extractor_files",
    "mofcom_announcements",
    "mofcom_extractor_files",
    "mofcom_provisions",
    "mofcom_controls",
    "policy_trade_exposure",
    # the week's charts: the report embeds each one drawn ('ok') at its slot (facts/charts.py)
    "briefing_charts",
]


def _schema(schema: dict) -> TableSchema:
    names = {"Utf8": "VARCHAR", "String": "VARCHAR", "Float64": "DOUBLE", "Int32": "INTEGER", "Boolean": "BOOLEAN"}
    return TableSchema(
        columns=[TableColumn("week_start", "DATE")]
        + [TableColumn(n, names.get(str(t), str(t))) for n, t in schema.items()]
    )


class BriefingConfig(Config):
    """``generated_at``: the 產出時間 printed in the report (ISO-8601, UTC). Empty means the run's start time;
    tests pin it so the golden file is stable. ``lang``: the editions to render — ``zh-TW`` (the Traditional
    Chinese report), ``en`` (the English edition, ``….en.md``) or ``both`` (default); every edition is verified."""

    generated_at: str = ""
    lang: str = "both"


def resolve_generated_at(value: str) -> datetime:
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@asset(
    name=contract.BRIEFING_FACTS,
    deps=BRIEFING_DEPS,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "python"},
    owners=OWNERS,
    description=(
        "Every statement the week's report makes, as data: one row per slot (e.g. concentration.rows.1.hhi) with "
        "its value, format kind, the layer cell it comes from (table/row/column), the rows it depends on and its "
        "effective review flags (own + upstream quality flags by lineage). Computed once; the report only formats "
        "these. A week with no rows in a layer the report needs is refused."
    ),
)
def briefing_facts(context: AssetExecutionContext, warehouse: Warehouse, site: Site) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    frames, refused, counts = {}, [], {}
    for inp, book in week_facts(warehouse, keys, site.root_dir()):
        missing = missing_layers(inp)
        if missing:
            refused.append(f"{inp.iso_week} ({inp.key}): no rows in {'; '.join(missing)}")
            continue
        frames[inp.key] = book.frame()
        counts[inp.iso_week] = frames[inp.key].height
    if refused:
        raise Failure(
            description="Refused: the report needs every layer, and these weeks have none of its rows — "
            "materialize those layers for the weeks first; nothing was written or published.\n  "
            + "\n  ".join(refused),
            metadata={"refused_weeks": MetadataValue.json(refused)},
        )
    with warehouse.session():
        total = warehouse.replace_partitions(contract.BRIEFING_FACTS, frames)
    add_week_metadata(context, week_rows(frames))
    flagged = {w: int((f["review_flags"] != "").sum()) for w, f in zip(counts, frames.values())}
    return MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "dagster/column_schema": _schema(FACTS_SCHEMA),
            "facts_by_week": MetadataValue.json(counts),
            "flagged_facts_by_week": MetadataValue.json(flagged),
        }
    )


#: The blocking check of the published reports, returned with trade_briefing's materialization (check_specs): it
#: re-reads the published files and their stored claims and compares them with the facts the step recomputed from
#: the layer tables to verify before publishing — one recomputation per week and run, not one more in a check step.
CHECK_CLAIMS_TRACED = "trade_briefing_claims_traced"


@table_asset(
    side_tables={
        contract.BRIEFING_CLAIMS: "Every fact printed in the week's published reports at its place (edition, line, "
        "column, slot, printed text, review mark, source cell), plus one digest row per body line: what "
        "`trade-pipeline verify` checks."
    },
    name="trade_briefing",
    deps=[briefing_facts, "briefing_charts"],  # the report links the chart files beside it
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "markdown"},
    owners=OWNERS,
    description=(
        "The weekly Traditional-Chinese trade briefing (Narrator/trade_briefing/YYYY-Www-trade-briefing.md) and its "
        "English edition (….en.md; BriefingConfig.lang): changes this week, summary, exports, imports, policy "
        "updates, concentration (HHI), watch list, limitations and sources, rendered from briefing_facts. Every printed figure is recorded in briefing_claims with its slot and place; "
        "the report is verified against the layer tables before it replaces the published one."
    ),
    check_specs=[
        AssetCheckSpec(
            CHECK_CLAIMS_TRACED,
            asset="trade_briefing",
            blocking=True,
            description="trade-pipeline verify on the week's published report: every printed figure is at its "
            "recorded place, equals its fact recomputed from the layer tables (value, unit, format), "
            "carries [REVIEW_NEEDED] when flagged, and no number stands outside a recorded place.",
        )
    ],
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
    try:
        langs = langs_of(config.lang)
    except ValueError as exc:
        raise Failure(description=str(exc)) from None
    # The clients are asked one thing only: is this run built from the embedded sample (then the report says so)?
    sample = [
        name
        for name, client in (("UN Comtrade", comtrade), ("US Census", census), ("MOFCOM", mofcom))
        if client.uses_embedded_sample()
    ]
    keys = sorted(context.partition_keys)
    root = site.root_dir()
    with warehouse.session(read_only=True):
        stored = {k: df for k, df in warehouse.read_partitions(contract.BRIEFING_FACTS, keys).items()}
    reports, empty = {}, []
    for key in keys:
        facts = facts_from_frame(stored[key].drop("week_start") if "week_start" in stored[key].columns else stored[key])
        if not facts:
            empty.append(f"{iso_week_label(key)} ({key})")
            continue
        reports[key] = [
            render_report(
                facts,
                iso_week_label(key),
                root,
                generated_at,
                sample,
                lang=lang,
                run_weeks=tuple(iso_week_label(k) for k in keys),
            )
            for lang in langs
        ]
    if empty:
        raise Failure(
            description="No briefing_facts for " + ", ".join(empty) + ": materialize briefing_facts "
            "for these weeks first; nothing was published."
        )
    # recomputed from the layer tables (never the stored briefing_facts), once: publish verifies the staged files
    # with them, and the check below the published files and their stored claims
    recomputed = recomputed_facts(warehouse, sorted(reports), root)
    verified: dict[str, Verified] = {}
    try:
        written = publish(warehouse, root, reports, recomputed, verified)
    except VerificationFailed as exc:
        raise Failure(description=str(exc), metadata=outcomes_metadata(exc.outcomes)) from None
    # the check: every published edition of the weeks with its stored claims (one left from an earlier run, or
    # changed on disk or in the warehouse since publishing, is verified again)
    outcomes = verify_published(warehouse, root, published_editions(site, keys), recomputed, verified)
    check_meta = outcomes_metadata(outcomes)
    # each week's materialization: that week's claims and its own report as the preview
    add_week_metadata(
        context,
        {
            key: {
                "dagster/row_count": sum(r.claims.height for r in eds),
                "reports": MetadataValue.json([r.relpath for r in eds]),
                "preview_week": eds[0].iso_week,
                "preview": MetadataValue.md(_preview(eds[0])),  # the first edition rendered (zh-TW unless --lang en)
            }
            for key, eds in reports.items()
        },
    )
    last = next((r for r in reports[keys[-1]] if r.lang == ZH), reports[keys[-1]][0])
    claims = sum(r.claims.height for eds in reports.values() for r in eds)
    with week_log(context) as lines:  # the weeks' lines: one event-log write
        for eds in reports.values():
            for ed in eds:
                lines.append(
                    f"{ed.iso_week}: published {ed.relpath} ({ed.printed_facts} printed facts "
                    f"verified in place, {len(ed.cited)} Extractor files cited)"
                )
    return MaterializeResult(
        metadata={
            "dagster/row_count": claims,
            "dagster/column_schema": _schema(CLAIMS_SCHEMA),
            "reports": MetadataValue.json(written),
            "weeks": MetadataValue.json([iso_week_label(k) for k in keys]),
            "cited_extractor_files": len(last.cited),
            "embedded_sample": MetadataValue.json(sample),
            "editions": MetadataValue.json(list(langs)),
            "generated_at": generated_at.isoformat(),
            "preview_week": last.iso_week,
            "preview": MetadataValue.md(_preview(last)),
        },
        check_results=[
            AssetCheckResult(
                check_name=CHECK_CLAIMS_TRACED,
                passed=all(o.passed for o in outcomes),
                metadata={
                    "figures_checked": sum(o.figures for o in outcomes),
                    "claims_checked": sum(o.claims for o in outcomes),
                    "reports": MetadataValue.json(check_meta["reports"]),
                    "mismatches": MetadataValue.json(check_meta["mismatches"]),
                },
            )
        ],
    )


def published_editions(site: Site, keys: list[str]) -> list[Path]:
    """Every edition of the weeks present in the site; a week's zh-TW report is always listed (missing: a finding)."""
    present = edition_files(site.root_dir())
    paths = []
    for key in sorted(keys):
        files = present.get(iso_week_label(key), {})
        for lang in sorted(set(files) | {ZH}, key=lambda lang: lang != ZH):
            paths.append(
                site.path(f"{REPORT_DIR}/{files[lang]}" if lang in files else report_relpath(iso_week_label(key)))
            )
    return paths


def _preview(report) -> str:  # noqa: ANN001 - RenderedReport
    # The UI renders markdown only: the YAML front matter would show as one big heading, so the preview is the
    # front matter's title as a heading, then the body.
    suffix = "貿易動態週報" if report.lang == ZH else "trade briefing"
    return f"# {report.front['title']} {suffix}\n\n" + split_front_matter(report.markdown)[1].lstrip()


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
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(entries),
            "dagster/column_schema": TableSchema(
                columns=[
                    TableColumn("week", "VARCHAR"),
                    TableColumn("title", "VARCHAR"),
                    TableColumn("description", "VARCHAR"),
                ]
            ),
            "reports": MetadataValue.json(existing_reports(root)),
            "renumbered": MetadataValue.json(renumbered),
            "preview": MetadataValue.md(text),
        }
    )


ASSETS = [briefing_facts, trade_briefing, trade_briefing_index]
