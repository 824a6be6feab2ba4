"""Printing facts into a template and recording where each lands (claims bound to place).

While a template renders, every fact it prints becomes a placeholder token; :meth:`Printer.resolve` then replaces the
tokens by their text and records, for each, the *claim*: the slot, the exact printed text and its position in the
report body (line, column). ``trade-pipeline verify`` reads the figure at that position back, so a figure that was
swapped, re-united or edited is caught by name, whatever number it was changed to.

What a fact prints as (one rule, every output):

- a figure (usd, pct, hhi, count, …) → ``core.formatting`` of its value; missing → ``--``; with any review flag it is
  followed by `` [REVIEW_NEEDED]`` at that very place (the reasons, in words, are listed under 數據期間與限制);
- data text → markdown-escaped; identifiers (codes, years, months, dates) → as they are; a date from a row with a
  quality flag is marked like a figure;
- structural facts (yes/no, enums) are never printed: they only choose wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from markupsafe import Markup

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import MISSING, format_as
from trade_pipeline.core.markdown import md_escape, md_list
from trade_pipeline.defs.trade_briefing.facts.model import (
    FIGURE_KINDS, ID_KINDS, STRUCT_KINDS, TEXT_KINDS, Fact,
)

REVIEW_MARK = "[REVIEW_NEEDED]"
_TOKEN = re.compile("\ue000(\\d+)\ue001")

CLAIMS_SCHEMA = {
    "iso_week": pl.Utf8, "report": pl.Utf8, "slot": pl.Utf8, "kind": pl.Utf8, "line": pl.Int32, "col": pl.Int32,
    "claim_text": pl.Utf8, "marked": pl.Boolean, "value": pl.Float64, "text_value": pl.Utf8,
    "table_name": pl.Utf8, "row_key": pl.Utf8, "column_name": pl.Utf8,
}


def fact_text(fact: Fact) -> str:
    """The text a fact prints as (without the review mark)."""
    if fact.kind in STRUCT_KINDS:
        raise ValueError(f"{fact.slot} is a {fact.kind} fact: it chooses wording and is never printed")
    if fact.kind in FIGURE_KINDS:
        return MISSING if fact.value is None else format_as(fact.kind, fact.value)
    if fact.kind in TEXT_KINDS:
        if fact.text is None:
            return MISSING
        return md_list(fact.text) if fact.kind == "md_list" else md_escape(fact.text)
    if fact.kind in ("year", "month"):
        return MISSING if fact.value is None else str(int(fact.value))
    return MISSING if fact.text is None else fact.text  # code, date


def marked(fact: Fact) -> bool:
    """Does this printed fact carry the review mark where it stands?"""
    if fact.kind in FIGURE_KINDS:
        return bool(fact.flags)
    if fact.kind == "date":
        return bool(contract.quality_flags(fact.flags))
    return False


def display(fact: Fact) -> str:
    text = fact_text(fact)
    return f"{text} {REVIEW_MARK}" if marked(fact) else text


@dataclass
class Claim:
    slot: str
    kind: str
    text: str
    marked: bool
    fact: Fact
    line: int = 0
    col: int = 0


@dataclass
class Printer:
    """One per rendered report: the template's ``p`` filter hands facts here."""

    iso_week: str
    report: str
    pending: list[Claim] = field(default_factory=list)

    def __call__(self, fact: Any) -> Markup:
        if not isinstance(fact, Fact):
            raise TypeError(f"only facts are printed (got {type(fact).__name__}: {fact!r})")
        if fact.kind in STRUCT_KINDS:
            raise ValueError(f"{fact.slot} is a {fact.kind} fact and is never printed")
        self.pending.append(Claim(fact.slot, fact.kind, fact_text(fact), marked(fact), fact))
        return Markup(f"\ue000{len(self.pending) - 1}\ue001")

    def resolve(self, rendered: str, body_start_line: int = 0) -> tuple[str, list[Claim]]:
        """Replace the tokens by their text; positions are (line, column) in the body, counting lines from
        ``body_start_line`` (the line after the front matter). Returns (final text, claims in print order)."""
        out_lines, claims = [], []
        for n, line in enumerate(rendered.split("\n")):
            pieces, pos, cursor = [], 0, 0
            for m in _TOKEN.finditer(line):
                pieces.append(line[pos:m.start()])
                cursor += m.start() - pos
                claim = self.pending[int(m.group(1))]
                claim.line, claim.col = n - body_start_line, cursor
                text = display(claim.fact)
                pieces.append(text)
                cursor += len(text)
                pos = m.end()
                claims.append(claim)
            pieces.append(line[pos:])
            out_lines.append("".join(pieces))
        return "\n".join(out_lines), claims

    def frame(self, claims: list[Claim], body: str | None = None) -> pl.DataFrame:
        """Claims as rows; with ``body``, also one layout row per body line (kind 'line': digest of the line with
        digits masked), which lets verify align a file whose lines were inserted or removed."""
        from trade_pipeline.defs.trade_briefing.verify import LAYOUT_KIND, line_layout

        layout = [] if body is None else [{
            "iso_week": self.iso_week, "report": self.report, "slot": None, "kind": LAYOUT_KIND, "line": n, "col": 0,
            "claim_text": line_layout(line), "marked": False, "value": None, "text_value": None,
            "table_name": None, "row_key": None, "column_name": None,
        } for n, line in enumerate(body.split("\n"))]
        return pl.DataFrame(layout + [{
            "iso_week": self.iso_week, "report": self.report, "slot": c.slot, "kind": c.kind, "line": c.line,
            "col": c.col, "claim_text": c.text, "marked": c.marked, "value": c.fact.value,
            "text_value": c.fact.text, "table_name": c.fact.source_table, "row_key": c.fact.source_key,
            "column_name": c.fact.source_column,
        } for c in claims], schema=CLAIMS_SCHEMA)


def plain(fact: Any) -> str:
    """A fact's text outside the claimed body (front matter values): no token, no mark."""
    if fact is None:
        return ""
    return fact_text(fact) if isinstance(fact, Fact) else str(fact)
