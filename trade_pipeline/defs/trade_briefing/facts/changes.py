"""Facts of 本週變化: what is new in this week's partition against the previous one (``changes.*``).

Every statement compares stored rows of the two partitions (the inputs loader reads last week's tables, see
``inputs.PREVIOUS_TABLES``), so ``verify`` recomputes it from the same rows:

- ``census`` — a newly released US Census month (``census_release_status`` latest month vs last week's; a month
  that disappeared is said too), the partners' year-to-date balances before/after, the week's revisions;
- ``comtrade`` — Comtrade years available per reporter that were not last week (and years that were and are not);
- ``hhi`` — export HHI moves of at least :data:`HHI_MOVE_MIN` points (the layer's ``hhi_prev_week``), with a band
  change named; smaller moves only make the week "no material change" instead of "no change";
- ``ranks`` — a reporter whose top-:data:`TOP_RANKS` partners (membership or order) differ from last week's;
- ``announcements`` — announcements new in the partition, changed in a field a reader sees (:data:`ANN_FIELDS`), or
  no longer present;
- ``review`` — figures flagged this week with a flag they did not carry last week (last week's ``briefing_facts``),
  and flags that were cleared, by flag and statement.

A source with no partition last week is *not comparable* and said so — never "no change".
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from trade_pipeline.core import contract
from trade_pipeline.defs.trade_briefing.facts.census import _order as census_order
from trade_pipeline.defs.trade_briefing.facts.comtrade import (
    REPORTER_ORDER,
    TAIWAN_LABEL,
    concentration_row,
    latest_year,
)
from trade_pipeline.defs.trade_briefing.facts.model import FIGURE_KINDS, FactBook, FactTree
from trade_pipeline.defs.trade_briefing.facts.policy import title_cell
from trade_pipeline.defs.trade_briefing.inputs import Rows, WeekInputs
from trade_pipeline.defs.trade_briefing.names import area_name_en

PR, MC, ANN = contract.PARTNER_RANKINGS, contract.MARKET_CONCENTRATION, contract.MOFCOM_ANNOUNCEMENTS
STATUS, TB = contract.CENSUS_RELEASE_STATUS, contract.CENSUS_TRADE_BALANCE
FACTS = contract.BRIEFING_FACTS
#: An export HHI move of at least this many points (0–10,000 scale) is a change worth a line.
HHI_MOVE_MIN = 10.0
#: Rank moves are read on the partners a reader sees: the top three of each reporter and flow.
TOP_RANKS = 3
#: Announcement fields whose change a reader sees (the derived importance score is not one).
ANN_FIELDS = (
    "title_zh_tw",
    "doc_number",
    "publish_date",
    "effective_date",
    "suspended_until",
    "category",
    "controlled_items",
    "entities",
    "countries",
    "fetch_status",
)
MAX_TITLES = 5


def _order(code: Any) -> tuple[int, Any]:
    return (REPORTER_ORDER.index(code), code) if code in REPORTER_ORDER else (len(REPORTER_ORDER), code)


def _first(rows: Rows) -> dict[str, Any] | None:
    return rows[0] if rows else None


def _norm(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()[:10]
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    return v


def named(
    book: FactBook,
    slot: str,
    table: str,
    row: dict[str, Any],
    code_col: str = "reporter_code",
    name_col: str = "reporter_name_zh",
) -> None:
    """``slot.name`` / ``slot.name_en`` / ``slot.label`` of a reporter (or partner) from one row."""
    book.cell(f"{slot}.name", "md_text", table, row, name_col)
    book.cell(f"{slot}.name_en", "md_text", table, row, code_col, transform=area_name_en)
    code = row.get(code_col)
    book.enum(
        f"{slot}.label",
        TAIWAN_LABEL.get(int(code), "plain") if code_col == "reporter_code" and code is not None else "plain",
    )


def change_facts(book: FactBook, inp: WeekInputs, tree: FactTree) -> None:
    """Every 本週變化 statement but the review-flag comparison (:func:`review_changes`, built last)."""
    n = 0
    n += _census(book, inp, tree)
    n += _comtrade_years(book, inp)
    n += _hhi_moves(book, inp)
    n += _rank_moves(book, inp)
    n += _announcements(book, inp)
    book.flag("changes.any_before_review", n > 0)


# --- US Census -----------------------------------------------------------------------------------------------------


def _census(book: FactBook, inp: WeekInputs, tree: FactTree) -> int:
    now, before = _first(inp.rows(STATUS)), _first(inp.previous.get(STATUS, []))
    s = "changes.census"
    comparable = now is not None and before is not None
    book.flag(f"{s}.comparable", comparable)
    if not comparable:
        return 0
    n = 0
    key_now = (now.get("latest_year") or 0, now.get("latest_month") or 0)
    key_before = (before.get("latest_year") or 0, before.get("latest_month") or 0)
    deps = [(STATUS, now), (STATUS, before)]
    book.flag(f"{s}.new_month", key_now > key_before, depends=deps)
    book.flag(f"{s}.fewer_months", key_now < key_before, depends=deps)
    if key_now != key_before:
        n += 1
        book.cell(f"{s}.year", "year", STATUS, now, "latest_year")
        book.cell(f"{s}.month", "month", STATUS, now, "latest_month")
        book.cell(f"{s}.prev_year", "year", STATUS, before, "latest_year")
        book.cell(f"{s}.prev_month", "month", STATUS, before, "latest_month")
        book.flag(f"{s}.same_year", key_now[0] == key_before[0])
        book.flag(f"{s}.one_month", key_now[0] == key_before[0] and key_now[1] == key_before[1] + 1)
    # year-to-date balances before/after, per partner the report shows
    prev_totals = {r["cty_code"]: r for r in inp.previous.get(TB, []) if r["hs2"] == "TOTAL"}
    totals = sorted((r for r in inp.rows(TB) if r["hs2"] == "TOTAL"), key=lambda r: census_order(r["cty_code"]))
    moved = False
    for t in totals:
        p = prev_totals.get(t["cty_code"])
        b = f"{s}.balances.{t['cty_code']}"
        book.ident(f"{b}.cty", "code", t["cty_code"])
        book.flag(f"{b}.present", p is not None)
        if p is None:
            continue
        book.cell(f"{b}.before", "signed_usd", TB, p, "balance_usd")
        book.cell(f"{b}.before_year", "year", TB, p, "year")
        book.ident(f"{b}.before_first_month", "month", 1)
        book.cell(f"{b}.before_through", "month", TB, p, "through_month")
        book.flag(f"{b}.before_single_month", p.get("through_month") == 1)
        moved = moved or (t.get("balance_usd") != p.get("balance_usd"))
    periods = {(p.get("year"), p.get("through_month")) for p in prev_totals.values()}
    book.flag(f"{s}.before_one_period", len(periods) == 1)
    if len(periods) == 1:
        first_prev = next(iter(prev_totals.values()))
        book.cell(f"{s}.before_year", "year", TB, first_prev, "year")
        book.ident(f"{s}.before_first_month", "month", 1)
        book.cell(f"{s}.before_through", "month", TB, first_prev, "through_month")
        book.flag(f"{s}.before_single_month", first_prev.get("through_month") == 1)
    book.flag(f"{s}.balances_moved", moved)
    revisions = inp.rows(contract.CENSUS_REVISIONS)
    book.flag(f"{s}.has_revisions", bool(revisions))
    if revisions:
        n += 1
        book.aggregate(
            f"{s}.revision_count", "count", len(revisions), contract.CENSUS_REVISIONS, {}, "count(*)", rows=revisions
        )
    return n


# --- UN Comtrade -----------------------------------------------------------------------------------------------


def _years(rows: Rows) -> dict[int, dict[int, dict[str, Any]]]:
    """reporter -> year -> one row of that year (the lowest-ranked export row, else any)."""
    out: dict[int, dict[int, dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (r["flow"] != "X", r["rank"])):
        out.setdefault(r["reporter_code"], {}).setdefault(r["year"], r)
    return out


def _comtrade_years(book: FactBook, inp: WeekInputs) -> int:
    s = "changes.comtrade"
    before_rows = inp.previous.get(PR, [])
    book.flag(f"{s}.comparable", bool(before_rows) and bool(inp.rows(PR)))
    if not before_rows or not inp.rows(PR):
        return 0
    now, before = _years(inp.rows(PR)), _years(before_rows)
    n = 0
    for kind, this, other in (("new_years", now, before), ("dropped_years", before, now)):
        groups: dict[int, list[dict[str, Any]]] = {}
        for rc in sorted(this, key=_order):
            for y in sorted(set(this[rc]) - set(other.get(rc, {}))):
                groups.setdefault(y, []).append(this[rc][y])
        for i, (_y, rows) in enumerate(sorted(groups.items()), start=1):
            g = f"{s}.{kind}.{i}"
            book.cell(f"{g}.year", "year", PR, rows[0], "year")
            for j, r in enumerate(rows, start=1):
                named(book, f"{g}.members.{j}", PR, r)
        book.flag(f"{s}.has_{kind}", bool(groups))
        n += bool(groups)
    return n


def _hhi_moves(book: FactBook, inp: WeekInputs) -> int:
    s = "changes.hhi"
    rows = inp.rows(MC)
    book.constant(f"{s}.threshold", "int", HHI_MOVE_MIN, "hhi_move_min")
    book.flag(f"{s}.comparable", bool(inp.previous.get(MC)) and bool(rows))
    entries, minor = [], False
    codes = sorted({r["reporter_code"] for r in rows}, key=_order)
    for rc in codes:
        r = concentration_row(rows, rc, "X", latest_year(rows, rc, "X"))
        if r is None or r.get("hhi") is None or r.get("hhi_prev_week") is None:
            continue
        move = r["hhi"] - r["hhi_prev_week"]
        if abs(move) >= HHI_MOVE_MIN:
            entries.append(r)
        elif move != 0:
            minor = True
    # largest move first
    entries.sort(key=lambda r: (-abs(r["hhi"] - r["hhi_prev_week"]), _order(r["reporter_code"])))
    for i, r in enumerate(entries, start=1):
        e = f"{s}.moves.{i}"
        named(book, e, MC, r)
        book.cell(f"{e}.hhi", "hhi", MC, r, "hhi")
        book.cell(f"{e}.before", "hhi", MC, r, "hhi_prev_week")
        book.cell(f"{e}.year", "year", MC, r, "year")
        book.flag(f"{e}.up", r["hhi"] > r["hhi_prev_week"])
        before_level = contract.concentration_level(r["hhi_prev_week"])
        book.flag(f"{e}.band_changed", before_level != r.get("concentration_level"))
        book.enum(f"{e}.level", r.get("concentration_level"))
        book.enum(f"{e}.before_level", before_level)
        book.flag(f"{e}.is_mirror", bool(r.get("is_mirror")))
    book.flag(f"{s}.has_moves", bool(entries))
    book.flag(f"{s}.minor", minor)
    return bool(entries)


def _top(rows: Rows, rc: int, flow: str) -> tuple[int | None, list[dict[str, Any]]]:
    year = latest_year(rows, rc, flow)
    ranked = sorted(
        (r for r in rows if r["reporter_code"] == rc and r["flow"] == flow and r["year"] == year),
        key=lambda r: r["rank"],
    )
    return year, ranked[:TOP_RANKS]


def _rank_moves(book: FactBook, inp: WeekInputs) -> int:
    s = "changes.ranks"
    now_rows, before_rows = inp.rows(PR), inp.previous.get(PR, [])
    book.flag(f"{s}.comparable", bool(before_rows) and bool(now_rows))
    if not before_rows or not now_rows:
        book.flag(f"{s}.has_moves", False)
        return 0
    i = 0
    for flow in ("X", "M"):
        for rc in sorted({r["reporter_code"] for r in now_rows}, key=_order):
            year, now = _top(now_rows, rc, flow)
            year_before, before = _top(before_rows, rc, flow)
            if not now or not before:
                continue
            if [r["partner_code"] for r in now] == [r["partner_code"] for r in before]:
                continue
            i += 1
            e = f"{s}.moves.{i}"
            book.enum(f"{e}.flow", flow)
            named(book, e, PR, now[0])
            book.cell(f"{e}.year", "year", PR, now[0], "year")
            book.cell(f"{e}.before_year", "year", PR, before[0], "year")
            book.flag(f"{e}.same_year", year == year_before)
            for side, ranked in (("now", now), ("before", before)):
                for k, r in enumerate(ranked, start=1):
                    p = f"{e}.{side}.{k}"
                    book.cell(f"{p}.name", "md_text", PR, r, "partner_name_zh")
                    book.cell(f"{p}.name_en", "md_text", PR, r, "partner_code", transform=area_name_en)
                    book.cell(f"{p}.share", "pct", PR, r, "share_pct")
    book.flag(f"{s}.has_moves", i > 0)
    return i > 0


# --- MOFCOM ------------------------------------------------------------------------------------------------------


def _announcements(book: FactBook, inp: WeekInputs) -> int:
    s = "changes.announcements"
    now = {r["announcement_id"]: r for r in inp.rows(ANN)}
    before = {r["announcement_id"]: r for r in inp.previous.get(ANN, [])}
    book.flag(f"{s}.comparable", bool(before) and bool(now))
    if not before or not now:
        return 0

    def newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(
            rows, key=lambda r: (str(_norm(r.get("publish_date")) or ""), str(r["announcement_id"])), reverse=True
        )

    added = newest_first([r for k, r in now.items() if k not in before])
    removed = newest_first([r for k, r in before.items() if k not in now])
    changed = []
    for k in sorted(set(now) & set(before)):
        fields = [f for f in ANN_FIELDS if _norm(now[k].get(f)) != _norm(before[k].get(f))]
        if fields:
            changed.append((now[k], fields))
    changed.sort(key=lambda c: (str(_norm(c[0].get("publish_date")) or ""), str(c[0]["announcement_id"])), reverse=True)
    for kind, rows, _week_rows in (("added", added, now), ("removed", removed, before)):
        book.flag(f"{s}.has_{kind}", bool(rows))
        if not rows:
            continue
        ids = [r["announcement_id"] for r in rows]
        book.aggregate(
            f"{s}.{kind}_count",
            "count",
            len(rows),
            ANN,
            {"announcement_id": {"in": ids}, "compared_with": inp.prev_key if kind == "added" else inp.key},
            "count(*)",
            rows=rows,
        )
        for j, r in enumerate(rows[:MAX_TITLES], start=1):
            title_cell(book, f"{s}.{kind}.{j}.title", r)
            book.cell(f"{s}.{kind}.{j}.publish_date", "date", ANN, r, "publish_date")
    book.flag(f"{s}.has_changed", bool(changed))
    if changed:
        book.aggregate(
            f"{s}.changed_count",
            "count",
            len(changed),
            ANN,
            {"announcement_id": {"in": [r["announcement_id"] for r, _ in changed]}, "fields": {"in": list(ANN_FIELDS)}},
            "count(*)",
            rows=[r for r, _ in changed],
        )
        for j, (r, fields) in enumerate(changed[:MAX_TITLES], start=1):
            title_cell(book, f"{s}.changed.{j}.title", r)
            for k, f in enumerate(fields, start=1):
                book.enum(f"{s}.changed.{j}.fields.{k}", f)
    return bool(added) + bool(removed) + bool(changed)


# --- review flags -------------------------------------------------------------------------------------------------


def subject_of(slot: str) -> str:
    """The statement a fact belongs to, for listing flags by subject ('exports.842', 'census.partners.5700')."""
    parts = slot.split(".")
    return ".".join(parts[:3] if parts[0] in ("census", "concentration") else parts[:2])


def _cell_id(table: str | None, key: str | None, column: str | None) -> tuple[str, str, str] | None:
    """A figure's source cell without the week (so the same cell of two partitions compares equal)."""
    if not table or key is None or column is None:
        return None
    try:
        parsed = json.loads(key)
    except ValueError:
        return table, key, column
    if isinstance(parsed, dict):
        parsed.pop("week_start", None)
    return table, json.dumps(parsed, ensure_ascii=False, sort_keys=True), column


