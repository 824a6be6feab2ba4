"""Assets that write more than their own table: every warehouse table is an asset the UI shows.

Several assets write side tables besides the one they are named after — a request log (comtrade_requests), the
data-availability listing, census_release_status, a timeline, a watch list. Undeclared, those tables existed in
DuckDB but not in the asset graph: no lineage, no row counts, no materialization history. :func:`table_asset` is
``@asset`` for such a step: the same arguments, plus ``side_tables={table: description}``; it builds a
``multi_asset`` whose first spec is the asset itself and whose other specs are its side tables (same group, owners
and partitions, depending on the same upstream assets). The function's body is unchanged: it returns the main
asset's ``MaterializeResult``; each side table then gets its own materialization, with its row count per week and
column schema read back from DuckDB (what the step actually wrote), and per-partition metadata in range runs.

The asset can be selected alone (``dg launch --assets census_monthly_flows``, the UI's "Materialize" on one asset):
its step writes every one of its tables either way, records a materialization for each selected one and logs the
side tables it wrote unselected. A side table cannot be selected without its asset (the asset's own table would
change unrecorded): that run fails before writing anything, naming the asset to select.

    @table_asset(name=T_PARTNER_FLOWS, side_tables={T_REQUESTS: "…", T_AVAILABILITY: "…"}, partitions_def=…, …)
    def comtrade_partner_flows(context, comtrade, warehouse) -> MaterializeResult: ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    TableColumn,
    TableSchema,
    multi_asset,
)

from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.core.week_metadata import ROW_COUNT, add_week_metadata

SIDE_TABLE_KINDS = {"duckdb"}


def table_asset(
    *,
    side_tables: Mapping[str, str],
    name: str | None = None,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    kinds: set[str] | None = None,
    owners: list[str] | None = None,
    deps: Any = None,
    check_specs: Any = None,
    partitions_def: Any = None,
    backfill_policy: Any = None,
    **asset_kwargs: Any,
) -> Callable[[Callable[..., MaterializeResult]], Any]:
    """``@asset`` whose step also writes ``side_tables`` (table → description): one multi-asset, every table an
    asset. The decorated function takes a ``warehouse`` resource and returns the main asset's result."""

    def decorate(fn: Callable[..., MaterializeResult]) -> Any:
        main = name or fn.__name__
        if "warehouse" not in inspect.signature(fn).parameters:
            raise TypeError(f"{main}: a table_asset reads its side tables back through a `warehouse` resource")
        shared = {"group_name": group_name, "owners": owners, "partitions_def": partitions_def, "deps": deps}
        specs = [AssetSpec(main, description=description, kinds=kinds, metadata=metadata, **shared)]
        specs += [
            AssetSpec(table, description=text, kinds=SIDE_TABLE_KINDS, **shared) for table, text in side_tables.items()
        ]

        @functools.wraps(fn)
        def step(*args: Any, **kwargs: Any) -> Iterator[MaterializeResult]:
            context = kwargs.get("context", args[0] if args else None)
            key = AssetKey(main)
            selected = set(context.selected_asset_keys)
            if key not in selected:
                raise Failure(
                    description=f"{', '.join(sorted(k.to_user_string() for k in selected))}: written by the step of "
                    f"{main}, with it — select {main} (its tables {', '.join(side_tables)} come with it)"
                )
            result = fn(*args, **kwargs)
            checks = [c if c.asset_key is not None else c._replace(asset_key=key) for c in result.check_results or []]
            yield MaterializeResult(
                asset_key=key,
                metadata=result.metadata,
                data_version=result.data_version,
                tags=result.tags,
                check_results=[
                    c for c in checks if AssetCheckKey(c.asset_key, c.check_name) in context.selected_asset_check_keys
                ],
            )
            chosen = [table for table in side_tables if AssetKey(table) in selected]
            if len(chosen) < len(side_tables):
                context.log.info(
                    f"{main} also wrote {', '.join(t for t in side_tables if t not in chosen)} (not selected: no "
                    "materialization recorded for them in this run)"
                )
            yield from side_table_results(context, kwargs["warehouse"], chosen)

        return multi_asset(
            name=main,
            specs=specs,
            check_specs=check_specs,
            partitions_def=partitions_def,
            backfill_policy=backfill_policy,
            can_subset=True,
            **asset_kwargs,
        )(step)

    return decorate


def side_table_results(context: Any, warehouse: Warehouse, tables: list[str]) -> Iterator[MaterializeResult]:
    """One result per side table: its rows of the step's weeks (each week's own count on that week's event) and
    its column schema, as stored — two queries on one read-only connection for all the step's side tables."""
    keys = sorted(context.partition_keys)
    if not tables:
        return
    counts: dict[str, dict[str, int]] = {table: dict.fromkeys(keys, 0) for table in tables}
    columns: dict[str, list[tuple[str, str]]] = {table: [] for table in tables}
    with warehouse.connect(read_only=True) as conn:
        schema = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN (SELECT unnest(?)) AND column_name <> 'week_start' "
            "ORDER BY table_name, ordinal_position",
            [tables],
        ).fetchall()
        for table, column, kind in schema:
            columns[table].append((column, kind))
        present = [table for table in tables if columns[table]]
        if present:
            weeks = ", ".join("?::DATE" for _ in keys)
            # table names are the code's own constants (side_tables); the names as values and the weeks are bound
            per_table = [
                f'SELECT ? AS t, CAST(week_start AS VARCHAR) AS week, count(*) AS n FROM "{table}" '
                f"WHERE week_start IN ({weeks}) GROUP BY week_start"
                for table in present
            ]
            params = [v for table in present for v in (table, *keys)]
            for table, week, n in conn.execute(" UNION ALL ".join(per_table), params).fetchall():
                counts[table][week] = int(n)
    for table in tables:
        add_week_metadata(context, {k: {ROW_COUNT: n} for k, n in counts[table].items()}, asset_key=table)
        yield MaterializeResult(
            asset_key=AssetKey(table),
            metadata={
                ROW_COUNT: sum(counts[table].values()),
                "dagster/column_schema": TableSchema(columns=[TableColumn(n, t) for n, t in columns[table]]),
            },
        )
