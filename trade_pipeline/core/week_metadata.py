"""Per-partition metadata for single-run ranges: each week's materialization describes that week, not the run.

A single-run backfill (``BackfillPolicy.single_run()``) materializes every week of the range from ONE
``MaterializeResult``; Dagster copies that result's metadata onto each week's materialization event, so in a
two-week run both weeks of market_concentration showed 56 rows although DuckDB holds 28 per week. Dagster's way to
say something about one partition of a multi-partition step is ``context.add_asset_metadata(..., partition_key=…)``:
the entries given for a partition override the result's entries on that partition's event only.

:func:`add_week_metadata` is that call for every week of the step; :func:`week_rows` builds the usual entries
(``dagster/row_count`` per week, plus ``rows/<table>`` for the other tables an asset writes). Call it once per
asset, before returning its ``MaterializeResult``::

    add_week_metadata(context, week_rows(frames))                        # frames: {week: DataFrame}
    add_week_metadata(context, {k: {"dagster/row_count": n, "preview": MetadataValue.md(text)} for ...})

A week absent from the mapping keeps the run-level metadata; a key that is not one of the step's partitions is an
error (Dagster's), never silently dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl
from dagster import AssetExecutionContext

ROW_COUNT = "dagster/row_count"

Rows = pl.DataFrame | int | None


def _count(rows: Rows) -> int:
    if rows is None:
        return 0
    return rows.height if isinstance(rows, pl.DataFrame) else int(rows)


def week_rows(
    main: Mapping[str, Rows], name: str | None = None, **others: Mapping[str, Rows]
) -> dict[str, dict[str, Any]]:
    """``{week: {"dagster/row_count": rows of main that week, "rows/<table>": rows of each other table}}``.

    ``main`` (and each of ``others``) maps a partition key to that week's frame or row count. ``name``: also set
    ``rows/<name>`` to main's rows (for assets whose result lists every table it writes as ``rows/<table>``). Weeks
    present only in ``others`` get a row count of 0 for ``main``.
    """
    weeks = set(main).union(*(set(m) for m in others.values()))
    out: dict[str, dict[str, Any]] = {}
    for week in sorted(weeks):
        meta: dict[str, Any] = {ROW_COUNT: _count(main.get(week))}
        if name is not None:
            meta[f"rows/{name}"] = meta[ROW_COUNT]
        meta.update({f"rows/{table}": _count(frames.get(week)) for table, frames in others.items()})
        out[week] = meta
    return out


def add_week_metadata(
    context: AssetExecutionContext, per_week: Mapping[str, Mapping[str, Any]], asset_key: Any = None
) -> None:
    """Attach ``per_week[week]`` to that week's materialization of the asset. In a multi-asset (a
    ``core.table_assets.table_asset`` with side tables) ``asset_key`` defaults to the asset named like the step."""
    if asset_key is None and len(context.assets_def.keys) > 1:
        asset_key = context.assets_def.op.name
    for week, metadata in sorted(per_week.items()):
        if metadata:
            context.add_asset_metadata(dict(metadata), asset_key=asset_key, partition_key=week)


@contextlib.contextmanager
def week_log(context: AssetExecutionContext) -> Iterator[list[str]]:
    """Collect a step's per-week log lines; they are logged as ONE message when the block ends, also when it raises
    (every ``context.log`` call is an event written to the instance's event log: a 52-week step's lines are one
    write, not 52)::

        with week_log(context) as lines:
            for key in keys:
                ...
                lines.append(f"{key}: {n} rows")
    """
    lines: list[str] = []
    try:
        yield lines
    finally:
        if lines:
            context.log.info("\n".join(lines))
