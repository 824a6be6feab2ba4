"""core.table_assets: a step's side tables are assets of their own, each week's materialization counting that week's
rows as stored; the asset can be selected alone (dg launch --assets X), a side table without its asset cannot."""

# No `from __future__ import annotations`: Dagster resolves the context/resource annotations at definition time.
import polars as pl
import pytest
from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    DagsterInstance,
    MaterializeResult,
    materialize,
)

from trade_pipeline.core.partitions import weekly_partitions
from trade_pipeline.core.table_assets import table_asset
from trade_pipeline.core.warehouse import Warehouse

W04, W05 = "2026-01-19", "2026-01-26"
TWO_WEEKS = {"dagster/asset_partition_range_start": W04, "dagster/asset_partition_range_end": W05}
LOG_ROWS = {W04: 2, W05: 3}


@table_asset(
    side_tables={"toy_log": "one row per thing the step asked for"},
    name="toy_main",
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="toy",
    kinds={"duckdb"},
    owners=["team:trade-intel"],
    description="a step that writes its own table and a log",
)
def toy_main(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    with warehouse.session():
        warehouse.replace_partitions("toy_main", {k: pl.DataFrame({"x": [1]}) for k in keys})
        warehouse.replace_partitions(
            "toy_log", {k: pl.DataFrame({"asked": [f"r{i}" for i in range(LOG_ROWS[k])]}) for k in keys}
        )
    return MaterializeResult(metadata={"dagster/row_count": len(keys)})


def _run(selection: list[str] | None = None, raise_on_error: bool = True):  # noqa: ANN202 - ExecuteInProcessResult
    return materialize(
        [toy_main],
        resources={"warehouse": Warehouse()},
        tags=TWO_WEEKS,
        selection=selection,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


def _stored(table: str) -> dict[str, int]:
    with Warehouse().connect(read_only=True) as conn:
        if not Warehouse.table_exists(conn, table):
            return {}
        rows = conn.execute(f"SELECT CAST(week_start AS VARCHAR), count(*) FROM {table} GROUP BY 1").fetchall()
    return dict(rows)


def test_each_week_of_a_side_table_is_materialized_with_its_own_stored_rows_and_schema() -> None:
    result = _run()
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("toy_log")]
    by_week = {e.partition: e.materialization.metadata for e in events}
    assert {w: m["dagster/row_count"].value for w, m in by_week.items()} == LOG_ROWS == _stored("toy_log")
    schema = by_week[W05]["dagster/column_schema"].value
    assert [c.name for c in schema.columns] == ["asked"]


def test_the_asset_can_be_selected_alone() -> None:
    result = _run(["toy_main"])
    assert result.success
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {"toy_main"}
    assert _stored("toy_log") == LOG_ROWS  # its step wrote the log, as it always does


def test_a_side_table_alone_is_refused_naming_its_asset_and_nothing_is_written() -> None:
    result = _run(["toy_log"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "select toy_main" in str(failure.event_specific_data.error)
    assert _stored("toy_main") == {} and _stored("toy_log") == {}


def test_a_step_without_a_warehouse_cannot_be_a_table_asset() -> None:
    with pytest.raises(TypeError, match="warehouse"):

        @table_asset(side_tables={"t": "d"}, name="no_warehouse")
        def no_warehouse(context: AssetExecutionContext) -> MaterializeResult:
            return MaterializeResult()
