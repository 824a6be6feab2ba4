"""Facts of section 三 (政策更新): the week's MOFCOM items by importance and the reviewed supply-chain rules they fire."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from trade_pipeline.core import contract
from trade_pipeline.defs.trade_briefing.facts.model import FactBook
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, WeekInputs

MAX_POLICY_ITEMS = 13  # the seed's analysts read about a dozen items; the rest stay in the Extractor files
ANN = contract.MOFCOM_ANNOUNCEMENTS
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
    return sorted(inp.rows(ANN), key=lambda r: (-(r.get("importance") or 0),
                                                -(as_date(r.get("publish_date")) or date.min).toordinal(),
                                                str(r.get("announcement_id"))))


def is_new(inp: WeekInputs, row: dict[str, Any]) -> bool:
    d = as_date(row.get("publish_date"))
    return d is not None and inp.start <= d <= inp.end


def title_column(row: dict[str, Any]) -> str:
    return "title_zh_tw" if row.get("title_zh_tw") else "title"


def policy_facts(book: FactBook, inp: WeekInputs, files: ExtractorFiles) -> list[dict[str, Any]]:
    """``policies.<i>.*`` for the top items; returns the chosen rows (for the rules and the watch list)."""
    chosen = ranked_announcements(inp)[:MAX_POLICY_ITEMS]
    book.flag("policies.present", bool(chosen))
    for i, r in enumerate(chosen, start=1):
        s = f"policies.entries.{i}"
        book.ident(f"{s}.id", "code", str(r["announcement_id"]))
        book.cell(f"{s}.title", "md_text", ANN, r, title_column(r))
        book.flag(f"{s}.new_this_week", is_new(inp, r))
        if src := files.mofcom(r.get("extractor_path")):
            book.ident(f"{s}.source", "code", src)
        for col in ("publish_date", "effective_date", "suspended_until"):
            book.cell(f"{s}.{col}", "date", ANN, r, col)
        for col, kind in (("effective_note", "md_text"), ("doc_number", "md_text"), ("issuers", "md_list"),
                          ("controlled_items", "md_list"), ("entities", "md_list"), ("countries", "md_list"),
                          ("summary_zh_tw", "md_text")):
            if r.get(col):
                book.cell(f"{s}.{col}", kind, ANN, r, col)
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
    return (any(any(name in item for item in items) for name in rule.get("items", []))
            or any(k in text for k in rule.get("keywords", []))
            or (row.get("category") in rule.get("categories", [])))


def impact_facts(book: FactBook, chosen: list[dict[str, Any]], files: ExtractorFiles,
                 rules: list[dict[str, Any]] | None = None) -> None:
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
                book.cell(f"{s}.evidence.{j}", "md_text", ANN, r, title_column(r))
    book.flag("impacts.present", n > 0)
