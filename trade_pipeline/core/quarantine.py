"""Quarantine: rows rejected (or repaired, or collapsed) at a parse boundary are kept, never dropped silently.

Every source's parser that refuses a wire row builds a :class:`Quarantined` item for it: the source, the request it
answered (the capture/replay request key: method + URL + sorted parameters, keys removed), the row exactly as received
(JSON text), a registered reason code (``contract.QUARANTINE_REASONS``) with a sentence saying what was wrong, and
the *group* the row belonged to — the table and key columns of the stored rows whose figures it would have been part
of (e.g. ``comtrade_partner_flows`` / ``{"reporter_code": 842, "flow": "X", "year": 2024}``).

How the rows reach the warehouse (DuckDB takes one writer; each asset replaces its own week):

1. each fetching asset writes its items for each week to its own staging table with :func:`write_staging`
   (``quarantine_staging_<asset>``, delete + insert of the week like any table, an empty week included, so a clean
   re-run clears old items);
2. the ``quarantined_rows`` asset (``defs/data_quality``) depends on every asset of
   ``contract.QUARANTINE_CONTRIBUTORS``, unions their staging rows of the week into ``quarantined_rows`` and shows
   per week, source and reason how many rows were quarantined (asset checks + metadata).

Flags: the group of every ``rejected`` or ``repaired`` item gets the QUALITY flag ``quarantined_rows`` on its stored
rows (the fetching asset does this with :func:`flag_groups` or its own vectorized join), so every figure computed from
the group is flagged. A ``collapsed`` item (an exact duplicate whose twin was kept) changes no figure and flags
nothing; it is the trace of the row that was not stored twice.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import polars as pl

from trade_pipeline.core import contract

REJECTED = "rejected"  # the row was not used
REPAIRED = "repaired"  # the row was kept with the offending field set NULL (or taken from another source), flagged
COLLAPSED = "collapsed"  # an exact duplicate of a kept row; nothing changed, nothing flagged
ACTIONS = (REJECTED, REPAIRED, COLLAPSED)
FLAGGING_ACTIONS = frozenset({REJECTED, REPAIRED})
FLAG = "quarantined_rows"
MAX_ROW_JSON_CHARS = 20_000  # a whole unreadable reply is kept up to this many characters (the capture holds it all)

SCHEMA: dict[str, pl.DataType] = {
    "source": pl.Utf8,  # 'comtrade' / 'census' / 'mofcom'
    "asset": pl.Utf8,  # the fetching asset that rejected the row
    "request": pl.Utf8,  # request key: METHOD url?sorted params (API keys removed) — finds the capture
    "request_id": pl.Utf8,
    "fetched_at": pl.Utf8,
    "row_index": pl.Int64,  # position of the row in the reply (NULL for a whole reply)
    "row_json": pl.Utf8,  # the row as received (JSON text; number literals kept as sent, e.g. 1e400)
    "reason_code": pl.Utf8,  # contract.QUARANTINE_REASONS
    "reason": pl.Utf8,  # what was wrong, in words (field, value received, value expected)
    "action": pl.Utf8,  # rejected / repaired / collapsed
    "group_table": pl.Utf8,  # the stored table whose group the row belonged to
    "group_key": pl.Utf8,  # JSON object of that group's key columns, sorted keys
    "flag": pl.Utf8,  # flag put on the group's rows ('' for collapsed)
}


class WireNumber(str):
    """A JSON number literal that float64 cannot hold (``1e400``, ``NaN``, ``Infinity``), kept as the text received.

    Parsers that read JSON with :func:`loads_keeping_literals` get this instead of ``inf``/``nan``: validation sees a
    number that is not finite, and :func:`row_json` writes it back unquoted, exactly as it came."""

    @property
    def value(self) -> float:
        text = str(self).strip()
        try:
            return float(text)
        except ValueError:
            return math.nan


def _parse_float(text: str) -> float | WireNumber:
    value = float(text)
    return value if math.isfinite(value) else WireNumber(text)


def loads_keeping_literals(text: str | bytes) -> object:
    """``json.loads`` that keeps non-finite number literals (``1e400``, ``NaN``, ``-Infinity``) as :class:`WireNumber`."""
    return json.loads(text, parse_float=_parse_float, parse_constant=WireNumber)


_MARK = "\u2063wire-number:"  # invisible separator: never part of a wire number literal
_MARKED_RE = re.compile('"' + _MARK + r'([^"]*)"')


def _marked(value: object) -> object:
    if isinstance(value, WireNumber):
        return _MARK + str(value)
    if isinstance(value, dict):
        return {str(k): _marked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_marked(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return _MARK + repr(value)
    return value


def row_json(row: object) -> str:
    """The row as JSON text: key order as received, non-ASCII kept, wire number literals unquoted as sent."""
    text = _MARKED_RE.sub(lambda m: m.group(1), json.dumps(_marked(row), ensure_ascii=False, default=str))
    return text if len(text) <= MAX_ROW_JSON_CHARS else text[:MAX_ROW_JSON_CHARS] + "…[cut]"


def group_key(group: Mapping[str, object]) -> str:
    return json.dumps({str(k): group[k] for k in sorted(group)}, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Quarantined:
    """One quarantined wire row (or a whole reply that could not be read)."""

    source: str
    request: str
    row: object  # the row as received (dict, list, or the reply's text)
    reason_code: str
    reason: str
    group_table: str
    group: Mapping[str, object] = field(default_factory=dict)
    action: str = REJECTED
    row_index: int | None = None
    request_id: str = ""
    fetched_at: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"quarantine action must be one of {ACTIONS}, got {self.action!r}")
        if self.reason_code not in contract.QUARANTINE_REASONS:
            raise ValueError(
                f"unregistered quarantine reason {self.reason_code!r} (add it to contract.QUARANTINE_REASONS)"
            )

    @property
    def flags_group(self) -> bool:
        return self.action in FLAGGING_ACTIONS

    def record(self, asset: str) -> dict:
        return {
            "source": self.source,
            "asset": asset,
            "request": self.request,
            "request_id": self.request_id or "",
            "fetched_at": self.fetched_at or "",
            "row_index": self.row_index,
            "row_json": self.row if isinstance(self.row, str) and self.row_index is None else row_json(self.row),
            "reason_code": self.reason_code,
            "reason": self.reason,
            "action": self.action,
            "group_table": self.group_table,
            "group_key": group_key(self.group),
            "flag": FLAG if self.flags_group else "",
        }


def frame(items: Iterable[Quarantined], asset: str) -> pl.DataFrame:
    """The staging rows of ``items`` (one asset's, one week's), in a stable order."""
    records = [q.record(asset) for q in items]
    if not records:
        return pl.DataFrame(schema=SCHEMA)
    df = pl.DataFrame(records, schema=SCHEMA, orient="row")
    return df.sort(["source", "request", "row_index", "reason_code", "row_json"], nulls_last=True)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def write_staging(warehouse, asset: str, frames: Mapping[str, pl.DataFrame]) -> None:  # noqa: ANN001 - Warehouse
    """Replace the weeks of ``asset``'s staging table (week → :func:`frame`); empty weeks are written too, so a
    re-run without rejections clears what an earlier run had quarantined."""
    if asset not in contract.QUARANTINE_CONTRIBUTORS:
        raise ValueError(
            f"{asset!r} is not in contract.QUARANTINE_CONTRIBUTORS: the quarantined_rows asset would "
            "never read its staging table"
        )
    warehouse.replace_partitions(
        contract.quarantine_staging_table(asset),
        {k: (f if f.height else empty()).select(list(SCHEMA)) for k, f in frames.items()},
    )


def flagged_group_keys(items: Iterable[Quarantined], table: str, columns: Iterable[str]) -> set[tuple]:
    """Key tuples (in ``columns`` order) of the groups of ``table`` that rejected/repaired items belong to. A group
    value that is a list (a request that asked for several years or flows) stands for each of its values."""
    cols = list(columns)
    out = set()
    for q in items:
        if q.flags_group and q.group_table == table and all(c in q.group for c in cols):
            values = [v if isinstance(v, (list, tuple)) else [v] for v in (q.group[c] for c in cols)]
            out.update(itertools.product(*values))
    return out


def flag_groups(
    df: pl.DataFrame, groups: set[tuple], columns: Iterable[str], flag: str = FLAG, flags_column: str = "review_flags"
) -> pl.DataFrame:
    """``df`` with ``flag`` added to ``flags_column`` of every row whose ``columns`` are one of ``groups``."""
    cols = list(columns)
    if not groups or df.is_empty():
        return df
    keys = (
        pl.DataFrame([dict(zip(cols, g)) for g in groups])
        .with_columns(pl.col(c).cast(df.schema[c]) for c in cols)
        .unique()
        .with_columns(_hit=pl.lit(True))
    )
    joined = df.join(keys, on=cols, how="left", maintain_order="left")
    current = pl.col(flags_column).fill_null("")
    return (
        joined.with_columns(
            pl.when(pl.col("_hit").fill_null(False))
            .then(pl.concat_str([current, pl.lit(flag)], separator=";").str.strip_chars(";"))
            .otherwise(current)
            .alias(flags_column)
        )
        .drop("_hit")
        .with_columns(_sorted_flags(pl.col(flags_column)).alias(flags_column))
    )


def _sorted_flags(expr: pl.Expr) -> pl.Expr:
    return (
        expr.fill_null("")
        .str.split(";")
        .list.eval(pl.element().filter(pl.element() != "").unique().sort())
        .list.join(";")
    )
