"""The week's charts as facts: what the report embeds as ``![alt](charts/<ISO week>/<chart_id>.svg)``.

A chart is embedded when its ``briefing_charts`` row of the week has status 'ok' (in ``seq`` order). Its node
``charts.<chart_id>`` holds the link, the title and the alt text of each edition as a sequence of pieces:

- ``key``: the chart's key figure, a cell fact bound to the layer cell the ``briefing_charts`` row names
  (``key_source_table`` / ``key_source_row_key`` / ``key_source_column``, format ``key_kind``) — verify recomputes it
  from that layer row, not from the ``briefing_charts`` copy, and a flagged figure prints ``[REVIEW_NEEDED]``;
- every other run of digits (a year, a month, an HS code) is its own printed fact (a claim), and the words between
  are digit-free text pieces.

The pieces come from the chart builder (``briefing_charts.data.build_charts``) run again over the week's layer rows
(``WeekInputs.chart_tables``), so every digit of the alt text is recomputed from the layer tables when the report
is verified; at build time they equal the stored ``alt_zh`` / ``alt_en``. A chart whose stored row is skipped
prints nothing (the week's chart page says why). One whose stored row no longer matches the chart the layer rows give
(the charts were not redrawn after the layers changed) is not embedded: ``charts.<chart_id>.stale`` prints one line
saying so, with [REVIEW_NEEDED], in its place (and verify names each piece of a published one).
"""

from __future__ import annotations

import json
import re
from typing import Any

from trade_pipeline.core import contract
from trade_pipeline.defs.briefing_charts.data import (
    KEY_PLACEHOLDER,
    ChartData,
    LineageFlags,
    OwnFlags,
    build_charts,
    jsonable,
)
from trade_pipeline.defs.trade_briefing.facts.model import FactBook
from trade_pipeline.defs.trade_briefing.printing import REVIEW_MARK

CHARTS = contract.BRIEFING_CHARTS
OK = "ok"
#: The alt text's editions: fact child -> position in ChartData.alt_parts()
ALT_EDITIONS = (("alt_zh", 0), ("alt_en", 1))
#: The key figure's place among the pieces (an enum naming the sibling ``key``).
KEY_PIECE = "key"
#: ``[REVIEW_NEEDED]`` standing in the alt text (the chart has flagged points): an enum the template prints as the mark.
MARK_PIECE = "mark"
_DIGITS = re.compile(r"(\d+)")


def _layer_row(rows: list[dict[str, Any]], table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The row of ``table`` whose key columns (contract.TABLE_KEYS) are ``key``'s."""
    cols = contract.TABLE_KEYS.get(table)
    if not cols:
        return None
    for row in rows:
        if all(jsonable(row.get(c)) == key.get(c) for c in cols):
            return row
    return None


def _same_cell(chart: ChartData, stored: dict[str, Any]) -> bool:
    k = chart.key
    if k is None:
        return not stored.get("key_source_table")
    try:
        stored_key = json.loads(stored.get("key_source_row_key") or "null")
    except ValueError:
        return False
    return (k.table, k.column, k.kind) == (
        stored.get("key_source_table"),
        stored.get("key_source_column"),
        stored.get("key_kind"),
    ) and {c: jsonable(v) for c, v in k.row_key.items()} == stored_key


def pieces(text: str) -> list[tuple[str, str]]:
    """An alt text with its key placeholder split into (kind, text) pieces: ('key', ''), ('digits', run of digits)
    ('mark', '') for a [REVIEW_NEEDED], and ('text', the digit-free text between)."""
    out: list[tuple[str, str]] = []
    for i, part in enumerate(text.split(KEY_PLACEHOLDER)):
        if i:
            out.append((KEY_PIECE, ""))
        for j, chunk in enumerate(part.split(REVIEW_MARK)):
            if j:
                out.append((MARK_PIECE, ""))  # the review mark of flagged points: printed as itself, not escaped
            out += [("digits" if _DIGITS.fullmatch(p) else "text", p) for p in _DIGITS.split(chunk) if p]
    return out


def chart_facts(book: FactBook, inp: Any) -> None:
    """``charts.<chart_id>`` for each ok chart of the week (``inp``: the week's WeekInputs)."""
    stored = sorted((r for r in inp.rows(CHARTS) if r.get("status") == OK), key=lambda r: int(r["seq"]))
    tables = getattr(inp, "chart_tables", None)
    if not stored or tables is None:
        return
    flags = LineageFlags(book.lineage) if book.lineage is not None else OwnFlags()
    built = {c.chart_id: c for c in build_charts(tables, flags)}
    for n, row in enumerate(stored, start=1):
        cid = str(row["chart_id"])
        chart = built.get(cid)
        slot = f"charts.{cid}"
        table, column = row.get("key_source_table"), row.get("key_source_column")
        key_row = None
        if table:
            try:
                key_row = _layer_row(
                    inp.rows(table) or tables.rows(table), table, json.loads(row.get("key_source_row_key") or "{}")
                )
            except ValueError:
                key_row = None
        usable = (
            chart is not None
            and chart.skip_reason is None
            and _same_cell(chart, row)
            and (not table or key_row is not None)
        )
        if not usable:  # the stored chart is not what the layer rows give now (drawn before they changed): say so
            book.flag(f"{slot}.stale", True)
            continue
        book.enum(f"charts.order.{n}", slot)
        book.flag(f"{slot}.present", True)
        book.ident(f"{slot}.link", "code", contract.chart_report_link(inp.iso_week, cid))
        book.ident(f"{slot}.title", "md_text", row.get("title_zh"))
        if table:
            book.cell(f"{slot}.key", str(row["key_kind"]), table, key_row, str(column))
        parts = chart.alt_parts(KEY_PLACEHOLDER)
        for child, index in ALT_EDITIONS:
            for i, (kind, piece) in enumerate(pieces(parts[index]), start=1):
                s = f"{slot}.{child}.{i}"
                if kind in (KEY_PIECE, MARK_PIECE):
                    book.enum(s, kind)
                elif kind == "digits":
                    book.ident(s, "code", piece)  # a year, a month, a code: printed, claimed, recomputed
                else:
                    book.ident(s, "md_span", piece)
