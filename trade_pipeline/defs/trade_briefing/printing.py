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

Every edition prints in its language (:func:`edition_lang`: ``…-trade-briefing.md`` is zh-TW,
``…-trade-briefing.en.md`` English): money in 億/兆 or bn/tn (``core.formatting``), months as numbers or as English
month abbreviations. The printer of an edition, its claims and ``verify`` of that edition use the same language.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from markupsafe import Markup

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import DEFAULT_LANG, MISSING, format_as
from trade_pipeline.core.markdown import md_escape, md_list
from trade_pipeline.defs.trade_briefing.facts.model import (
    FIGURE_KINDS,
    STRUCT_KINDS,
    TEXT_KINDS,
    Fact,
)

REVIEW_MARK = "[REVIEW_NEEDED]"
#: An edition's language from its file name: '2026-W05-trade-briefing.en.md' → 'en'; no tag → zh-TW.
_EDITION_LANG = re.compile(r"-trade-briefing\.([a-z]{2}(?:-[A-Za-z]{2})?)\.md$")
_TOKEN = re.compile("\ue000(\\d+)\ue001")

CLAIMS_SCHEMA = {
    "iso_week": pl.Utf8,
    "report": pl.Utf8,
    "slot": pl.Utf8,
    "kind": pl.Utf8,
    "line": pl.Int32,
    "col": pl.Int32,
    "claim_text": pl.Utf8,
    "marked": pl.Boolean,
    "value": pl.Float64,
    "text_value": pl.Utf8,
    "table_name": pl.Utf8,
    "row_key": pl.Utf8,
    "column_name": pl.Utf8,
}


def edition_lang(relpath: str | None) -> str:
    """The language an edition prints in, from its path ('….en.md' → 'en'; '….md' → zh-TW)."""
    m = _EDITION_LANG.search(str(relpath or ""))
    return m.group(1) if m else DEFAULT_LANG


def is_english(lang: str | None) -> bool:
    return (lang or DEFAULT_LANG).split("-")[0].lower() == "en"


def fact_text(fact: Fact, lang: str | None = None) -> str:
    """The text a fact prints as in ``lang`` (default zh-TW), without the review mark."""
    if fact.kind in STRUCT_KINDS:
        raise ValueError(f"{fact.slot} is a {fact.kind} fact: it chooses wording and is never printed")
    if fact.kind in FIGURE_KINDS:
        return MISSING if fact.value is None else format_as(fact.kind, fact.value, lang)
    if fact.kind in TEXT_KINDS:
        if fact.text is None:
            return MISSING
        if fact.kind == "md_span":  # escaped like md_text, but the spaces at its edges stay (a piece of a sentence)
            core = md_escape(fact.text)
            lead = " " if fact.text[:1].isspace() else ""
            trail = " " if fact.text[-1:].isspace() and core else ""
            return f"{lead}{core}{trail}"
        if fact.kind == "md_list":
            if is_english(lang):
                return md_escape(", ".join(t.strip() for t in fact.text.split(";") if t.strip()))
            return md_list(fact.text)
        return md_escape(fact.text)
    if fact.kind == "month" and is_english(lang):
        if fact.value is None or not 1 <= int(fact.value) <= 12:
            return MISSING if fact.value is None else str(int(fact.value))
        return calendar.month_abbr[int(fact.value)]
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


def display(fact: Fact, lang: str | None = None) -> str:
    text = fact_text(fact, lang)
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
    #: the edition's language (default: from the report's path)
    lang: str | None = None
    pending: list[Claim] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.lang is None:
            self.lang = edition_lang(self.report)

    def __call__(self, fact: Any) -> Markup:
        if not isinstance(fact, Fact):
            raise TypeError(f"only facts are printed (got {type(fact).__name__}: {fact!r})")
        if fact.kind in STRUCT_KINDS:
            raise ValueError(f"{fact.slot} is a {fact.kind} fact and is never printed")
        self.pending.append(Claim(fact.slot, fact.kind, fact_text(fact, self.lang), marked(fact), fact))
        return Markup(f"\ue000{len(self.pending) - 1}\ue001")

    def resolve(self, rendered: str, body_start_line: int = 0) -> tuple[str, list[Claim]]:
        """Replace the tokens by their text; positions are (line, column) in the body, counting lines from
        ``body_start_line`` (the line after the front matter). Returns (final text, claims in print order)."""
        out_lines, claims = [], []
        for n, line in enumerate(rendered.split("\n")):
            pieces, pos, cursor = [], 0, 0
            for m in _TOKEN.finditer(line):
                pieces.append(line[pos : m.start()])
                cursor += m.start() - pos
                claim = self.pending[int(m.group(1))]
                claim.line, claim.col = n - body_start_line, cursor
                text = display(claim.fact, self.lang)
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

        layout = (
            []
            if body is None
            else [
                {
                    "iso_week": self.iso_week,
                    "report": self.report,
                    "slot": None,
                    "kind": LAYOUT_KIND,
                    "line": n,
                    "col": 0,
                    "claim_text": line_layout(line),
                    "marked": False,
                    "value": None,
                    "text_value": None,
                    "table_name": None,
                    "row_key": None,
                    "column_name": None,
                }
                for n, line in enumerate(body.split("\n"))
            ]
        )
        return pl.DataFrame(
            layout
            + [
                {
                    "iso_week": self.iso_week,
                    "report": self.report,
                    "slot": c.slot,
                    "kind": c.kind,
                    "line": c.line,
                    "col": c.col,
                    "claim_text": c.text,
                    "marked": c.marked,
                    "value": c.fact.value,
                    "text_value": c.fact.text,
                    "table_name": c.fact.source_table,
                    "row_key": c.fact.source_key,
                    "column_name": c.fact.source_column,
                }
                for c in claims
            ],
            schema=CLAIMS_SCHEMA,
        )


def plain(fact: Any, lang: str | None = None) -> str:
    """A fact's text outside the claimed body (front matter values): no token, no mark."""
    if fact is None:
        return ""
    return fact_text(fact, lang) if isinstance(fact, Fact) else str(fact)
