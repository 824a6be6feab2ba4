"""Facts of section 三 (政策更新): the week's MOFCOM items by importance with their key provisions, and the reviewed
supply-chain rules they fire (the controls table, the timeline and the exposure tables: facts/controls.py).

Every reader-facing text is Traditional Chinese: a column's ``*_zh_tw`` rendering when the layer stores one (文號,
effective-date quote, title), else the stored original converted by the layer's own converter
(``cn_export_control.zh_tw.to_zh_tw``) as the fact's transform, so verify recomputes the same text."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from trade_pipeline.core import contract
from trade_pipeline.defs.cn_export_control.zh_tw import to_zh_tw
from trade_pipeline.defs.trade_briefing.facts.model import Fact, FactBook
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, WeekInputs

MAX_POLICY_ITEMS = 13  # the seed's analysts read about a dozen items; the rest stay in the Extractor files
MAX_PROVISIONS = 8  # per item; the count of the rest is printed, and every provision is in the Extractor file
ANN = contract.MOFCOM_ANNOUNCEMENTS
PROV = contract.MOFCOM_PROVISIONS
#: Provision kinds that are not printed: the licensing procedure, unclassified text, and a list's lead-in sentence
#: ("滿足以下特性的物項，未經許可，不得出口：") whose items follow as their own provisions.
SKIPPED_PROVISION_KINDS = frozenset({"procedure", "other", "scope"})
CATEGORY_ZH = {
    "regulation_update": "法規更新",
    "controlled_item_change": "管制物項變更",
    "enforcement_action": "執法行動",
    "policy_guidance": "政策指引",
    "international_cooperation": "國際合作",
}
FETCH_NOTE = {
    "title_only": "僅取得標題，內文擷取失敗",
    "garbled": "內文為亂碼，未採用",
    "failed": "擷取失敗",
}
RULES_FILE = Path(__file__).parents[1] / "templates" / "supply_chain_rules.yaml"


def as_date(v: Any) -> date | None:
    if v is None:
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def split_items(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(";") if t.strip()]


def ranked_announcements(inp: WeekInputs) -> list[dict[str, Any]]:
    """The layer's importance first (higher leads), then the newest; ties broken by id for a stable order."""
    return sorted(
        inp.rows(ANN),
        key=lambda r: (
            -(r.get("importance") or 0),
            -(as_date(r.get("publish_date")) or date.min).toordinal(),
            str(r.get("announcement_id")),
        ),
    )


def is_new(inp: WeekInputs, row: dict[str, Any]) -> bool:
    d = as_date(row.get("publish_date"))
    return d is not None and inp.start <= d <= inp.end


def zh_cell(book: FactBook, slot: str, kind: str, table: str, row: dict[str, Any], column: str) -> Fact | None:
    """A reader-facing text in Traditional Chinese: ``<column>_zh_tw`` when the row has it, else ``column``
    converted (the layer's zh-TW converter as the fact's transform). None when the row has neither."""
    if str(row.get(f"{column}_zh_tw") or "").strip():
        return book.cell(slot, kind, table, row, f"{column}_zh_tw")
    if str(row.get(column) or "").strip():
        return book.cell(slot, kind, table, row, column, transform=to_zh_tw)
    return None


def title_cell(book: FactBook, slot: str, row: dict[str, Any]) -> Fact:
    """An announcement's title in Traditional Chinese (title_zh_tw, else the original converted)."""
    return zh_cell(book, slot, "md_text", ANN, row, "title") or book.cell(slot, "md_text", ANN, row, "title_zh_tw")


