"""Generic report diff: render one week from undamaged and from damaged captures, return every report line or table
row whose figures changed, and say which of them carry neither ``[REVIEW_NEEDED]`` nor a withheld note.

Lines are aligned with difflib on their text with the figures masked (order kept), so a statement whose figures
changed stays paired with itself; inside a block that differs, each line is paired with its most alike counterpart
(or stands alone), so an inserted list item does not shift every later line onto the wrong partner, and a table row
the damaged report lists elsewhere (its table is sorted by a figure that changed) is paired with itself by its first
cell. A pair "changed" when the figures it prints differ: the numbers of the line, leaving out what is not a figure —
the ordinal of a numbered list item (``8.`` → ``9.`` when an item is inserted above) and the digits inside a cited
file name (``Extractor/…/842-export-2024.md``) and a source-note number (``〔3〕``). A line the damaged report gained or lost is a change when it holds a
figure (a lost figure vanished). The promise checked: every changed line that is printed carries ``[REVIEW_NEEDED]``
or a withheld note, and a figure that vanished is explained by a withheld note somewhere in the damaged report.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

REVIEW = "[REVIEW_NEEDED]"
#: words the report uses when it withholds a figure instead of printing it (any of them counts as the note; the
#: English edition says "withheld")
WITHHELD_MARKERS = ("[WITHHELD]", "暫不提供", "暫不列出", "不予列出", "資料不完整，未列出", "未列出", "withheld")
_LIST_ORDINAL = re.compile(r"^(\s*(?:>\s*)*)\d+\.(?=\s)")  # '8. **…**' (a numbered item), also quoted
_CITED_FILE = re.compile(r"[\w./-]+\.md\b")  # a file the report cites: a name, not a figure
_NOTE_REF = re.compile(r"〔\d+〕")  # a numbered source note: its number is a reference, not a figure
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _strip(line: str) -> str:
    return _NOTE_REF.sub("〔〕", _CITED_FILE.sub("", _LIST_ORDINAL.sub(r"\1", line, count=1)))


def figures(line: str | None) -> tuple[str, ...]:
    """The numbers a line prints, in order (no list ordinal, no digits of a cited file name)."""
    return () if line is None else tuple(_NUMBER.findall(_strip(line)))


def _shape(line: str) -> str:
    return _NUMBER.sub("#", _strip(line)).replace(f" {REVIEW}", "")


@dataclass(frozen=True)
class Change:
    old: str | None  # the undamaged line (None: the line is new)
    new: str | None  # the damaged line (None: the line vanished)

    @property
    def marked(self) -> bool:
        text = self.new or ""
        return REVIEW in text or any(m in text for m in WITHHELD_MARKERS)


SIMILAR = 0.6  # two lines whose masked texts are at least this alike are the same statement with other figures


def _likeness(old: str, new: str) -> float:
    """How alike two lines are with their figures masked; table rows are alike only when they are the same row
    (same first cell, as many cells): two rows of one table always look alike."""
    if (_row_key(old) is not None or _row_key(new) is not None) and _row_key(old) != _row_key(new):
        return 0.0
    return difflib.SequenceMatcher(a=_shape(old), b=_shape(new), autojunk=False).ratio()


def _similar(olds: list[str], news: list[str]):
    """Lines of a replaced run paired in order with their most alike counterpart (masked text); a line with no
    counterpart at least SIMILAR alike stands alone (it was added or it vanished) — never paired by position with
    an unrelated line (an item inserted above would otherwise pair every later item with its neighbour)."""
    j = 0
    for old in olds:
        scores = [_likeness(old, new) for new in news[j:]]
        best = max(range(len(scores)), key=scores.__getitem__, default=None)
        if best is None or scores[best] < SIMILAR:
            yield old, None
            continue
        for new in news[j : j + best]:
            yield None, new
        yield old, news[j + best]
        j += best + 1
    for new in news[j:]:
        yield None, new


def _row_key(line: str | None) -> tuple[str, int] | None:
    """A markdown table row's identity: its first cell and its number of cells (None for any other line)."""
    if line is None or not line.lstrip().startswith("|"):
        return None
    cells = line.strip().strip("|").split("|")
    return cells[0].strip(), len(cells)


def _moved_rows(pairs: list[tuple[str | None, str | None]]) -> list[tuple[str | None, str | None]]:
    """A table row the damaged report lost and one it gained with the same first cell (in a table of as many
    columns) is the same row moved (the table is sorted by a figure that changed): pair them, whichever of the two
    comes first."""
    gained: dict[tuple[str, int], list[int]] = {}
    for i, (old, new) in enumerate(pairs):
        if old is None and _row_key(new) is not None:
            gained.setdefault(_row_key(new), []).append(i)
    partner: dict[int, int] = {}
    for i, (old, new) in enumerate(pairs):
        if new is None and gained.get(_row_key(old)):
            partner[i] = gained[_row_key(old)].pop(0)
    taken = set(partner.values())
    return [
        (old, pairs[partner[i]][1]) if i in partner else (old, new)
        for i, (old, new) in enumerate(pairs)
        if i not in taken
    ]


def changed_lines(undamaged: str, damaged: str) -> list[Change]:
    """Every line whose figures differ between the two reports (replaced, added, removed or moved)."""
    a, b = undamaged.splitlines(), damaged.splitlines()
    pairs: list[tuple[str | None, str | None]] = []
    # aligned by the lines' text with the figures masked, so a statement whose figures changed stays paired with
    # itself however many lines were inserted or removed around it
    matcher = difflib.SequenceMatcher(a=[_shape(x) for x in a], b=[_shape(x) for x in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.extend(zip(a[i1:i2], b[j1:j2]))
        else:
            pairs.extend(_similar(a[i1:i2], b[j1:j2]))
    return [Change(old, new) for old, new in _moved_rows(pairs) if figures(old) != figures(new)]


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
