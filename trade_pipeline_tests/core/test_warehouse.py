import multiprocessing as mp
from pathlib import Path

import polars as pl
import pytest

from trade_pipeline.core.warehouse import Warehouse


def _frame(n: int, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"code": list(range(offset, offset + n)), "value": [float(i) for i in range(n)]})


def test_replace_partition_is_idempotent_and_leaves_other_weeks_alone(tmp_path: Path) -> None:
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    wh.replace_partition("t_flows", "2026-01-19", _frame(3))
    wh.replace_partition("t_flows", "2026-01-26", _frame(5))
    wh.replace_partition("t_flows", "2026-01-26", _frame(5))  # same week again: no duplicates
    assert wh.row_counts() == {("t_flows", "2026-01-19"): 3, ("t_flows", "2026-01-26"): 5}
    wh.replace_partition("t_flows", "2026-01-26", _frame(2, offset=100))  # new content replaces, never appends
    got = wh.read_partition("t_flows", "2026-01-26")
    assert got["code"].to_list() == [100, 101]
    assert wh.row_counts()[("t_flows", "2026-01-19")] == 3


def test_failed_write_keeps_previous_content(tmp_path: Path) -> None:
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    wh.replace_partition("t_flows", "2026-01-26", _frame(4))
    bad = pl.DataFrame({"code": ["not-an-int"], "value": [1.0]})  # cannot be cast to the table's INT column
    with pytest.raises(Exception):  # noqa: B017 — whichever DuckDB/polars error the bad frame raises
        wh.replace_partition("t_flows", "2026-01-26", bad)
    assert wh.row_counts()[("t_flows", "2026-01-26")] == 4


def test_new_columns_are_added_to_existing_tables(tmp_path: Path) -> None:
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    wh.replace_partition("t_flows", "2026-01-19", _frame(1))
    wh.replace_partition("t_flows", "2026-01-26", _frame(1).with_columns(pl.lit("x").alias("note")))
    assert wh.read_partition("t_flows", "2026-01-26")["note"].to_list() == ["x"]
    assert wh.read_partition("t_flows", "2026-01-19")["note"].to_list() == [None]


def test_refuses_non_identifier_table_names(tmp_path: Path) -> None:
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    with pytest.raises(ValueError):
        wh.replace_partition("t; DROP TABLE x", "2026-01-26", _frame(1))


def test_reading_before_anything_was_written_is_empty(tmp_path: Path) -> None:
    wh = Warehouse(path=str(tmp_path / "missing.duckdb"))
    assert wh.read_partition("t_flows", "2026-01-26").is_empty()


def _writer(db: str, week: str, rounds: int) -> None:
    wh = Warehouse(path=db)
    for i in range(rounds):
        wh.replace_partition("t_flows", week, _frame(10, offset=i))


def test_two_processes_writing_at_once_wait_for_the_lock(tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, week, 15)) for week in ("2026-01-19", "2026-01-26", "2026-01-26")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    counts = Warehouse(path=db).row_counts()
    assert counts == {("t_flows", "2026-01-19"): 10, ("t_flows", "2026-01-26"): 10}