def key_provisions(inp: WeekInputs, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The provisions an item prints, in body order: not the skipped kinds; an effective-date clause only when the
    item has no effective-date quote of its own (the quote is printed with the date); a repeated text (an annex
    named twice) once."""
    has_note = bool(str(row.get("effective_note_zh_tw") or row.get("effective_note") or "").strip())
    out, seen = [], set()
    for p in sorted(
        (p for p in inp.rows(PROV) if p.get("announcement_id") == row.get("announcement_id")),
        key=lambda p: p.get("seq") or 0,
    ):
        kind = p.get("kind") or "other"
        if kind in SKIPPED_PROVISION_KINDS or (kind == "effective" and has_note):
            continue
        text = " ".join(str(p.get("text_zh_tw") or "").split())
        if not text or (kind, text) in seen:
            continue
        seen.add((kind, text))
        out.append(p)
    return out


def provision_facts(book: FactBook, s: str, inp: WeekInputs, row: dict[str, Any]) -> None:
    """``<item>.provisions.<j>.*`` (clause number, kind, text, thresholds, codes, entity count, suspension window)
    and ``<item>.provisions_more`` (how many more the Extractor file lists)."""
    provisions = key_provisions(inp, row)
    for j, p in enumerate(provisions[:MAX_PROVISIONS], start=1):
        t = f"{s}.provisions.{j}"
        for name, kind, column in (
            ("clause", "md_text", "clause_no_zh_tw"),
            ("kind", "md_text", "kind_zh_tw"),
            ("text", "md_text", "text_zh_tw"),
            ("thresholds", "md_text", "thresholds_zh_tw"),
            ("customs_codes", "md_list", "customs_codes"),
            ("hs6_codes", "md_list", "hs6_codes"),
            ("suspension_start", "date", "suspension_start"),
            ("suspension_until", "date", "suspension_until"),
        ):
            if str(p.get(column) or "").strip():
                book.cell(f"{t}.{name}", kind, PROV, p, column)
        if p.get("entity_count"):
            book.cell(f"{t}.entity_count", "count", PROV, p, "entity_count")
    if len(provisions) > MAX_PROVISIONS:
        rest = provisions[MAX_PROVISIONS:]
        book.aggregate(
            f"{s}.provisions_more",
            "count",
            len(rest),
            PROV,
            {"announcement_id": row.get("announcement_id"), "seq": {"in": [p.get("seq") for p in rest]}},
            "count(*)",
            rows=rest,
        )


def policy_facts(book: FactBook, inp: WeekInputs, files: ExtractorFiles) -> list[dict[str, Any]]:
    """``policies.<i>.*`` for the top items; returns the chosen rows (for the rules and the watch list)."""
    chosen = ranked_announcements(inp)[:MAX_POLICY_ITEMS]
    book.flag("policies.present", bool(chosen))
    for i, r in enumerate(chosen, start=1):
        s = f"policies.entries.{i}"
        book.ident(f"{s}.id", "code", str(r["announcement_id"]))
        title_cell(book, f"{s}.title", r)
        book.flag(f"{s}.new_this_week", is_new(inp, r))
        if src := files.mofcom(r.get("extractor_path")):
            book.ident(f"{s}.source", "code", src)
        for col in ("publish_date", "effective_date", "suspended_until"):
            book.cell(f"{s}.{col}", "date", ANN, r, col)
        # 文號 and the effective-date quote in their zh-TW renderings; lists the layer keeps verbatim, converted
        for col, kind in (
            ("effective_note", "md_text"),
            ("doc_number", "md_text"),
            ("issuers", "md_list"),
            ("controlled_items", "md_list"),
            ("entities", "md_list"),
            ("countries", "md_list"),
        ):
            zh_cell(book, f"{s}.{col}", kind, ANN, r, col)
        provision_facts(book, s, inp, r)
        book.enum(f"{s}.category", CATEGORY_ZH.get(r.get("category") or "", "未分類"))
        book.enum(f"{s}.confidence", r.get("confidence") or "")
        book.enum(f"{s}.fetch_note", FETCH_NOTE.get(r.get("fetch_status") or "ok"))
        book.enum(f"{s}.flags", contract.join_flags(book.flags_of(ANN, r)))
    return chosen


def load_rules(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    """The supply-chain rules file, parsed once per version of the file (path, mtime, size)."""
    stat = path.stat()
    return list(_load_rules(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _load_rules(path: str, _mtime_ns: int, _size: int) -> tuple[dict[str, Any], ...]:
    rules = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["rules"]
    for rule in rules:
        if any(ch.isdigit() for ch in rule["text"] + rule["title"]):
            raise ValueError(f"supply-chain rule {rule['id']!r} contains a figure; rules must not print numbers")
    return tuple(rules)


def rule_matches(rule: dict[str, Any], row: dict[str, Any]) -> bool:
    items = set(split_items(row.get("controlled_items")))
    text = f"{row.get('title_zh_tw') or ''} {row.get('summary_zh_tw') or ''}"
    return (
        any(any(name in item for item in items) for name in rule.get("items", []))
        or any(k in text for k in rule.get("keywords", []))
        or (row.get("category") in rule.get("categories", []))
    )


def impact_facts(
    book: FactBook, chosen: list[dict[str, Any]], files: ExtractorFiles, rules: list[dict[str, Any]] | None = None
) -> None:
    """``impacts.<rule id>``: each reviewed rule fired by a chosen item whose text was read, with its evidence."""
    n = 0
    for rule in rules if rules is not None else load_rules():
        hits = [r for r in chosen if r.get("fetch_status") in (None, "ok") and rule_matches(rule, r)]
        if not hits:
            continue
        n += 1
        s = f"impacts.entries.{n}"
        book.enum(f"{s}.id", rule["id"])
        book.enum(f"{s}.title", rule["title"])
        book.enum(f"{s}.text", rule["text"])
        j = 0
        for r in hits:
            j += 1
            if src := files.mofcom(r.get("extractor_path")):
                book.ident(f"{s}.evidence.{j}", "code", src)
            else:
                title_cell(book, f"{s}.evidence.{j}", r)
    book.flag("impacts.present", n > 0)
