"""DuckDB storage: every asset writes its week idempotently (delete the week, insert the new rows, one transaction).

DuckDB allows one writing process per file. Runs launched together (UI + CLI, two backfills) therefore wait for the
file lock with backoff instead of failing, and each connection is held only for the few milliseconds a write takes.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
from dagster import ConfigurableResource

from trade_pipeline.core.paths import data_dir, resolve

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
PARTITION_COLUMN = "week_start"


class WarehouseLockTimeout(RuntimeError):
    pass


def _check_ident(name: str) -> str:
    # Table names come from our code, never from scraped text; still, refuse anything that is not a plain identifier.
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Could not set lock" in text or "Conflicting lock" in text or "IO Error" in text)


class Warehouse(ConfigurableResource):
    """The DuckDB warehouse. ``path`` empty means ``<data dir>/warehouse.duckdb``."""

    path: str = ""
    lock_timeout_s: float = 120.0

    def db_path(self) -> Path:
        return resolve(self.path) if self.path else data_dir() / "warehouse.duckdb"

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits (with backoff) while another process holds the file lock."""
        path = self.db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and not path.exists():
            # Nothing written yet: an empty in-memory database answers "no rows" honestly.
            conn = duckdb.connect(":memory:")
        else:
            deadline, delay = time.monotonic() + self.lock_timeout_s, 0.05
            while True:
                try:
                    conn = duckdb.connect(str(path), read_only=read_only)
                    break
                except duckdb.Error as exc:  # IOException: "Could not set lock on file ..."
                    if not _is_lock_error(exc) or time.monotonic() > deadline:
                        if _is_lock_error(exc):
                            raise WarehouseLockTimeout(
                                f"DuckDB file {path} stayed locked by another process for {self.lock_timeout_s:.0f}s"
                            ) from exc
                        raise
                    time.sleep(delay)
                    delay = min(delay * 1.5, 1.0)
        try:
            yield conn
        finally:
            conn.close()

    def replace_partition(self, table: str, week_start: str, df: pl.DataFrame) -> int:
        """Replace one week's rows of ``table`` with ``df`` in a single transaction. Returns rows written.

        The table is created from ``df``'s schema (plus ``week_start DATE``) on first write. ``df`` must not carry
        ``week_start`` itself; it is stamped here so a week's rows can never land in another week.
        """
        _check_ident(table)
        if PARTITION_COLUMN in df.columns:
            df = df.drop(PARTITION_COLUMN)
        frame = df.with_columns(pl.lit(week_start).str.to_date().alias(PARTITION_COLUMN)).select(
            [PARTITION_COLUMN, *df.columns]
        )
        with self.connect() as conn:
            conn.register("incoming", frame.to_arrow())
            conn.execute("BEGIN TRANSACTION")
            try:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
                self._add_missing_columns(conn, table, frame)
                conn.execute(f"DELETE FROM {table} WHERE {PARTITION_COLUMN} = ?::DATE", [week_start])
                cols = ", ".join(f'"{c}"' for c in frame.columns)
                conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming")
                conn.execute("COMMIT")
            except Exception:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.unregister("incoming")
        return frame.height

    @staticmethod
    def _add_missing_columns(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
        # Schemas grow as layers deepen; add new columns instead of failing on old warehouses.
        existing = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        for name in frame.columns:
            if name not in existing:
                _check_ident(name)
                dtype = conn.execute(f'SELECT typeof("{name}") FROM incoming LIMIT 1').fetchone()
                sql_type = dtype[0] if dtype else "VARCHAR"
                conn.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {sql_type}')

    def read_partition(self, table: str, week_start: str, where: str = "", params: list | None = None) -> pl.DataFrame:
        """Rows of one week (empty frame when the table or the week does not exist yet)."""
        _check_ident(table)
        with self.connect(read_only=True) as conn:
            if not self.table_exists(conn, table):
                return pl.DataFrame()
            sql = f"SELECT * FROM {table} WHERE {PARTITION_COLUMN} = ?::DATE" + (f" AND ({where})" if where else "")
            return conn.execute(sql, [week_start, *(params or [])]).pl()

    def query(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """Run a read-only query with bound parameters (never format untrusted text into ``sql``)."""
        with self.connect(read_only=True) as conn:
            return conn.execute(sql, params or []).pl()

    @staticmethod
    def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
        return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0])

    def row_counts(self) -> dict[tuple[str, str], int]:
        """(table, week_start) -> rows, for every table with a week_start column. Used by tests and checks."""
        out: dict[tuple[str, str], int] = {}
        with self.connect(read_only=True) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE column_name = ?", [PARTITION_COLUMN]).fetchall()]
            for t in tables:
                _check_ident(t)
                for week, n in conn.execute(
                        f"SELECT CAST({PARTITION_COLUMN} AS VARCHAR), count(*) FROM {t} GROUP BY 1").fetchall():
                    out[(t, week)] = n
        return out
