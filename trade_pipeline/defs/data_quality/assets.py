"""The ``quarantined_rows`` asset: every row a source parser refused, per week, with why (core/quarantine.py).

Each fetching asset of ``contract.QUARANTINE_CONTRIBUTORS`` writes its week's quarantined rows to its own staging
table; this asset depends on all of them and unions the week's staging rows into ``quarantined_rows`` (delete +
insert of the week). Its checks make the rows visible in the UI:

- ``no_quarantined_rows`` (WARN): how many rows were quarantined per week, source, reason and action;
- ``quarantined_groups_flagged`` (ERROR, blocking): every stored row of a group that lost (or had repaired) a row
  carries a QUALITY flag — a safety net, since an unflagged figure computed from a partial group must never reach
  the report.
"""

import json

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from trade_pipeline.core import contract, quarantine
from trade_pipeline.core.partitions import iso_week_label, weekly_partitions
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.core.week_metadata import add_week_metadata, week_rows

GROUP = "data_quality"
TABLE = contract.QUARANTINED_ROWS
CHECK_COUNTS = "no_quarantined_rows"
CHECK_FLAGGED = "quarantined_groups_flagged"
_QUALITY_CODES = sorted(c for c, f in contract.FLAGS.items() if f.kind == contract.QUALITY)

COLUMN_DOCS = {
    "source": "comtrade / census / mofcom",
    "asset": "the fetching asset that refused the row",
    "request": "request key (METHOD url?sorted params, API keys removed): finds the capture / cache entry",
    "request_id": "request id of the reply",
    "fetched_at": "when the reply was fetched or recorded",
    "row_index": "position of the row in the reply (NULL: the whole reply)",
    "row_json": "the row as received, JSON text (number literals as sent)",
    "reason_code": "registered reason (contract.QUARANTINE_REASONS)",
    "reason": "what was wrong: field, value received, value expected",
    "action": "rejected (not used) / repaired (kept, field NULL or from another source) / collapsed (duplicate)",
    "group_table": "stored table whose group the row belonged to",
    "group_key": "JSON of the group's key columns in group_table",
    "flag": "flag put on the group's stored rows ('' for collapsed)",
}


def _schema() -> TableSchema:
    return TableSchema(
        columns=[TableColumn("week_start", "DATE", description="ISO week (Monday)")]
        + [
            TableColumn(n, "BIGINT" if t == pl.Int64 else "VARCHAR", description=COLUMN_DOCS.get(n))
            for n, t in quarantine.SCHEMA.items()
        ]
    )


def _week_rows(warehouse: Warehouse, key: str) -> pl.DataFrame:
    parts = []
    for name in contract.QUARANTINE_CONTRIBUTORS:
        table = contract.quarantine_staging_table(name)
        if not warehouse.has_table(table):
            continue
        df = warehouse.read_partition(table, key)
        if df.height:
            parts.append(df.drop("week_start").select(list(quarantine.SCHEMA)).cast(quarantine.SCHEMA))
    if not parts:
        return quarantine.empty()
    return pl.concat(parts, how="vertical").sort(
        ["source", "asset", "request", "row_index", "reason_code"], nulls_last=True
    )


def _counts(frames: dict[str, pl.DataFrame]) -> list[dict]:
    out = []
    for key, df in sorted(frames.items()):
        if not df.height:
            continue
        for r in (
            df.group_by("source", "reason_code", "action")
            .len()
            .sort("source", "reason_code", "action")
            .iter_rows(named=True)
        ):
            out.append(
                {
                    "week": iso_week_label(key),
                    "source": r["source"],
                    "reason_code": r["reason_code"],
                    "action": r["action"],
                    "rows": int(r["len"]),
                }
            )
    return out


def _counts_markdown(counts: list[dict]) -> str:
    if not counts:
        return "No row was quarantined in these weeks."
    lines = ["| week | source | reason | action | rows | meaning |", "|---|---|---|---|---|---|"]
    for c in counts:
        lines.append(
            f"| {c['week']} | {c['source']} | `{c['reason_code']}` | {c['action']} | {c['rows']} | "
            f"{contract.QUARANTINE_REASONS.get(c['reason_code'], '')} |"
        )
    return "\n".join(lines)


