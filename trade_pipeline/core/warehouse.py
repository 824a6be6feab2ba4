"""DuckDB storage: every asset writes its week idempotently (delete the week, insert the new rows, one transaction).

DuckDB allows one writing process per file. Runs launched together (UI + CLI, two backfills) therefore wait for the
file lock with backoff instead of failing, and each connection is held only for the few milliseconds a write takes.

Opening and closing the file costs ≈ 10–20 ms (plus a checkpoint after writes), and an ``information_schema`` lookup
a few more: paid per read and per write, that was most of a multi-week backfill's warehouse time. An asset therefore
groups its warehouse I/O in :meth:`Warehouse.session` blocks: one read-write connection for the block (waiting for the
lock like any other), every ``connect``/``read_partition``/``replace_partition``/``query`` inside it a cheap cursor of
that connection, table/column names looked up once per block. A block holds the lock for its reads and writes (and
the in-memory work between them), never across network fetches. Each week's delete + insert is still one transaction.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from dagster import ConfigurableResource

from trade_pipeline.core.paths import data_dir, resolve

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
PARTITION_COLUMN = "week_start"


class WarehouseLockTimeout(RuntimeError):
    pass


@dataclass
class _Session:
    """The connection of an open :meth:`Warehouse.session` and what it learned about the schema."""

    db: str
    conn: duckdb.DuckDBPyConnection
    columns: dict[str, list[str]] | None = None  # table -> column names; None = not loaded (or invalidated)

    def table_columns(self) -> dict[str, list[str]]:
        # The session holds the file's write lock: no other process can change the schema while it is open.
        if self.columns is None:
            cols: dict[str, list[str]] = {}
            for table, column in self.conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns ORDER BY table_name, ordinal_position"
            ).fetchall():
                cols.setdefault(table, []).append(column)
            self.columns = cols
        return self.columns


#: The session open in this context (an asset's compute runs in one thread), if any.
_ACTIVE: ContextVar[_Session | None] = ContextVar("trade_pipeline_warehouse_session", default=None)


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

    def _session(self) -> _Session | None:
        active = _ACTIVE.get()
        return active if active is not None and active.db == str(self.db_path()) else None

    @contextlib.contextmanager
    def session(self, read_only: bool = False) -> Iterator[Warehouse]:
        """Hold one connection for a block of reads and writes (reentrant: inside an open session, that one is used;
        yields the warehouse).

        Inside the block every method of this warehouse (and ``connect``) uses a cursor of that connection, and
        table existence/columns are looked up once. Keep network fetches outside the block: a read-write session
        holds the file lock. A ``read_only`` session (only reads inside) lets other readers in meanwhile.
        """
        if self._session() is not None:
            yield self
            return
        with self.connect(read_only=read_only) as conn:
            token = _ACTIVE.set(_Session(str(self.db_path()), conn))
            try:
                yield self
            finally:
                _ACTIVE.reset(token)

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits (with backoff) while another process holds the file lock. Inside a
        :meth:`session`, a cursor of the session's connection (read-write)."""
        active = self._session()
        if active is not None:
            cursor = active.conn.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
            return
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
        self._replace(table, [week_start], frame)
        return frame.height

    def replace_partitions(self, table: str, frames: Mapping[str, pl.DataFrame]) -> int:
        """Replace several weeks of ``table`` (week_start -> rows); returns rows written.

        The same result as one :meth:`replace_partition` per week in the mapping's order, in fewer round trips: when
        every week's frame has the same schema, the weeks' old rows are deleted and the new ones inserted in ONE
        transaction (all weeks or none); a table is created (or given missing columns) from the first week's frame,
        as the first of the per-week writes would. Otherwise (a week with other column types, e.g. an all-null
        column) each week is written on its own, in order, exactly as before.
        """
        _check_ident(table)
        if not frames:
            return 0
        parts = []
        for week_start, df in frames.items():
            if PARTITION_COLUMN in df.columns:
                df = df.drop(PARTITION_COLUMN)
            parts.append(
                df.with_columns(pl.lit(week_start).str.to_date().alias(PARTITION_COLUMN)).select(
                    [PARTITION_COLUMN, *df.columns]
                )
            )
        if len(parts) == 1 or any(part.schema != parts[0].schema for part in parts[1:]):
            for week_start, part in zip(frames, parts):
                self._replace(table, [week_start], part)
            return sum(part.height for part in parts)
        frame = pl.concat(parts, how="vertical")
        self._replace(table, list(frames), frame, schema_frame=parts[0])
        return frame.height

    def _replace(
        self, table: str, weeks: list[str], frame: pl.DataFrame, schema_frame: pl.DataFrame | None = None
    ) -> None:
        """Delete ``weeks`` of ``table`` and insert ``frame`` (already stamped with week_start), one transaction.
        A missing table/column is created from ``schema_frame`` (default ``frame``)."""
        with self.connect() as conn:
            active = self._session()
            known = active.table_columns().get(table) if active is not None else None
            schema_changes = known is None or not set(frame.columns) <= set(known)
            ddl_frame = schema_frame if schema_changes and schema_frame is not None else frame
            conn.register("incoming", ddl_frame.to_arrow())
            conn.execute("BEGIN TRANSACTION")
            try:
                if known is None:
                    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
                if schema_changes:
                    self._add_missing_columns(conn, table, ddl_frame)
                if ddl_frame is not frame:
                    conn.unregister("incoming")
                    conn.register("incoming", frame.to_arrow())
                placeholders = ", ".join("?::DATE" for _ in weeks)
                conn.execute(f"DELETE FROM {table} WHERE {PARTITION_COLUMN} IN ({placeholders})", weeks)
                cols = ", ".join(f'"{c}"' for c in frame.columns)
                conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming")
                conn.execute("COMMIT")
            except Exception:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.unregister("incoming")
                if active is not None and schema_changes:
                    active.columns = None  # created or altered (or rolled back): look the schema up again

    @staticmethod
    def _add_missing_columns(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
        # Schemas grow as layers deepen; add new columns instead of failing on old warehouses.
        existing = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
            ).fetchall()
        }
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
            if not self.has_table(table, conn):
                return pl.DataFrame()
            sql = f"SELECT * FROM {table} WHERE {PARTITION_COLUMN} = ?::DATE" + (f" AND ({where})" if where else "")
            return conn.execute(sql, [week_start, *(params or [])]).pl()

    def read_partitions(self, table: str, week_starts: list[str]) -> dict[str, pl.DataFrame]:
        """Rows of several weeks in one query: week_start -> the frame :meth:`read_partition` would return (same
        rows in the same order; a week without rows is an empty frame with the table's columns). Empty frames
        without columns when the table does not exist yet."""
        _check_ident(table)
        weeks = sorted(set(week_starts))
        with self.connect(read_only=True) as conn:
            if not weeks or not self.has_table(table, conn):
                return {w: pl.DataFrame() for w in weeks}
            placeholders = ", ".join("?::DATE" for _ in weeks)
            df = conn.execute(f"SELECT * FROM {table} WHERE {PARTITION_COLUMN} IN ({placeholders})", weeks).pl()
        # partition_by keeps the scan order, so each week's rows come in the order its own query would return them
        groups = df.with_columns(pl.col(PARTITION_COLUMN).cast(pl.Utf8).alias("__week")).partition_by(
            "__week", as_dict=True, maintain_order=True, include_key=False
        )
        empty = df.clear()
        return {w: groups.get((w,), empty) for w in weeks}

    def stored_weeks(self, table: str, week_starts: list[str]) -> set[str]:
        """Which of ``week_starts`` have at least one row in ``table`` (none when the table or the file is absent)."""
        _check_ident(table)
        weeks = sorted(set(week_starts))
        with self.connect(read_only=True) as conn:
            if not weeks or not self.has_table(table, conn):
                return set()
            placeholders = ", ".join("?::DATE" for _ in weeks)
            rows = conn.execute(
                f"SELECT DISTINCT CAST({PARTITION_COLUMN} AS VARCHAR) FROM {table} "
                f"WHERE {PARTITION_COLUMN} IN ({placeholders})",
                weeks,
            ).fetchall()
        return {r[0] for r in rows}

    def partition_cache(self, tables: list[str], week_starts: list[str], chunk_weeks: int = 8) -> PartitionCache:
        """A :class:`PartitionCache` of ``tables`` over ``week_starts``."""
        return PartitionCache(self, tables, week_starts, chunk_weeks)

    def has_table(self, table: str, conn: duckdb.DuckDBPyConnection | None = None) -> bool:
        """Does ``table`` exist? Answered from the session's schema when one is open (no query)."""
        active = self._session()
        if active is not None:
            return table in active.table_columns()
        if conn is not None:
            return self.table_exists(conn, table)
        with self.connect(read_only=True) as own:
            return self.table_exists(own, table)

    def query(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """Run a read-only query with bound parameters (never format untrusted text into ``sql``)."""
        with self.connect(read_only=True) as conn:
            return conn.execute(sql, params or []).pl()

    @staticmethod
    def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
        return bool(
            conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0]
        )

    def row_counts(self) -> dict[tuple[str, str], int]:
        """(table, week_start) -> rows, for every table with a week_start column. Used by tests and checks."""
        out: dict[tuple[str, str], int] = {}
        with self.connect(read_only=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.columns WHERE column_name = ?", [PARTITION_COLUMN]
                ).fetchall()
            ]
            for t in tables:
                _check_ident(t)
                for week, n in conn.execute(
                    f"SELECT CAST({PARTITION_COLUMN} AS VARCHAR), count(*) FROM {t} GROUP BY 1"
                ).fetchall():
                    out[(t, week)] = n
        return out