def _flagged(
    facts: list[tuple[str, str, str | None, str | None, str | None, list[str]]],
) -> dict[tuple[tuple[str, str, str], str], list[str]]:
    """(cell, flag code) -> slots, over figure facts (the 本週變化 statements themselves excluded)."""
    out: dict[tuple[tuple[str, str, str], str], list[str]] = {}
    for slot, kind, table, key, column, flags in facts:
        if kind not in FIGURE_KINDS or slot.startswith("changes."):
            continue
        cell = _cell_id(table, key, column)
        if cell is None:
            continue
        for code in flags:
            out.setdefault((cell, code), []).append(slot)
    return out


def review_changes(book: FactBook, inp: WeekInputs) -> None:
    """Flags on figures this week that last week's figures of the same cell did not carry, and the reverse."""
    s = "changes.review"
    before_rows = inp.previous.get(FACTS, [])
    book.flag(f"{s}.comparable", bool(before_rows))
    if not before_rows:
        book.flag(f"{s}.has_new", False)
        book.flag(f"{s}.has_cleared", False)
        book.flag("changes.any", bool(book.facts.get("changes.any_before_review")))
        return
    now = _flagged([(f.slot, f.kind, f.source_table, f.source_key, f.source_column, list(f.flags)) for f in book])
    before = _flagged(
        [
            (
                r["slot"],
                r["kind"],
                r.get("source_table"),
                r.get("source_row_key"),
                r.get("source_column"),
                contract.split_flags(r.get("review_flags")),
            )
            for r in before_rows
        ]
    )
    for kind, this, other in (("new", now, before), ("cleared", before, now)):
        by_code: dict[str, list[str]] = {}
        for (cell, code), slots in this.items():
            if (cell, code) in other:
                continue
            subjects = by_code.setdefault(code, [])
            for slot in slots:
                sub = subject_of(slot)
                if sub not in subjects:
                    subjects.append(sub)
        for i, (code, subjects) in enumerate(sorted(by_code.items()), start=1):
            e = f"{s}.{kind}.{i}"
            book.enum(f"{e}.code", code)
            for j, sub in enumerate(sorted(subjects), start=1):
                book.enum(f"{e}.subjects.{j}", sub)
        book.flag(f"{s}.has_{kind}", bool(by_code))
    any_change = (
        book.facts["changes.any_before_review"].value
        or book.facts[f"{s}.has_new"].value
        or book.facts[f"{s}.has_cleared"].value
    )
    book.flag("changes.any", bool(any_change))


def comparable_sources(book: FactBook) -> None:
    """``changes.not_comparable.{i}``: the sources that had no partition last week (enum: census/comtrade/…)."""
    i = 0
    for src in ("census", "comtrade", "hhi", "announcements", "review"):
        f = book.facts.get(f"changes.{src}.comparable")
        if f is not None and not f.value:
            i += 1
            book.enum(f"changes.not_comparable.{i}", src)
    book.flag("changes.none_comparable", i == 5)
    book.flag("changes.some_not_comparable", 0 < i < 5)
