"""Effective review flags: a row's own flags plus the QUALITY flags of every upstream row it is computed from.

The lineage is declared once in :data:`trade_pipeline.core.contract.LINEAGE`; this module resolves it for a set of
weeks with one query per table and declared edge (all weeks at once), straight on the warehouse: the upstream tables
are never loaded into Python, and only flagged rows come back. An upstream table that has lineage of its own is
resolved first and joined as a registered frame, so flags travel any number of steps. NOTICE flags (a genuine
swing, an immediate control) stay on their own row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb
import polars as pl

from trade_pipeline.core import contract

FLAGS_COLUMN = "review_flags"
#: (week_start ISO, *values of contract.TABLE_KEYS[table]) -> effective flag codes; rows without flags are absent
FlagMap = dict[tuple, tuple[str, ...]]


def _week(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


class LineageResolver:
    """Effective flags of the rows of some weeks, resolved per table on first use and kept for the resolver's life
    (one read of those weeks: build one per run step, not per process)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, week_starts: Iterable[str]):
        self.conn = conn
        self.weeks = sorted({_week(w) for w in week_starts if w})
        self._maps: dict[str, FlagMap] = {}
        self._cols: dict[str, set[str]] | None = None

    def _columns(self, table: str) -> set[str]:
        if self._cols is None:
            cols: dict[str, set[str]] = {}
            for t, c in self.conn.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall():
                cols.setdefault(t, set()).add(c)
            self._cols = cols
        return self._cols.get(table, set())

    def flags(self, table: str) -> FlagMap:
        if table not in self._maps:
            self._maps[table] = self._resolve(table, set())
        return self._maps[table]

    def row_flags(self, table: str, row: dict, week: str | None = None) -> tuple[str, ...]:
        """Effective flags of one row (it carries the table's key columns, and its week_start unless ``week``)."""
        key = (week or _week(row.get("week_start")), *(row.get(k) for k in contract.TABLE_KEYS[table]))
        return self.flags(table).get(key, ())

    def _in_weeks(self, alias: str) -> tuple[str, list[str]]:
        return f"{alias}.week_start IN ({', '.join('?::DATE' for _ in self.weeks)})", list(self.weeks)

    def _resolve(self, table: str, visiting: set[str]) -> FlagMap:
        if table in visiting:
            raise ValueError(f"lineage cycle through {table}")
        cols = self._columns(table)
        if not cols or not self.weeks:
            return {}
        keys = contract.TABLE_KEYS[table]
        out: dict[tuple, list[str]] = {}
        if FLAGS_COLUMN in cols:
            key_sql = "".join(f', d."{k}"' for k in keys)
            where, params = self._in_weeks("d")
            for row in self.conn.execute(
                f'SELECT CAST(d.week_start AS VARCHAR){key_sql}, d."{FLAGS_COLUMN}" FROM {table} d '
                f"WHERE {where} AND coalesce(d.\"{FLAGS_COLUMN}\", '') <> ''",
                params,
            ).fetchall():
                out[tuple(row[:-1])] = contract.split_flags(row[-1])
        for edge in (e for e in contract.LINEAGE if e.table == table):
            for key, codes in self._upstream(edge, keys, visiting | {table}).items():
                bucket = out.setdefault(key, [])
                bucket += [c for c in contract.quality_flags(codes) if c not in bucket]
        return {k: tuple(v) for k, v in out.items() if v}

    def _upstream(self, edge: contract.Lineage, keys: tuple[str, ...], visiting: set[str]) -> dict[tuple, list[str]]:
        """Derived row key -> flags found on its upstream rows (quality filtering is the caller's)."""
        up_cols = self._columns(edge.upstream)
        chained = any(e.table == edge.upstream for e in contract.LINEAGE)
        if not up_cols or (FLAGS_COLUMN not in up_cols and not chained):
            return {}
        d_keys = "".join(f', d."{k}"' for k in keys)
        on = "".join(f' AND d."{dc}" = u."{uc}"' for dc, uc in edge.on)
        cond = f" AND ({edge.where})" if edge.where else ""
        d_where, d_params = self._in_weeks("d")
        u_where, u_params = self._in_weeks("u")
        name = f"__eff_{edge.upstream}"
        if chained:
            # flags that reached the upstream rows from further up: join its resolved map as a frame
            up_keys = contract.TABLE_KEYS[edge.upstream]
            resolved = self._maps.get(edge.upstream)
            if resolved is None:
                resolved = self._maps[edge.upstream] = self._resolve(edge.upstream, visiting)
            if not resolved:
                return {}
            frame = pl.DataFrame(
                {
                    "__week": [k[0] for k in resolved],
                    **{k: [key[i + 1] for key in resolved] for i, k in enumerate(up_keys)},
                    "__flags": [";".join(v) for v in resolved.values()],
                }
            )
            self.conn.register(name, frame.to_arrow())
            join = "".join(f' AND u."{k}" = e."{k}"' for k in up_keys)
            source = (
                f"(SELECT u.*, e.__flags AS __f FROM {edge.upstream} u JOIN {name} e "
                f"ON CAST(u.week_start AS VARCHAR) = e.__week{join} WHERE {u_where})"
            )
        else:
            source = (
                f'(SELECT *, "{FLAGS_COLUMN}" AS __f FROM {edge.upstream} u WHERE {u_where} '
                f"AND coalesce(\"{FLAGS_COLUMN}\", '') <> '')"
            )
        sql = (
            f"SELECT CAST(d.week_start AS VARCHAR){d_keys}, string_agg(DISTINCT u.__f, ';') "
            f"FROM {edge.table} d JOIN {source} u ON d.week_start = u.week_start{on}{cond} "
            f"WHERE {d_where} GROUP BY ALL"
        )
        try:
            rows = self.conn.execute(sql, u_params + d_params).fetchall()
        finally:
            if chained:
                self.conn.unregister(name)
        return {tuple(r[:-1]): contract.split_flags(r[-1]) for r in rows}
