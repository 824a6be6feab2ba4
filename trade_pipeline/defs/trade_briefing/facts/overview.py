"""Facts of the running text of sections 一/二: the reporters grouped by what they have in common, so the prose
compares them in one sentence instead of repeating one sentence per reporter (the tables keep the per-reporter
figures).

Groups are references (``enum`` facts holding a slot path such as ``exports.392``): the figures printed for a member
are that member's own facts. Extremes chosen among reporters are cells with every candidate row as ``depends``.

- ``overview.<flow>.top_partner.<i>`` — reporters whose largest partner is the same (largest group first);
- ``overview.<flow>.top_chapter.<i>`` — reporters whose largest HS2 chapter is the same;
- ``overview.X.levels.<i>`` — reported (non-mirror) series by HHI band; ``overview.X.mirrors`` — mirror estimates;
- ``overview.X.top3_high`` / ``top3_low`` — the highest/lowest top-three share among reported series;
- ``overview.<flow>.missing`` / ``narrow`` / ``flagged`` — reporters without rows, with truncated coverage, with flags;
  the partner sentence names ``missing`` after its groups, the chapter sentence ``top_chapter_absent`` (no rows, or
  no HS2 structure for the year shown; mirror series have none by construction), each as withheld;
- ``overview.M.china_deficits`` / ``china_surpluses`` — balances with China (UN Comtrade), largest deficit first;
  ``china_withheld`` — reporters whose balance row with China has no figure (printed as withheld, with the reason);
- ``overview.taiwan_pair`` — both Taiwan series present (own filing 490 and mirror 158): the prose explains why they
  differ where they meet;
- ``census.deficit_count`` / ``census.all_deficit`` / ``census.most_concentrated_deficit`` — the Census partners in
  deficit, and the one whose deficit is most concentrated in one chapter.
"""

from __future__ import annotations

from typing import Any

from trade_pipeline.core import contract
from trade_pipeline.defs.trade_briefing.facts.comtrade import (
    MC,
    concentration_row,
    latest_year,
    reporter_name,
    reporters,
)
from trade_pipeline.defs.trade_briefing.facts.model import FactBook, FactTree
from trade_pipeline.defs.trade_briefing.inputs import WeekInputs

TB = contract.CENSUS_TRADE_BALANCE
FLOW_BASE = {"X": "exports", "M": "imports"}


def _groups(book: FactBook, slot: str, keyed: list[tuple[str | None, str]], ref_child: str) -> None:
    """Groups of member slots by key (None keys skipped), largest group first, then by first appearance."""
    groups: dict[str, list[str]] = {}
    for key, member in keyed:
        if key:
            groups.setdefault(key, []).append(member)
    ordered = sorted(groups.values(), key=lambda ms: -len(ms))  # stable: ties keep first appearance
    for i, members in enumerate(ordered, start=1):
        g = f"{slot}.{i}"
        book.enum(f"{g}.ref", f"{members[0]}.{ref_child}")
        book.flag(f"{g}.several", len(members) > 1)
        for j, m in enumerate(members, start=1):
            book.enum(f"{g}.members.{j}", m)
    book.flag(f"{slot}_present", bool(groups))


def _refs(book: FactBook, slot: str, members: list[str]) -> None:
    for j, m in enumerate(members, start=1):
        book.enum(f"{slot}.{j}", m)
    book.flag(f"{slot}_present", bool(members))


