"""Markdown safety for scraped text, shared by every layer that writes markdown (Extractor files, the report).

Scraped text (MOFCOM titles, entity names, body paragraphs) is data: escaped for markdown (tables, lists) and for the
Jekyll/Liquid site the files are published on, and never handed to jinja or Liquid as template source.
"""

from __future__ import annotations

import re

# Order matters: '&' first so the entities we add are not escaped again.
_REPLACEMENTS = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    # Liquid (Jekyll) would evaluate {{ }} and {% %} in published pages: neutralise braces as HTML entities.
    ("{", "&#123;"),
    ("}", "&#125;"),
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_escape(text: object) -> str:
    """Escape one value for inline markdown and table cells: one line, no markup, no template syntax."""
    s = " ".join(str(text).split())  # newlines and tabs would break a table row or a list item
    s = _MD_SPECIAL.sub(r"\\\1", s)
    for old, new in _REPLACEMENTS:
        s = s.replace(old, new)
    return s


def md_list(text: object, sep: str = ";") -> str:
    """A ';'-joined stored list printed as '、'-joined escaped text."""
    return md_escape("、".join(t.strip() for t in str(text).split(sep) if t.strip()))
