"""Markdown safety for the briefing.

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
    return markdown[4:end], markdown[end + 5 :]


#: A cited Extractor file path inside report text.
EXTRACTOR_PATH_RE = re.compile(r"Extractor/[^\s`)）、，,；;*]+?\.md")