def overview_facts(book: FactBook, inp: WeekInputs, tree: FactTree) -> None:
    for flow, base in FLOW_BASE.items():
        nodes = tree.get_path(base) or {}
        slot = f"overview.{flow}"
        present = [(rc, e) for rc, e in nodes.items() if not e.missing and e.top]
        _groups(
            book,
            f"{slot}.top_partner",
            [(e.top["1"].code.text if "1" in e.top else None, f"{base}.{rc}") for rc, e in present],
            "top.1",
        )
        _groups(
            book,
            f"{slot}.top_chapter",
            [(e.top_chapter.hs2.text if e.top_chapter else None, f"{base}.{rc}") for rc, e in present],
            "top_chapter",
        )
        _refs(book, f"{slot}.missing", [f"{base}.{rc}" for rc, e in nodes.items() if e.missing or not e.top])
        # reporters the chapter sentence cannot name (no rows, or no HS2 structure for the year shown): said after
        # its groups, never left out. A mirror series has no HS2 structure by construction (partners' reports).
        _refs(
            book,
            f"{slot}.top_chapter_absent",
            [
                f"{base}.{rc}"
                for rc, e in nodes.items()
                if e.label.enum != "taiwan_mirror" and (e.missing or not e.top or not e.top_chapter)
            ],
        )
        _refs(book, f"{slot}.flagged", [f"{base}.{rc}" for rc, e in present if e.flags and e.flags.enum])
        if flow == "X":
            _refs(book, f"{slot}.narrow", [f"{base}.{rc}" for rc, e in present if e.narrow_coverage])
            reported = [(rc, e) for rc, e in present if not e.is_mirror and e.level]
            _groups(book, f"{slot}.levels", [(e.level.enum, f"{base}.{rc}") for rc, e in reported], "level")
            _refs(book, f"{slot}.mirrors", [f"{base}.{rc}" for rc, e in present if e.is_mirror])
            _top3_extremes(book, inp, slot)
        else:
            balances = [(rc, e) for rc, e in present if e.china_balance and e.china_balance.balance]
            balances.sort(key=lambda x: x[1].china_balance.balance.value)
            _refs(
                book,
                f"{slot}.china_deficits",
                [f"{base}.{rc}" for rc, e in balances if e.china_balance.sign.enum == "deficit"],
            )
            _refs(
                book,
                f"{slot}.china_surpluses",
                [f"{base}.{rc}" for rc, e in reversed(balances) if e.china_balance.sign.enum == "surplus"],
            )
            # a balance row whose figure is missing (a side withheld over flagged input): said, never left out
            _refs(
                book,
                f"{slot}.china_withheld",
                [f"{base}.{rc}" for rc, e in present if e.china_balance and not e.china_balance.balance],
            )
    exports = tree.get_path("exports") or {}
    own, mirror = exports.get("490"), exports.get("158")
    book.flag(
        "overview.taiwan_pair",
        bool(own) and bool(mirror) and not own.missing and not mirror.missing and bool(own.top) and bool(mirror.top),
    )
    _census(book, inp, tree)


def _top3_extremes(book: FactBook, inp: WeekInputs, slot: str) -> None:
    rows = inp.rows(MC)
    cands: list[dict[str, Any]] = []
    for rc in reporters(inp):
        r = concentration_row(rows, rc, "X", latest_year(rows, rc, "X"))
        if r is not None and r.get("top3_share_pct") is not None and not r.get("is_mirror"):
            cands.append(r)
    book.flag(f"{slot}.top3_extremes", len(cands) >= 2)
    if len(cands) < 2:
        return
    deps = [(MC, c) for c in cands]
    for name, r in (
        ("top3_high", max(cands, key=lambda r: r["top3_share_pct"])),
        ("top3_low", min(cands, key=lambda r: r["top3_share_pct"])),
    ):
        reporter_name(book, inp, f"{slot}.{name}", r["reporter_code"])
        book.cell(f"{slot}.{name}.share", "pct", MC, r, "top3_share_pct", depends=deps)


def _census(book: FactBook, inp: WeekInputs, tree: FactTree) -> None:
    partners = tree.get_path("census.partners") or {}
    if not partners:
        return
    totals = [r for r in inp.rows(TB) if r["hs2"] == "TOTAL"]
    deficits = [r for r in totals if r.get("balance_usd") is not None and r["balance_usd"] < 0]
    book.aggregate(
        "census.deficit_count",
        "count",
        len(deficits),
        TB,
        {"hs2": "TOTAL", "balance_usd": {"lt": 0}},
        "count(*)",
        rows=totals,
    )
    book.flag("census.all_deficit", bool(totals) and len(deficits) == len(totals), depends=[(TB, t) for t in totals])
    # the partner whose largest deficit chapter has the largest share of its deficit, chosen among every chapter
    chapters = [r for r in inp.rows(TB) if r["hs2"] != "TOTAL"]
    best = None
    for cty, p in partners.items():
        if not (p.deficit and p.top_deficit and p.top_deficit.share):
            continue
        row = next((r for r in chapters if r["cty_code"] == cty and r["hs2"] == p.top_deficit.hs2.text), None)
        if row is not None and (best is None or row["share_of_deficit_pct"] > best["share_of_deficit_pct"]):
            best = row
    book.flag("census.has_concentrated_deficit", best is not None)
    if best is not None:
        book.enum("census.most_concentrated_deficit", f"census.partners.{best['cty_code']}")
        book.cell(
            "census.most_concentrated_deficit_share",
            "pct",
            TB,
            best,
            "share_of_deficit_pct",
            depends=[(TB, r) for r in chapters],
        )
