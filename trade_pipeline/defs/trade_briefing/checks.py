"""Asset checks on trade_briefing: they re-read the published report(s) of the checked week(s) from the site — every
edition present (the zh-TW report and its English edition)."""

from pathlib import Path

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from trade_pipeline.core.partitions import iso_week_label, weekly_partitions
from trade_pipeline.core.site import Site
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


@asset_check(
    asset="trade_briefing",
    partitions_def=weekly_partitions,
    description="Every Extractor file the report cites exists under the site root.",
)
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


@asset_check(
    asset="trade_briefing",
    partitions_def=weekly_partitions,
    description="The front matter of every edition is valid YAML with the seed's keys and the ISO-week title.",
)
def trade_briefing_front_matter_valid(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    problems = []
    for key in sorted(context.partition_keys):
        for lang, rel, text in _editions(site, key):
            problems += [f"{rel}: {p}" for p in (front_matter_problems(text, key, lang) if text else ["not found"])]
    return AssetCheckResult(passed=not problems, metadata={"problems": MetadataValue.json(problems)})


@asset_check(
    asset="trade_briefing",
    partitions_def=weekly_partitions,
    description="報告期間 (Period: in the English edition) is the partition's ISO week, Monday to Sunday.",
)
def trade_briefing_period_is_iso_week(context: AssetCheckExecutionContext, site: Site) -> AssetCheckResult:
    problems = []
    for key in sorted(context.partition_keys):
        for lang, rel, text in _editions(site, key):
            problems += [f"{rel}: {p}" for p in (period_problems(text, key, lang) if text else ["not found"])]
    return AssetCheckResult(
        passed=not problems, severity=AssetCheckSeverity.ERROR, metadata={"problems": MetadataValue.json(problems)}
    )


# trade_briefing_claims_traced (blocking) is declared on the asset (assets.py, check_specs) and returned with its
# materialization: it compares with the facts the publishing step recomputed, so a run recomputes each week once.
CHECKS = [trade_briefing_citations_exist, trade_briefing_front_matter_valid, trade_briefing_period_is_iso_week]
