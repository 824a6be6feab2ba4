"""Asset checks on trade_briefing: they re-read the written report(s) of the checked week(s) from the site."""


from pathlib import Path

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from trade_pipeline.core.partitions import iso_week_label, weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.assets import trade_briefing
from trade_pipeline.defs.trade_briefing.claims import CLAIMS_TABLE
from trade_pipeline.defs.trade_briefing.render import report_relpath
from trade_pipeline.defs.trade_briefing.validation import (
    check_claims, front_matter_problems, missing_citations, period_problems,
)


def _report(site: Site, key: str) -> tuple[str, str | None]:
    rel = report_relpath(iso_week_label(key))
    path: Path = site.path(rel)
    return rel, (path.read_text(encoding="utf-8") if path.is_file() else None)


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions, blocking=True,
             description="Every figure printed in the report has a recorded claim that formats to it, and every "
                         "claim still resolves to that value in DuckDB (table/row/column).")
def trade_briefing_claims_traced(context: AssetCheckExecutionContext, warehouse: Warehouse, site: Site) -> AssetCheckResult:
    weeks, orphans, broken, figures = {}, [], [], 0
    with warehouse.session(read_only=True), warehouse.connect(read_only=True) as conn:
        has_claims = warehouse.has_table(CLAIMS_TABLE, conn)
        for key in sorted(context.partition_keys):
            rel, text = _report(site, key)
            if text is None:
                orphans.append({"week": key, "problem": f"{rel} not found"})
                continue
            claims = []
            if has_claims:
                claims = conn.execute(f"SELECT * FROM {CLAIMS_TABLE} WHERE week_start = ?::DATE", [key]).pl().to_dicts()
            outcome = check_claims(text, claims, conn)
            figures += outcome.figures
            weeks[iso_week_label(key)] = {"figures": outcome.figures, "claims": len(claims),
                                          "orphans": len(outcome.orphans), "broken_claims": len(outcome.broken_claims)}
            orphans += [{"week": key, **o} for o in outcome.orphans]
            broken += [{"week": key, **b} for b in outcome.broken_claims]
    return AssetCheckResult(
        passed=not orphans and not broken,
        metadata={"figures_checked": figures, "weeks": MetadataValue.json(weeks),
                  "orphan_figures": MetadataValue.json(orphans[:50]), "broken_claims": MetadataValue.json(broken[:50])},
    )


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions,
             description="Every Extractor file the report cites exists under the site root.")
def trade_briefing_citations_exist(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    cited_n, missing = 0, []
    for key in sorted(context.partition_keys):
        rel, text = _report(site, key)
        if text is None:
            missing.append(f"{key}: {rel} not found")
            continue
        cited, gone = missing_citations(text, site.root_dir())
        cited_n += len(cited)
        missing += [f"{iso_week_label(key)}: {g}" for g in gone]
    return AssetCheckResult(passed=not missing, metadata={"cited": cited_n, "missing": MetadataValue.json(missing)})


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions,
             description="The front matter is valid YAML with the seed's keys and the ISO-week title.")
def trade_briefing_front_matter_valid(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    problems = []
    for key in sorted(context.partition_keys):
        rel, text = _report(site, key)
        problems += [f"{rel}: {p}" for p in (front_matter_problems(text, key) if text else ["not found"])]
    return AssetCheckResult(passed=not problems, metadata={"problems": MetadataValue.json(problems)})


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions,
             description="報告期間 is the partition's ISO week, Monday to Sunday.")
def trade_briefing_period_is_iso_week(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    problems = []
    for key in sorted(context.partition_keys):
        rel, text = _report(site, key)
        problems += [f"{rel}: {p}" for p in (period_problems(text, key) if text else ["not found"])]
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.ERROR,
                            metadata={"problems": MetadataValue.json(problems)})


CHECKS = [trade_briefing_claims_traced, trade_briefing_citations_exist, trade_briefing_front_matter_valid,
          trade_briefing_period_is_iso_week]
