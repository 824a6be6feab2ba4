"""Facts: every statement the report can make, as data.

A :class:`Fact` is one value in one *slot* (a stable dotted name such as ``concentration.156.hhi``), with how it is
printed (its format kind), the layer cell it comes from (table, row key, column), the rows it was chosen among or
computed over (``depends_on``) and its effective review flags (the source row's own flags, the QUALITY flags of its
upstream rows by lineage, and the QUALITY flags of every row it depends on).

The facts of a week are built once (``briefing_facts`` asset), stored flat (one row per slot, in order), and read
back as a :class:`FactTree` for the templates: slots are paths, so ``exports.842.top.1.value`` is
``tree.exports["842"].top["1"].value``. Templates only choose wording and print facts; they never compute.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from trade_pipeline.core import contract
from trade_pipeline.core.lineage import LineageResolver

#: Format kinds of printed figures (core.formatting.FORMATTERS) — printed with a claim, checked by verify.
FIGURE_KINDS = frozenset({"usd", "usd_amount", "signed_usd", "usd_signed", "pct", "signed_pct", "hhi", "count", "int"})
#: Printed data text (escaped) and identifiers — printed with a claim, checked by verify.
TEXT_KINDS = frozenset({"md_text", "md_list", "md_span"})  # md_span: a piece of running text, edge spaces kept
ID_KINDS = frozenset({"code", "year", "month", "date"})
#: Structural facts: never printed; they decide wording (a tag, a yes/no, an enum).
STRUCT_KINDS = frozenset({"bool", "enum"})
KINDS = FIGURE_KINDS | TEXT_KINDS | ID_KINDS | STRUCT_KINDS

FACTS_SCHEMA = {
    "seq": pl.Int32,
    "slot": pl.Utf8,
    "kind": pl.Utf8,
    "value": pl.Float64,
    "text_value": pl.Utf8,
    "source_table": pl.Utf8,
    "source_row_key": pl.Utf8,
    "source_column": pl.Utf8,
    "depends_on": pl.Utf8,
    "review_flags": pl.Utf8,
}


def _json_default(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    raise TypeError(f"not JSON serializable: {type(v).__name__}")


#: json.dumps(v, ensure_ascii=False, sort_keys=True, default=_json_default), without building an encoder per call
#: (a stateless, immutable configuration — the same text)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=_json_default)


def dumps(v: Any) -> str:
    return _ENCODER.encode(v)


@dataclass(frozen=True)
class Fact:
    slot: str
    kind: str
    value: float | None = None
    text: str | None = None
    source_table: str | None = None
    source_key: str | None = None  # JSON row key (week_start + contract.TABLE_KEYS) or a filter for aggregates
    source_column: str | None = None
    depends_on: str = "[]"  # JSON list of [table, key columns, [key values of each row]]
    flags: tuple[str, ...] = ()

    @property
    def missing(self) -> bool:
        return self.value is None and self.text is None

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def __bool__(self) -> bool:  # templates: {% if fact %} = "is there something to say"
        if self.kind == "bool":
            return bool(self.value)
        return not self.missing

    def __str__(self) -> str:  # never printed raw: the renderer formats facts (this is for logs and errors)
        return f"<fact {self.slot}={self.text if self.text is not None else self.value}>"

    @property
    def enum(self) -> str | None:
        return self.text

    def as_row(self, seq: int) -> dict[str, Any]:
        return {
            "seq": seq,
            "slot": self.slot,
            "kind": self.kind,
            "value": self.value,
            "text_value": self.text,
            "source_table": self.source_table,
            "source_row_key": self.source_key,
            "source_column": self.source_column,
            "depends_on": self.depends_on,
            "review_flags": ";".join(self.flags),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Fact:
        return cls(
            slot=row["slot"],
            kind=row["kind"],
            value=row["value"],
            text=row["text_value"],
            source_table=row["source_table"],
            source_key=row["source_row_key"],
            source_column=row["source_column"],
            depends_on=row["depends_on"] or "[]",
            flags=tuple(contract.split_flags(row["review_flags"])),
        )

    def same_as(self, other: Fact) -> bool:
        """Same statement: slot, kind, value/text, source cell and flags (what verify compares)."""
        return (
            self.slot,
            self.kind,
            self.text,
            self.source_table,
            self.source_key,
            self.source_column,
            self.flags,
        ) == (
            other.slot,
            other.kind,
            other.text,
            other.source_table,
            other.source_key,
            other.source_column,
            other.flags,
        ) and _same_number(self.value, other.value)


def _same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9))


class _Absent:
    """What a template gets for a slot the week has no fact for: false, empty, and never printable."""

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str) -> _Absent:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> _Absent:
        return self

    def __contains__(self, key: Any) -> bool:
        return False

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def nodes(self) -> list[Any]:
        return []

    def items(self) -> list[Any]:
        return []

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


class FactTree(dict):
    """A node of the slot tree: child name -> FactTree or Fact, in insertion order. Attribute access for templates;
    a child the week has no fact for is :data:`ABSENT` (false, empty)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name, ABSENT)

    def __missing__(self, key: str) -> Any:
        return ABSENT

    def nodes(self) -> list[Any]:
        """Children in order (lists are stored as numbered children '1', '2', …)."""
        return list(self.values())

    def get_path(self, path: str) -> Any:
        node: Any = self
        for part in path.split("."):
            if not isinstance(node, FactTree) or part not in node:
                return ABSENT
            node = node[part]
        return node


