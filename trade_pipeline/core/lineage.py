"""Effective review flags: a row's own flags plus the QUALITY flags of every upstream row it is computed from.

The lineage is declared once in :data:`trade_pipeline.core.contract.LINEAGE`; this module resolves it for one week
with one query per declared edge, straight on the warehouse (the upstream tables are never loaded into Python). An
upstream table that has lineage of its own is resolved first and joined as a registered frame, so flags travel any
number of steps. NOTICE flags (a genuine swing, an immediate control) stay on their own row.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import polars as pl

from trade_pipeline.core import contract

FLAGS_COLUMN = "review_flags"
#: key tuple (values of contract.TABLE_KEYS[table], in order) -> effective flag codes
FlagMap = dict[tuple, tuple[str, ...]]


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()]


def _key_tuple(row: tuple, n: int) -> tuple:
    return tuple(row[:n])


class LineageResolver:
    """Effective flags of the rows of one week, memoized per table for the resolver's life (one week's read)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, week_start: str):
        self.conn, self.week = conn, week_start
        self._maps: dict[str, FlagMap] = {}
        self._cols: dict[str, list[str]] = {}

    def columns(self, table: str) -> list[str]:
        if table not in self._cols:
            self._cols[table] = _columns(self.conn, table)
        return self._cols[table]

    def flags(self, table: str) -> FlagMap:
        """key tuple -> effective flags (own, then upstream quality flags), for every row of ``table`` this week."""
        if table not in self._maps:
            self._maps[table] = self._resolve(table, set())
        return self._maps[table]

    def row_flags(self, table: str, row: dict) -> tuple[str, ...]:
        keys = contract.TABLE_KEYS[table]
        return self.flags(table).get(tuple(row.get(k) for k in keys), ())

    def _resolve(self, table: str, visiting: set[str]) -> FlagMap:
        if table in visiting:
            raise ValueError(f"lineage cycle through {table}")
        cols = self.columns(table)
        if not cols:
            return {}
        keys = contract.TABLE_KEYS[table]
        key_sql = ", ".join(f'"{k}"' for k in keys) or "NULL"
        own = f'"{FLAGS_COLUMN}"' if FLAGS_COLUMN in cols else "''"
        out: dict[tuple, list[str]] = {}
        for row in self.conn.execute(f"SELECT {key_sql}, {own} FROM {table} WHERE week_start = ?::DATE",
                                     [self.week]).fetchall():
            key = _key_tuple(row, len(keys))
            out.setdefault(key, [])
            for code in contract.split_flags(row[-1]):
                if code not in out[key]:
                    out[key].append(code)
        for edge in (e for e in contract.LINEAGE if e.table == table):
            for key, codes in self._upstream(edge, keys, visiting | {table}).items():
                bucket = out.setdefault(key, [])
                for code in contract.quality_flags(codes):
                    if code not in bucket:
                        bucket.append(code)
        return {k: tuple(v) for k, v in out.items()}

    def _upstream(self, edge: contract.Lineage, keys: tuple[str, ...], visiting: set[str]) -> dict[tuple, list[str]]:
        """Derived row key -> flags found on its upstream rows (quality filtering is the caller's)."""
        up_cols = self.columns(edge.upstream)
        if not up_cols or (FLAGS_COLUMN not in up_cols and not any(e.table == edge.upstream for e in contract.LINEAGE)):
            return {}
        d_keys = ", ".join(f'd."{k}"' for k in keys) or "NULL"
        on = " AND ".join(f'd."{dc}" = u."{uc}"' for dc, uc in edge.on)
        cond = f" AND ({edge.where})" if edge.where else ""
        upstream_has_lineage = any(e.table == edge.upstream for e in contract.LINEAGE)
        if upstream_has_lineage:
            # flags that travelled to the upstream rows from further up: join its resolved map as a frame
            up_keys = contract.TABLE_KEYS[edge.upstream]
            resolved = self._maps.get(edge.upstream) or self._resolve(edge.upstream, visiting)
            self._maps[edge.upstream] = resolved
            frame = pl.DataFrame({**{k: [key[i] for key in resolved] for i, k in enumerate(up_keys)},
                                  "__flags": [";".join(v) for v in resolved.values()]})
            name = f"__eff_{edge.upstream}"
            self.conn.register(name, frame.to_arrow())
            join_keys = " AND ".join(f'u."{k}" = e."{k}"' for k in up_keys)
            source = (f"(SELECT u.*, e.__flags AS __f FROM {edge.upstream} u JOIN {name} e ON {join_keys} "
                      f"WHERE u.week_start = ?::DATE)")
            params = [self.week, self.week]
        else:
            source = f"(SELECT *, \"{FLAGS_COLUMN}\" AS __f FROM {edge.upstream} WHERE week_start = ?::DATE)"
            params = [self.week, self.week]
        sql = (f"SELECT {d_keys}, string_agg(DISTINCT u.__f, ';') FROM {edge.table} d JOIN {source} u "
               f"ON {on}{cond} WHERE d.week_start = ?::DATE AND u.__f IS NOT NULL AND u.__f <> '' "
               f"GROUP BY ALL")
        try:
            rows = self.conn.execute(sql, params).fetchall()
        finally:
            if upstream_has_lineage:
                self.conn.unregister(f"__eff_{edge.upstream}")
        return {_key_tuple(r, len(keys)): contract.split_flags(r[-1]) for r in rows}


def resolve_weeks(conn: duckdb.DuckDBPyConnection, week_starts: Iterable[str]) -> dict[str, LineageResolver]:
    return {w: LineageResolver(conn, w) for w in week_starts}
