"""A run killed in the middle of writing a partition leaves that partition's previous content intact.

A child process opens the warehouse and replaces a week with a large frame through ``Warehouse.replace_partition``.
Its connection is instrumented (a ``Warehouse`` subclass overriding the public ``connect``) to drop an event file at
a chosen statement and then block, so the parent SIGKILLs it at a known point of the transaction — after the DELETE
and during the large INSERT (whose row groups DuckDB may already write to the file), or right before COMMIT.
All waits are bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline.core.warehouse import Warehouse

WEEK_OLD, WEEK_HIT = "2026-01-19", "2026-01-26"
CHILD = (
    r'''
import contextlib, sys, time
from pathlib import Path
import polars as pl
from trade_pipeline.core.warehouse import Warehouse

db, event, stop_at, rows = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])

class _Conn:
    def __init__(self, conn):
        self._conn = conn
    def __getattr__(self, name):
        return getattr(self._conn, name)
    def execute(self, sql, *args):
        verb = sql.strip().split()[0].upper()
        if verb == stop_at == "INSERT":
            event.write_text("insert")          # the kill may land anywhere inside the big INSERT or after it
            out = self._conn.execute(sql, *args)
            time.sleep(60)
            return out
        if verb == stop_at:                      # e.g. COMMIT: everything written, nothing committed
            event.write_text(verb)
            time.sleep(60)
        return self._conn.execute(sql, *args)

class Instrumented(Warehouse):
    @contextlib.contextmanager
    def connect(self, read_only=False):
        with super().connect(read_only) as conn:
            yield _Conn(conn)

frame = pl.DataFrame({"code": pl.arange(0, rows, eager=True), "value": pl.arange(0, rows, eager=True) * 0.5,
                      "label": pl.Series(["x" * 24] * rows)})
Instrumented(path=db).replace_partition("t_big", "'''
    + WEEK_HIT
    + r"""", frame)
Path(str(event) + ".done").write_text("committed")
"""
)


def _frame(n: int, offset: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"code": list(range(offset, offset + n)), "value": [i * 0.5 for i in range(n)], "label": ["old"] * n}
    )


@pytest.mark.parametrize("stop_at", ["INSERT", "COMMIT"])
def test_sigkill_mid_write_keeps_previous_partition(tmp_path: Path, stop_at: str) -> None:
    db = tmp_path / "w.duckdb"
    wh = Warehouse(path=str(db))
    wh.replace_partition("t_big", WEEK_OLD, _frame(1_000, 0))
    wh.replace_partition("t_big", WEEK_HIT, _frame(2_500, 10_000))
    before = wh.row_counts()
    before_sum = wh.query("SELECT sum(code) AS s FROM t_big WHERE week_start = ?::DATE", [WEEK_HIT])["s"][0]

    event = tmp_path / "event"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(event), stop_at, "3000000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not event.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "child never reached the write"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert not Path(str(event) + ".done").exists()  # killed before the transaction committed

    after = Warehouse(path=str(db))
    assert after.row_counts() == before
    got = after.query("SELECT sum(code) AS s, min(label) AS l FROM t_big WHERE week_start = ?::DATE", [WEEK_HIT])
    assert got["s"][0] == before_sum and got["l"][0] == "old"
    # The file is healthy: the next run can replace the week normally.
    after.replace_partition("t_big", WEEK_HIT, _frame(7, 0))
    assert after.row_counts() == {("t_big", WEEK_OLD): 1_000, ("t_big", WEEK_HIT): 7}
