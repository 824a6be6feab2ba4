"""Asset checks on trade_briefing: they re-read the published report(s) of the checked week(s) from the site — every
edition present (the zh-TW report and its English edition)."""


from pathlib import Path

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from trade_pipeline.core.partitions import iso_week_label, weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.assets import trade_briefing
from trade_pipeline.defs.trade_briefing.publish import outcomes_metadata, verify_published
from trade_pipeline.defs.trade_briefing.render import REPORT_DIR, ZH, edition_files, report_relpath
from trade_pipeline.defs.trade_briefing.validation import front_matter_problems, missing_citations, period_problems


def _editions(site: Site, key: str) -> list[tuple[str, str, str | None]]:
    """(language, site-relative path, text) of every edition of the week present; the zh-TW report is always
    listed (text None when it is missing)."""
    files = edition_files(site.root_dir()).get(iso_week_label(key), {})
    out = []
    for lang in sorted(set(files) | {ZH}, key=lambda lang: lang != ZH):
        rel = f"{REPORT_DIR}/{files[lang]}" if lang in files else report_relpath(iso_week_label(key))
        path: Path = site.path(rel)
        out.append((lang, rel, path.read_text(encoding="utf-8") if path.is_file() else None))
    return out


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions, blocking=True,
             description="trade-pipeline verify on the week's published report: every printed figure is at its "
                         "recorded place, equals its fact recomputed from the layer tables (value, unit, format), "
                         "carries [REVIEW_NEEDED] when flagged, and no number stands outside a recorded place.")
def trade_briefing_claims_traced(context: AssetCheckExecutionContext, warehouse: Warehouse, site: Site) -> AssetCheckResult:
    paths = [site.path(rel) for k in sorted(context.partition_keys) for _, rel, _ in _editions(site, k)]
    outcomes = verify_published(warehouse, site.root_dir(), paths)
    meta = outcomes_metadata(outcomes)
    return AssetCheckResult(
        passed=all(o.passed for o in outcomes),
        metadata={"figures_checked": sum(o.figures for o in outcomes), "claims_checked": sum(o.claims for o in outcomes),
                  "reports": MetadataValue.json(meta["reports"]), "mismatches": MetadataValue.json(meta["mismatches"])},
    )


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions,
             description="Every Extractor file the report cites exists under the site root.")
def trade_briefing_citations_exist(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    cited_n, missing = 0, []
    for key in sorted(context.partition_keys):
        for _, rel, text in _editions(site, key):
            if text is None:
                missing.append(f"{key}: {rel} not found")
                continue
            cited, gone = missing_citations(text, site.root_dir())
            cited_n += len(cited)
            missing += [f"{iso_week_label(key)} ({rel}): {g}" for g in gone]
    return AssetCheckResult(passed=not missing, metadata={"cited": cited_n, "missing": MetadataValue.json(missing)})


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions,
             description="The front matter of every edition is valid YAML with the seed's keys and the ISO-week title.")
def trade_briefing_front_matter_valid(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    problems = []
    for key in sorted(context.partition_keys):
        for lang, rel, text in _editions(site, key):
            problems += [f"{rel}: {p}" for p in (front_matter_problems(text, key, lang) if text else ["not found"])]
    return AssetCheckResult(passed=not problems, metadata={"problems": MetadataValue.json(problems)})


@asset_check(asset=trade_briefing, partitions_def=weekly_partitions,
             description="報告期間 (Period: in the English edition) is the partition's ISO week, Monday to Sunday.")
def trade_briefing_period_is_iso_week(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    problems = []
    for key in sorted(context.partition_keys):
        for lang, rel, text in _editions(site, key):
            problems += [f"{rel}: {p}" for p in (period_problems(text, key, lang) if text else ["not found"])]
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.ERROR,
                            metadata={"problems": MetadataValue.json(problems)})


CHECKS = [trade_briefing_claims_traced, trade_briefing_citations_exist, trade_briefing_front_matter_valid,
          trade_briefing_period_is_iso_week]
