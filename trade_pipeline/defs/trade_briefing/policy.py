"""Section 三 (政策更新): the week's MOFCOM items by importance, and the reviewed supply-chain impact rules."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup

from trade_pipeline.defs.trade_briefing.claims import ClaimRecorder
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, WeekInputs

MAX_POLICY_ITEMS = 13  # the seed's analysts read about a dozen items; the rest stay in the Extractor files
ANN_KEYS = ("announcement_id",)
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
RULES_FILE = Path(__file__).parent / "templates" / "supply_chain_rules.yaml"


def _as_date(v: Any) -> date | None:
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
    rows = inp.rows("mofcom_announcements")
    return sorted(rows, key=lambda r: (-(r.get("importance") or 0),
                                       -(_as_date(r.get("publish_date")) or date.min).toordinal(),
                                       str(r.get("announcement_id"))))


def new_this_week(inp: WeekInputs) -> list[dict[str, Any]]:
    return [r for r in inp.rows("mofcom_announcements")
            if (d := _as_date(r.get("publish_date"))) is not None and inp.start <= d <= inp.end]


def policy_items(inp: WeekInputs, rec: ClaimRecorder, files: ExtractorFiles) -> list[dict[str, Any]]:
    items = []
    for r in ranked_announcements(inp)[:MAX_POLICY_ITEMS]:
        def t(column: str, kind: str = "md_text") -> Markup:
            return rec.text(r.get(column), "mofcom_announcements", r, ANN_KEYS, column, kind)

        flags = [f for f in (r.get("review_flags") or "").split(";") if f]
        items.append({
            "id": r["announcement_id"],
            "title": t("title_zh_tw") if r.get("title_zh_tw") else t("title"),
            "source": files.mofcom(r.get("extractor_path")),
            "publish_date": _as_date(r.get("publish_date")),
            "effective_date": _as_date(r.get("effective_date")),
            "suspended_until": _as_date(r.get("suspended_until")),
            "effective_note": t("effective_note") if r.get("effective_note") else None,
            "doc_number": t("doc_number") if r.get("doc_number") else None,
            "issuers": t("issuers", "md_list") if r.get("issuers") else None,
            "category": CATEGORY_ZH.get(r.get("category") or "", "未分類"),
            "controlled_items": t("controlled_items", "md_list") if r.get("controlled_items") else None,
            "entities": t("entities", "md_list") if r.get("entities") else None,
            "countries": t("countries", "md_list") if r.get("countries") else None,
            "summary": t("summary_zh_tw") if r.get("summary_zh_tw") else None,
            "confidence": r.get("confidence") or "",
            "fetch_note": FETCH_NOTE.get(r.get("fetch_status") or "ok"),
            "flags": t("review_flags", "md_list") if flags else None,
            "new_this_week": (d := _as_date(r.get("publish_date"))) is not None and inp.start <= d <= inp.end,
            "row": r,
        })
    return items


def load_rules(path: Path = RULES_FILE) -> list[dict[str, Any]]:
    """The supply-chain rules file, parsed once per version of the file (path, mtime, size), not once per week.
    The rule dicts are shared between callers: read them, never change them."""
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


def supply_chain_impacts(items: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Rules fired by the report's selected items, each with the files that triggered it."""
    out = []
    for rule in rules if rules is not None else load_rules():
        hits = [i for i in items if i["fetch_note"] is None and rule_matches(rule, i["row"])]
        if hits:
            out.append({"id": rule["id"], "title": rule["title"], "text": rule["text"],
                        "evidence": [i["source"] for i in hits if i["source"]],
                        "evidence_titles": [i["title"] for i in hits if not i["source"]]})
    return out
