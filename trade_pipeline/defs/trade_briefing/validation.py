"""Validation of a rendered report's frame: cited files present, front matter YAML, ISO-week period (the figures
are verified by verify.py)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import yaml

from trade_pipeline.core.partitions import iso_week_label, week_end, week_start
from trade_pipeline.defs.trade_briefing.markdown import EXTRACTOR_PATH_RE, split_front_matter

PERIOD_RE = re.compile(r"報告期間：(\d{4}-\d{2}-\d{2}) — (\d{4}-\d{2}-\d{2})")
PERIOD_RE_EN = re.compile(r"Period: (\d{4}-\d{2}-\d{2}) — (\d{4}-\d{2}-\d{2})")
REQUIRED_FRONT_MATTER = (
    "layout",
    "title",
    "parent",
    "nav_order",
    "description",
    "date",
    "article_section",
    "keywords",
    "related_reports",
)


def missing_citations(markdown: str, site_root: Path) -> tuple[list[str], list[str]]:
    """(cited Extractor paths, those that do not exist under the site root)."""
    cited = sorted(set(EXTRACTOR_PATH_RE.findall(markdown)))
    root = site_root.resolve()
    missing = []
    for rel in cited:
        target = (root / rel).resolve()
        if root not in target.parents or not target.is_file():
            missing.append(rel)
    return cited, missing


def _english(lang: str | None) -> bool:
    return (lang or "zh-TW").split("-")[0].lower() == "en"


def front_matter_problems(markdown: str, key: str, lang: str | None = None) -> list[str]:
    fm, _ = split_front_matter(markdown)
    if fm is None:
        return ["no front matter block (--- … ---) at the top"]
    try:
        data = yaml.safe_load(fm)
    except yaml.YAMLError as exc:
        return [f"front matter is not valid YAML: {exc}"]
    if not isinstance(data, dict):
        return ["front matter is not a YAML mapping"]
    problems = [f"missing key {k!r}" for k in REQUIRED_FRONT_MATTER if k not in data]
    y, w = iso_week_label(key).split("-W")
    title = f"{y} Week {w}" if _english(lang) else f"{y} 年第 {w} 週"
    if data.get("title") != title:
        problems.append(f"title {data.get('title')!r} is not '{title}'")
    if not isinstance(data.get("nav_order"), int) or data.get("nav_order", 0) < 1:
        problems.append("nav_order must be a positive integer")
    if not isinstance(data.get("related_reports", []), list):
        problems.append("related_reports must be a list")
    return problems


def period_problems(markdown: str, key: str, lang: str | None = None) -> list[str]:
    m = (PERIOD_RE_EN if _english(lang) else PERIOD_RE).search(markdown)
    if not m:
        return [
            "no 'Period: YYYY-MM-DD — YYYY-MM-DD' line"
            if _english(lang)
            else "no '報告期間：YYYY-MM-DD — YYYY-MM-DD' line"
        ]
    start, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
    problems = []
    if start != week_start(key) or end != week_end(key):
        problems.append(
            f"period {start} — {end} is not the ISO week {iso_week_label(key)} ({week_start(key)} — {week_end(key)})"
        )
    if start.weekday() != 0 or end - start != timedelta(days=6):
        problems.append("period must run Monday to Sunday")
    return problems
