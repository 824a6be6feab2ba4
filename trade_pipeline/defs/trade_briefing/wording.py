"""Repetition check over a rendered report: no sentence template may repeat more than twice in a section.

A sentence's *skeleton* is its text with every printed fact (claims: figures, names, dates, codes) replaced by a
placeholder of its kind, review marks and flag words removed and note numbers dropped — what is left is the
template's own wording. Skeletons are counted per ``## `` section over running text: tables, headings, source-note
lists, the labelled fields of a list entry (``   - 發布日期：…``) and the items nested under them (a quoted
provision with its thresholds) are records, not sentences, and a skeleton with
fewer than :data:`MIN_WORDING` characters of its own wording is a label, not a template.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from trade_pipeline.core import contract
from trade_pipeline.defs.trade_briefing.markdown import split_front_matter
from trade_pipeline.defs.trade_briefing.printing import REVIEW_MARK

MAX_REPEATS = 2
MIN_WORDING = 8
_FIELD = re.compile(r"^\s+[-*] [^：:]{1,24}[：:]")
_NESTED = re.compile(r"^\s{4,}[-*] ")  # an item nested in a list entry's field: a quoted clause or datum
_SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[.!?])(?=\s|$)")
_NOTE = re.compile(r"〔\d+〕")
_LIST_MARK = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")
_WORDING = re.compile(r"[^\W\d_]", re.UNICODE)


def _flag_words() -> list[str]:
    words = {w for f in contract.FLAGS.values() for w in (f.zh, f.en) if w}
    return sorted(words, key=len, reverse=True)


def _skeleton_lines(body: str, claims: Iterable[dict[str, Any]]) -> list[str]:
    lines = body.split("\n")
    by_line: dict[int, list[dict[str, Any]]] = {}
    for c in claims:
        if c.get("slot") is not None and c.get("line") is not None:
            by_line.setdefault(int(c["line"]), []).append(c)
    out = []
    for n, line in enumerate(lines):
        for c in sorted(by_line.get(n, []), key=lambda c: -int(c["col"])):
            col, text = int(c["col"]), str(c["claim_text"])
            end = col + len(text)
            if line[col:end] == text:
                line = f"{line[:col]}〈{c['kind']}〉{line[end:]}"
        out.append(line)
    return out


def skeletons(markdown: str, claims: Iterable[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Section heading → Counter of sentence skeletons in its running text."""
    _, body = split_front_matter(markdown)
    flag_words = _flag_words()
    sections: dict[str, Counter[str]] = {}
    current = ""
    for line in _skeleton_lines(body, claims):
        if line.startswith("## "):
            current = line[3:].strip()
            continue
        stripped = line.strip()
        if (
            not stripped
            or stripped.startswith(("|", "#", "---", "- 〔", "**來源**", "**Sources**"))
            or _FIELD.match(line)
            or _NESTED.match(line)
        ):
            continue
        text = _NOTE.sub("", line).replace(REVIEW_MARK, "")
        for w in flag_words:
            text = text.replace(w, "〈flag〉")
        text = _LIST_MARK.sub("", text)
        for sentence in _SENTENCE_END.split(text):
            s = " ".join(sentence.split())
            if len(_WORDING.findall(re.sub(r"〈\w+〉", "", s))) >= MIN_WORDING:
                sections.setdefault(current, Counter())[s] += 1
    return sections


def repeated_templates(
    markdown: str, claims: Iterable[dict[str, Any]], limit: int = MAX_REPEATS
) -> list[tuple[str, str, int]]:
    """(section, skeleton, count) of every sentence template printed more than ``limit`` times in a section."""
    return [
        (sec, sk, n)
        for sec, counter in skeletons(markdown, list(claims)).items()
        for sk, n in counter.items()
        if n > limit
    ]
