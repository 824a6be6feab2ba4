"""Generic report diff: render one week from undamaged and from damaged captures, return every report line or table
row whose figures changed, and say which of them carry neither ``[REVIEW_NEEDED]`` nor a withheld note.

A line "changed" when the damaged report has it and the undamaged one does not (difflib over the lines, order kept)
and it holds a figure (a digit); a line the damaged report lost is a change too (its figure vanished). The promise
checked: every changed line that is printed carries ``[REVIEW_NEEDED]`` or a withheld note, and a figure that
vanished is explained by a withheld note somewhere in the damaged report.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

REVIEW = "[REVIEW_NEEDED]"
#: words the report uses when it withholds a figure instead of printing it (any of them counts as the note)
WITHHELD_MARKERS = ("[WITHHELD]", "暫不提供", "暫不列出", "不予列出", "資料不完整，未列出", "未列出")
_FIGURE = re.compile(r"\d")


@dataclass(frozen=True)
class Change:
    old: str | None  # the undamaged line (None: the line is new)
    new: str | None  # the damaged line (None: the line vanished)

    @property
    def marked(self) -> bool:
        text = self.new or ""
        return REVIEW in text or any(m in text for m in WITHHELD_MARKERS)


def changed_lines(undamaged: str, damaged: str) -> list[Change]:
    """Every line with a figure that differs between the two reports (replaced, added or removed)."""
    a, b = undamaged.splitlines(), damaged.splitlines()
    out: list[Change] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            old = olds[k] if k < len(olds) else None
            new = news[k] if k < len(news) else None
            if any(x is not None and _FIGURE.search(x) for x in (old, new)):
                out.append(Change(old, new))
    return out


def unmarked_changes(undamaged: str, damaged: str) -> list[Change]:
    """Changed lines that break the promise: printed without a mark, or vanished without any withheld note."""
    has_note = any(m in damaged for m in WITHHELD_MARKERS)
    bad = []
    for c in changed_lines(undamaged, damaged):
        if c.new is None:
            if not has_note:
                bad.append(c)
        elif not c.marked:
            bad.append(c)
    return bad
