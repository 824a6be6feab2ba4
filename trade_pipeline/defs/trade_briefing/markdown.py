"""Markdown safety and number scanning for the briefing.

Scraped text (MOFCOM titles, entity names, summaries) is data: it is escaped for markdown tables and for the
Jekyll/Liquid site the reports are published on, and it is never handed to jinja as template source.
"""

from __future__ import annotations

import re

import yaml

# The escaper lives in core (the layers' Extractor files use it too); re-exported here for the report's modules.
from trade_pipeline.core.markdown import md_escape, md_list  # noqa: E402,F401


def yaml_scalar(text: object) -> str:
    """A one-line YAML double-quoted scalar (front matter values)."""
    dumped = yaml.safe_dump(str(text), allow_unicode=True, default_style='"', width=10_000).strip()
    return dumped.removesuffix("\n...").strip()


def split_front_matter(markdown: str) -> tuple[str | None, str]:
    """('---' YAML block without fences, body) or (None, whole text) when there is no front matter."""
    if not markdown.startswith("---\n"):
        return None, markdown
    end = markdown.find("\n---\n", 4)
    if end < 0:
        return None, markdown
    return markdown[4:end], markdown[end + 5:]


# --- number scanning --------------------------------------------------------------------------------------------

NUMBER_RE = re.compile(r"[+\-]?\d[\d,]*(?:\.\d+)?")
EXTRACTOR_PATH_RE = re.compile(r"Extractor/[^\s`)）、，,；;*]+?\.md")

# Digits that are not figures: identifiers, dates, numbering. Each pattern is replaced by a placeholder before
# the remaining numbers are matched against recorded claims.
_IGNORED = [
    re.compile(r"https?://\S+"),
    EXTRACTOR_PATH_RE,
    re.compile(r"[\w.\-]+\.md\b"),
    re.compile(r"&#\d+;"),
    re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z?"),  # timestamps
    re.compile(r"\d{4}-W\d{2}"),  # ISO weeks
    re.compile(r"\d{4}-\d{2}-\d{2}"),  # dates
    re.compile(r"第 ?\d{1,2} ?週"),
    # years, months and year-to-date spans: "2024 年", "2025 年 1-10 月", "2025 年 9 月"
    re.compile(r"\d{4} ?年(?: ?\d{1,2}(?:-\d{1,2})? ?月(?: ?\d{1,2} ?日)?)?"),
    re.compile(r"HS ?\d{1,8}"),  # HS codes
    re.compile(r"Partner \d{1,4}"),  # Comtrade partner codes
    re.compile(r"(?<= )\(\d{3,4}\)"),  # reporter/partner code after a name: "美國 (842)"
    re.compile(r"^[ \t]*\d+\. ", re.MULTILINE),  # list numbering (never across lines)
]


def mask_ignored(body: str, text_claims: list[str]) -> str:
    """Blank out recorded data text (longest first) and everything that is an identifier rather than a figure."""
    for text in sorted({t for t in text_claims if t}, key=len, reverse=True):
        body = body.replace(text, " ⟦text⟧ ")
    for pattern in _IGNORED:
        body = pattern.sub(" ⟦id⟧ ", body)
    return body


def number_tokens(text: str) -> list[str]:
    return NUMBER_RE.findall(text)


def find_figures(body: str, text_claims: list[str]) -> list[tuple[int, str, str]]:
    """Every figure left in ``body`` after masking: (line number, token, line text)."""
    out: list[tuple[int, str, str]] = []
    original_lines = body.split("\n")
    masked_lines = mask_ignored(body, text_claims).split("\n")
    # Masking never adds or removes newlines (placeholders are single-line), so line numbers stay aligned.
    for i, line in enumerate(masked_lines):
        for token in number_tokens(line):
            out.append((i + 1, token, original_lines[i] if i < len(original_lines) else line))
    return out