class PartitionCache:
    """Weeks of a few tables read ahead, a chunk of weeks at a time: one query per table and chunk instead of one per
    table and week, with memory bounded by the chunk (a 52-week backfill never holds all its weeks at once).

    ``get(table, week)`` returns exactly what ``warehouse.read_partition(table, week)`` returns. Only for tables the
    caller does not write while reading (a week written after its chunk was loaded would be missed); a week or table
    outside the cache is read directly.
    """

    def __init__(self, warehouse: Warehouse, tables: list[str], week_starts: list[str], chunk_weeks: int = 8):
        self.warehouse, self.tables = warehouse, list(tables)
        self.weeks = sorted(set(week_starts))
        self.chunk_weeks = max(1, chunk_weeks)
        self._chunk_of = {w: i // self.chunk_weeks for i, w in enumerate(self.weeks)}
        self._current: int | None = None
        self._frames: dict[tuple[str, str], pl.DataFrame] = {}

    def get(self, table: str, week_start: str) -> pl.DataFrame:
        chunk = self._chunk_of.get(week_start)
        if chunk is None or table not in self.tables:
            return self.warehouse.read_partition(table, week_start)
        if chunk != self._current:
            weeks = self.weeks[chunk * self.chunk_weeks : (chunk + 1) * self.chunk_weeks]
            self._frames = {}
            self._current = None
            with self.warehouse.session(read_only=True):
                for t in self.tables:
                    for w, df in self.warehouse.read_partitions(t, weeks).items():
                        self._frames[(t, w)] = df
            self._current = chunk
        return self._frames[(table, week_start)]