def build_tree(facts: Iterable[Fact]) -> FactTree:
    root = FactTree()
    for f in facts:
        parts = f.slot.split(".")
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, FactTree):
                child = FactTree()
                node[part] = child
            node = child
        node[parts[-1]] = f
    return root


_RESERVED = frozenset(n for n in dir(dict) if not n.startswith("_")) | {"nodes", "get_path"}


@dataclass
class FactBook:
    """Collects a week's facts while the builders run; flags come from the week's lineage resolver."""

    week_start: str
    #: effective flags of the rows of this week and of the weeks it compares with (None: the rows' own flags)
    lineage: LineageResolver | None = None
    facts: dict[str, Fact] = field(default_factory=dict)
    #: ISO text of the few week dates the rows carry (this book's rows only)
    _iso: dict[date, str] = field(default_factory=dict, repr=False)

    # --- row identity and flags -------------------------------------------------------------------------------
    def _week_of(self, row: dict[str, Any]) -> str:
        w = row.get("week_start")
        if isinstance(w, date):
            iso = self._iso.get(w)
            if iso is None:
                iso = self._iso[w] = w.isoformat()
            return iso
        return str(w) if w else self.week_start

    def row_key(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        return {"week_start": self._week_of(row), **{k: row.get(k) for k in contract.TABLE_KEYS[table]}}

    def _dep_refs(self, table: str, rows: list[dict[str, Any]]) -> list[Any]:
        """[table, key columns, [row key values…]] — the rows a statement depends on, compactly."""
        keys = contract.TABLE_KEYS[table]
        return [table, ["week_start", *keys], [[self._week_of(r), *(r.get(k) for k in keys)] for r in rows]]

    def _row_flags(self, table: str, row: dict[str, Any]) -> list[str]:
        if self.lineage is None:
            return contract.split_flags(row.get("review_flags"))
        return list(self.lineage.row_flags(table, row, self._week_of(row)))

    def flags_of(self, table: str, row: dict[str, Any] | None) -> list[str]:
        """Effective flags of a layer row (own + upstream quality flags)."""
        return [] if row is None else self._row_flags(table, row)

    def _dep_flags(self, depends: Iterable[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[list[Any]]]:
        flags: list[str] = []
        by_table: dict[str, list[dict[str, Any]]] = {}
        for table, row in depends:
            by_table.setdefault(table, []).append(row)
            for code in contract.quality_flags(self._row_flags(table, row)):
                if code not in flags:
                    flags.append(code)
        return flags, [self._dep_refs(t, rows) for t, rows in by_table.items()]

    def _add(self, fact: Fact) -> Fact:
        shadowing = [p for p in fact.slot.split(".") if p in _RESERVED]
        if shadowing:  # templates reach children as attributes: a child named like a dict method would be hidden
            raise ValueError(f"slot {fact.slot}: segment {shadowing[0]!r} is a reserved name")
        if fact.kind not in KINDS:
            raise ValueError(f"unknown fact kind {fact.kind!r} for {fact.slot}")
        if fact.slot in self.facts and not self.facts[fact.slot].same_as(fact):
            raise ValueError(f"slot {fact.slot} defined twice with different facts")
        self.facts[fact.slot] = fact
        return fact

    # --- facts -------------------------------------------------------------------------------------------------
    def cell(
        self,
        slot: str,
        kind: str,
        table: str,
        row: dict[str, Any] | None,
        column: str,
        depends: Iterable[tuple[str, dict[str, Any]]] = (),
        transform: Callable[[Any], Any] | None = None,
    ) -> Fact:
        """A cell of a layer row (``row`` None: the statement has no row to stand on; printed as missing).
        ``transform`` derives the printed value from the cell by a pure function (e.g. a chapter code → its short
        name); verify recomputes it the same way."""
        dep_flags, refs = self._dep_flags(depends)
        if row is None:
            return self._add(Fact(slot, kind, depends_on=dumps(refs), flags=tuple(dep_flags)))
        raw = row.get(column)
        if transform is not None and raw is not None:
            raw = transform(raw)
        value, text = _split_value(kind, raw)
        flags = self._row_flags(table, row)
        if isinstance(raw, float) and not math.isfinite(raw):
            flags.append("value_not_finite")  # stored NaN/inf: printed as missing, and said so
        flags += [c for c in dep_flags if c not in flags]
        return self._add(
            Fact(slot, kind, value, text, table, dumps(self.row_key(table, row)), column, dumps(refs), tuple(flags))
        )

    def aggregate(
        self,
        slot: str,
        kind: str,
        value: float | int | None,
        table: str,
        where: dict[str, Any],
        column: str,
        rows: Iterable[dict[str, Any]] = (),
    ) -> Fact:
        """A figure computed over rows of one table (a count, the number of reporters …): ``where`` is the filter,
        ``column`` the aggregate ('count(*)', 'count(distinct reporter_code)'); the rows' quality flags apply."""
        dep_flags, refs = self._dep_flags((table, r) for r in rows)
        key = dumps({"week_start": self.week_start, **where})
        return self._add(
            Fact(
                slot,
                kind,
                None if value is None else float(value),
                None,
                table,
                key,
                column,
                dumps(refs),
                tuple(dep_flags),
            )
        )

    def flag(self, slot: str, on: bool, depends: Iterable[tuple[str, dict[str, Any]]] = ()) -> Fact:
        dep_flags, refs = self._dep_flags(depends)
        return self._add(Fact(slot, "bool", 1.0 if on else 0.0, None, depends_on=dumps(refs), flags=tuple(dep_flags)))

    def enum(self, slot: str, value: str | None) -> Fact:
        return self._add(Fact(slot, "enum", None, value))

    def constant(self, slot: str, kind: str, value: float, name: str) -> Fact:
        """A method constant printed in the report (an HHI band): source 'methodology', column = its name."""
        return self._add(Fact(slot, kind, float(value), None, METHODOLOGY_TABLE, dumps({}), name))

    def ident(self, slot: str, kind: str, value: Any) -> Fact:
        """An identifier the report prints that is not a layer cell (the week's own dates)."""
        value, text = _split_value(kind, value)
        return self._add(Fact(slot, kind, value, text))

    # --- output -------------------------------------------------------------------------------------------------
    def frame(self) -> pl.DataFrame:
        return pl.DataFrame([f.as_row(i) for i, f in enumerate(self.facts.values())], schema=FACTS_SCHEMA)

    def tree(self) -> FactTree:
        return build_tree(self.facts.values())

    def __iter__(self) -> Iterator[Fact]:
        return iter(self.facts.values())


#: Methodology constants the report prints, by name (one definition: core.contract).
METHODOLOGY_TABLE = "methodology"
METHODOLOGY: dict[str, float] = {
    "hhi_low_below": contract.HHI_LOW_BELOW,
    "hhi_high_above": contract.HHI_HIGH_ABOVE,
}


def _split_value(kind: str, raw: Any) -> tuple[float | None, str | None]:
    """(numeric value, text) of a raw cell for a fact kind; NaN/inf are missing (never printed as numbers)."""
    if raw is None:
        return None, None
    if kind in FIGURE_KINDS or kind in ("year", "month"):
        try:
            v = float(raw)
        except (TypeError, ValueError):
            return None, None
        return (v, None) if math.isfinite(v) else (None, None)
    if kind == "date":
        if isinstance(raw, (date, datetime)):
            return None, raw.isoformat()[:10]
        try:
            return None, date.fromisoformat(str(raw)[:10]).isoformat()
        except ValueError:
            return None, None
    text = str(raw)
    if kind == "md_span":  # a piece of a sentence: its spaces are part of it
        return None, (text or None)
    return None, (text if text.strip() else None)


def facts_from_frame(df: pl.DataFrame) -> list[Fact]:
    if df.is_empty():
        return []
    return [Fact.from_row(r) for r in df.sort("seq").iter_rows(named=True)]
