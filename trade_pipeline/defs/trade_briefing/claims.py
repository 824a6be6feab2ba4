"""Claims: every figure the report prints, recorded with the table/row/column it came from, and the check.

While rendering, :class:`ClaimRecorder` formats each figure (through ``core.formatting``) and records
``(claim_text, table_name, row_key, column_name, value, format_kind)``. The claim check then

1. finds every figure in the rendered markdown (identifiers, dates and numbering excluded, see ``markdown.py``)
   and fails on any figure that no recorded claim formats to (an *orphan*), and
2. re-reads every claim from DuckDB by its row key and fails when the stored value no longer formats to the
   printed text (a claim that does not trace to the warehouse).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl
from markupsafe import Markup

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import MISSING, format_as
from trade_pipeline.defs.trade_briefing.markdown import find_figures, md_escape, md_list, number_tokens

CLAIMS_TABLE = contract.BRIEFING_CLAIMS
TEXT_KIND = "md_text"
LIST_KIND = "md_list"
TEXT_KINDS = {TEXT_KIND: md_escape, LIST_KIND: md_list}

#: Tables a claim may point at (the contract in docs/TABLES.md). Anything else is refused by the check.
SOURCE_TABLES = contract.SOURCE_TABLES

#: Method constants printed in the report (HHI bands of the US DOJ/FTC merger guidelines, used by the Comtrade layer).
METHODOLOGY_TABLE = "methodology"
METHODOLOGY: dict[str, dict[str, float]] = {
    "hhi_levels": {"low_below": contract.HHI_LOW_BELOW, "high_above": contract.HHI_HIGH_ABOVE},
}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_AGGREGATES = {"count(*)": "count(*)"}
_COUNT_DISTINCT = re.compile(r"^count\(distinct ([a-z_][a-z0-9_]*)\)$")

CLAIMS_SCHEMA = {
    "iso_week": pl.Utf8, "claim_text": pl.Utf8, "table_name": pl.Utf8, "row_key": pl.Utf8,
    "column_name": pl.Utf8, "value": pl.Float64, "format_kind": pl.Utf8, "text_value": pl.Utf8,
}


def _jsonable(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()[:10] if isinstance(v, date) and not isinstance(v, datetime) else v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


@dataclass
class ClaimRecorder:
    """Formats figures for the templates and remembers where each came from."""

    iso_week: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def _record(self, text: str, table: str, row_key: dict[str, Any], column: str, value: float | None,
                kind: str, text_value: str | None = None) -> None:
        self.rows.append({
            "iso_week": self.iso_week, "claim_text": text, "table_name": table,
            "row_key": json.dumps(_jsonable(row_key), ensure_ascii=False, sort_keys=True),
            "column_name": column, "value": value, "format_kind": kind, "text_value": text_value,
        })

    def figure(self, kind: str, value: Any, table: str, row_key: dict[str, Any], column: str) -> Markup:
        """Format ``value`` (a cell of ``table`` at ``row_key``) and record the claim. Missing prints '--'."""
        if _is_missing(value):
            return Markup(MISSING)
        value = float(value)
        text = format_as(kind, value)
        self._record(text, table, row_key, column, value, kind)
        return Markup(text)

    def cell(self, kind: str, table: str, row: dict[str, Any], keys: tuple[str, ...], column: str) -> Markup:
        """A figure straight from a row read out of ``table`` (the row carries its ``week_start``)."""
        row_key = {"week_start": row["week_start"], **{k: row[k] for k in keys}}
        return self.figure(kind, row.get(column), table, row_key, column)

    def count(self, n: int, table: str, row_key: dict[str, Any], distinct: str | None = None) -> Markup:
        column = f"count(distinct {distinct})" if distinct else "count(*)"
        return self.figure("count", n, table, row_key, column)

    def constant(self, kind: str, group: str, name: str) -> Markup:
        return self.figure(kind, METHODOLOGY[group][name], METHODOLOGY_TABLE, {"group": group}, name)

    def text(self, value: Any, table: str, row: dict[str, Any], keys: tuple[str, ...], column: str,
             kind: str = TEXT_KIND) -> Markup:
        """Escaped data text (``md_list`` prints a ';'-joined list with '、'). Recorded only when it contains
        digits, so the check reads them as data text rather than as figures."""
        if value is None or str(value).strip() == "":
            return Markup(MISSING)
        escaped = TEXT_KINDS[kind](value)
        if any(ch.isdigit() for ch in escaped):
            row_key = {"week_start": row["week_start"], **{k: row[k] for k in keys}}
            self._record(escaped, table, row_key, column, None, kind, text_value=str(value))
        return Markup(escaped)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=CLAIMS_SCHEMA)


# --- the check -----------------------------------------------------------------------------------------------------

@dataclass
class ClaimCheckOutcome:
    figures: int
    orphans: list[dict[str, Any]]
    broken_claims: list[dict[str, Any]]

    @property
    def passed(self) -> bool:
        return not self.orphans and not self.broken_claims


def find_orphans(body: str, claims: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """Figures in ``body`` that no recorded claim formats to."""
    allowed: set[str] = set()
    texts: list[str] = []
    for c in claims:
        if c["format_kind"] in TEXT_KINDS:
            texts.append(c["claim_text"])
            continue
        # A claim counts only if its own value still formats to the text it says was printed.
        if c["value"] is not None and format_as(c["format_kind"], c["value"]) == c["claim_text"]:
            allowed.update(number_tokens(c["claim_text"]))
    figures = find_figures(body, texts)
    orphans = [{"line": ln, "figure": tok, "text": line.strip()[:160]} for ln, tok, line in figures if tok not in allowed]
    return len(figures), orphans


def _where(row_key: dict[str, Any]) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for k in sorted(row_key):
        if not _IDENT.match(k):
            raise ValueError(f"row key column {k!r} is not a plain identifier")
        v = row_key[k]
        col = f'"{k}"'
        if isinstance(v, dict):
            (op, arg), = v.items()
            if op == "between":
                clauses.append(f"{col} BETWEEN ? AND ?")
                params += [arg[0], arg[1]]
            elif op == "ne":
                clauses.append(f"{col} <> ?")
                params.append(arg)
            else:
                raise ValueError(f"unknown row key operator {op!r}")
        elif isinstance(v, list):
            clauses.append(f"{col} IN ({', '.join('?' for _ in v)})")
            params += v
        elif v is None:
            clauses.append(f"{col} IS NULL")
        else:
            clauses.append(f"{col} = ?")
            params.append(v)
    return (" AND ".join(clauses) or "TRUE"), params


def _select_expr(column: str) -> str:
    if column in _AGGREGATES:
        return _AGGREGATES[column]
    m = _COUNT_DISTINCT.match(column)
    if m:
        return f'count(DISTINCT "{m.group(1)}")'
    if not _IDENT.match(column):
        raise ValueError(f"column {column!r} is not a plain identifier")
    return f'"{column}"'


def _table_exists(conn: duckdb.DuckDBPyConnection, table: str, tables: dict[str, bool] | None) -> bool:
    exists = tables.get(table) if tables is not None else None
    if exists is None:
        exists = bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                   [table]).fetchone()[0])
        if tables is not None:
            tables[table] = exists
    return exists


def _judge(claim: dict[str, Any], rows: list[tuple]) -> tuple[bool, str]:
    """Does the stored value (``rows``: what the claim's row key selected) still format to the printed text?"""
    if len(rows) != 1:
        return False, f"row key matches {len(rows)} rows"
    stored = rows[0][0]
    if claim["format_kind"] in TEXT_KINDS:
        return (stored is not None and TEXT_KINDS[claim["format_kind"]](stored) == claim["claim_text"]), "stored text differs"
    if _is_missing(stored):
        return False, "stored value is NULL"
    return format_as(claim["format_kind"], float(stored)) == claim["claim_text"], (
        f"stored value {stored!r} formats to {format_as(claim['format_kind'], float(stored))!r}")


def resolve_claim(conn: duckdb.DuckDBPyConnection, claim: dict[str, Any],
                  tables: dict[str, bool] | None = None) -> tuple[bool, str]:
    """Re-read one claim's source value; (ok, reason). ``tables`` memoizes which tables exist (one check's claims
    ask about the same dozen tables, and the warehouse does not change while the check reads it)."""
    table, column = claim["table_name"], claim["column_name"]
    row_key = json.loads(claim["row_key"])
    if table == METHODOLOGY_TABLE:
        value = METHODOLOGY.get(row_key.get("group", ""), {}).get(column)
        if value is None:
            return False, "unknown methodology constant"
        return format_as(claim["format_kind"], value) == claim["claim_text"], "methodology constant differs"
    if table not in SOURCE_TABLES:
        return False, f"table {table!r} is not a source table"
    if not _table_exists(conn, table, tables):
        return False, f"table {table} does not exist"
    where, params = _where(row_key)
    rows = conn.execute(f"SELECT {_select_expr(column)} FROM {table} WHERE {where}", params).fetchall()
    return _judge(claim, rows)


def _resolve_one(conn: duckdb.DuckDBPyConnection, claim: dict[str, Any], tables: dict[str, bool]) -> tuple[bool, str]:
    try:
        return resolve_claim(conn, claim, tables)
    except (duckdb.Error, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


def resolve_claims(conn: duckdb.DuckDBPyConnection, claims: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    """:func:`resolve_claim` for every claim, same answers, in a few queries instead of one (plus a table lookup)
    per claim: the claims reading the same column of the same table are re-read by ONE query, a ``UNION ALL`` of
    exactly the per-claim queries (same WHERE, same bound parameters), each branch tagged with its claim's position,
    and each claim is judged on the rows its own branch returned. A group whose query fails is resolved claim by
    claim, so an error names its own claim as before."""
    tables: dict[str, bool] = {}
    results: list[tuple[bool, str] | None] = [None] * len(claims)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(claims):
        if c["table_name"] in SOURCE_TABLES and c["table_name"] != METHODOLOGY_TABLE:
            groups.setdefault((c["table_name"], c["column_name"]), []).append(i)
        else:
            results[i] = _resolve_one(conn, c, tables)
    for (table, column), members in groups.items():
        try:
            if not _table_exists(conn, table, tables):
                raise LookupError(table)
            branches, params = [], []
            for n, i in enumerate(members):
                where, p = _where(json.loads(claims[i]["row_key"]))
                branches.append(f"SELECT {n} AS claim_no, {_select_expr(column)} AS v FROM {table} WHERE {where}")
                params += p
            found: dict[int, list[tuple]] = {n: [] for n in range(len(members))}
            for n, value in conn.execute(" UNION ALL ".join(branches), params).fetchall():
                found[n].append((value,))
        except (duckdb.Error, ValueError, LookupError):
            for i in members:
                results[i] = _resolve_one(conn, claims[i], tables)
            continue
        for n, i in enumerate(members):
            try:
                results[i] = _judge(claims[i], found[n])
            except (duckdb.Error, ValueError) as exc:
                results[i] = (False, f"{type(exc).__name__}: {exc}")
    return [r for r in results if r is not None]


def verify_claims(body: str, claims: list[dict[str, Any]], conn: duckdb.DuckDBPyConnection) -> ClaimCheckOutcome:
    n, orphans = find_orphans(body, claims)
    broken = []
    for c, (ok, reason) in zip(claims, resolve_claims(conn, claims)):
        if not ok:
            broken.append({"claim": c["claim_text"], "table": c["table_name"], "row_key": c["row_key"],
                           "column": c["column_name"], "reason": reason})
    return ClaimCheckOutcome(figures=n, orphans=orphans, broken_claims=broken)