def unflagged_group_rows(warehouse: Warehouse, key: str, df: pl.DataFrame) -> list[dict]:
    """Groups of rejected/repaired rows whose stored rows (in group_table) lack every QUALITY flag."""
    problems = []
    todo = (
        df.filter(pl.col("action").is_in(sorted(quarantine.FLAGGING_ACTIONS)))
        .select("source", "group_table", "group_key")
        .unique()
        .sort("group_table", "group_key")
    )
    for r in todo.iter_rows(named=True):
        table = r["group_table"]
        try:
            group = json.loads(r["group_key"] or "{}")
        except ValueError:
            problems.append({**r, "week": key, "problem": "group_key is not JSON"})
            continue
        if not warehouse.has_table(table):
            continue  # the group's table was never written (its rows were all rejected): nothing can print
        stored = warehouse.read_partition(table, key)
        if stored.is_empty() or "review_flags" not in stored.columns:
            continue
        if not set(group) <= set(stored.columns):
            problems.append({**r, "week": key, "problem": f"group columns not in {table}"})
            continue
        hit = stored
        for col, value in group.items():  # a list stands for each of its values
            values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            hit = hit.filter(pl.col(col).cast(pl.Utf8).is_in(values))
        if hit.is_empty():
            continue
        flags = hit["review_flags"].fill_null("").str.split(";")
        unflagged = hit.filter(~flags.list.eval(pl.element().is_in(_QUALITY_CODES)).list.any())
        if unflagged.height:
            problems.append({**r, "week": key, "unflagged_rows": unflagged.height})
    return problems


@asset(
    name=TABLE,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"duckdb", "python"},
    owners=["team:trade-intel"],
    deps=list(contract.QUARANTINE_CONTRIBUTORS),
    description="Rows every source's parser refused (or repaired, or collapsed as exact duplicates) at the parse "
    "boundary, per week: source, request, row as received, reason, and the group whose stored rows "
    "carry the quarantined_rows flag. Collected from the fetching assets' staging tables.",
    metadata={
        "dagster/column_schema": _schema(),
        "reasons": MetadataValue.json(contract.QUARANTINE_REASONS),
        "contributors": MetadataValue.json(contract.QUARANTINE_CONTRIBUTORS),
    },
    check_specs=[
        AssetCheckSpec(
            CHECK_COUNTS,
            asset=TABLE,
            description="[REVIEW_NEEDED] rows were quarantined this week (counts per source and reason)",
        ),
        AssetCheckSpec(
            CHECK_FLAGGED,
            asset=TABLE,
            blocking=True,
            description="every stored row of a group that lost a quarantined row carries a QUALITY flag",
        ),
    ],
)
def quarantined_rows(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    with warehouse.session():
        frames = {key: _week_rows(warehouse, key) for key in keys}
        warehouse.replace_partitions(TABLE, frames)
        unflagged = [p for key in keys for p in unflagged_group_rows(warehouse, key, frames[key])]
    counts = _counts(frames)
    latest = frames[keys[-1]]
    sample = (
        latest.select("source", "reason_code", "action", "reason", "group_table", "group_key", "request", "row_json")
        .head(20)
        .to_dicts()
    )
    by_week = {iso_week_label(k): f.height for k, f in frames.items()}
    checks = [
        AssetCheckResult(
            check_name=CHECK_COUNTS,
            passed=not counts,
            severity=AssetCheckSeverity.WARN,
            description=(f"{sum(c['rows'] for c in counts)} rows quarantined" if counts else "no row quarantined"),
            metadata={
                "rows_by_week": MetadataValue.json(by_week),
                "by_week_source_reason": MetadataValue.json(counts),
                "table": MetadataValue.md(_counts_markdown(counts)),
                "latest_week_rows": MetadataValue.json(sample),
            },
        ),
        AssetCheckResult(
            check_name=CHECK_FLAGGED,
            passed=not unflagged,
            severity=AssetCheckSeverity.ERROR,
            description=("groups with quarantined rows whose stored rows carry no quality flag" if unflagged else "ok"),
            metadata={"problem_count": len(unflagged), "problems": MetadataValue.json(unflagged[:50])},
        ),
    ]
    for c in counts:
        context.log.warning(f"{c['week']}: {c['rows']} {c['source']} rows {c['action']} ({c['reason_code']})")
    add_week_metadata(context, week_rows(frames))
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(f.height for f in frames.values()),
            "dagster/column_schema": _schema(),
            "rows_by_week": MetadataValue.json(by_week),
            "by_week_source_reason": MetadataValue.md(_counts_markdown(counts)),
            "latest_week_rows": MetadataValue.json(sample),
        },
        check_results=checks,
    )


ASSETS = [quarantined_rows]
