"""Verify a rendered report against the layer tables, figure by figure, in place.

For every claim (slot, position, printed text) recorded when the report was rendered — in the edition's language
(``….en.md`` prints USD 360.1 bn where zh-TW prints USD 3,601 億):

1. the slot's fact is recomputed from the layer tables by the code that built it (``facts.build_week_facts``: the
   source cells are re-read, not a copy made at render time);
2. the recomputed fact must print as the claim says (value, unit and format), and the figure found at the claim's
   position in the file — the whole figure token, unit included — must be exactly that text;
3. a figure whose fact is flagged must be followed by ``[REVIEW_NEEDED]`` at that place.

Then every number left in the body outside the recorded positions is an *orphan* (a figure nobody can trace).
The front matter's printed values with figures — the title (the week) and the description (the 本週變化 headline,
which the site's index lists) — are recomputed from the same facts and compared whole.
Flag words and rule labels are words, never numbers. The blocking asset check, the publishing step and
``trade-pipeline verify`` all call :func:`verify_report`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from trade_pipeline.defs.trade_briefing.facts.model import FIGURE_KINDS, Fact
from trade_pipeline.defs.trade_briefing.markdown import split_front_matter
from trade_pipeline.defs.trade_briefing.printing import REVIEW_MARK, edition_lang, fact_text, marked

#: A printed figure starting at a position: optional USD, sign, digits, decimals, unit (億/兆 in zh-TW; mn/bn/tn in
#: English) or percent; or '--'. Grouping commas are followed by three digits, so "1, the next clause" reads as 1.
FIGURE_AT = re.compile(
    r"(?:USD )?(?:--|[+\-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?: (?:億|兆|mn|bn|tn)(?![A-Za-z]))?%?)"
)
_LEFT_OF_FIGURE = re.compile(r"(?:USD ?|[\d.,+\-])$")
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
#: Digits that are not figures and are not facts: links, the generation timestamp, list numbering, note numbers,
#: the name of the HS2 level.
IGNORED = (
    re.compile(r"(?<![A-Za-z])HS2(?!\d)"),
    re.compile(r"https?://\S+"),
    re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z"),
    re.compile(r"^[ \t]*\d+\. ", re.MULTILINE),
    re.compile(r"〔\d+〕"),
    re.compile(r"&#\d+;"),
)


#: Claims-table rows of this kind record the layout of each body line (for aligning an edited file), not a fact.
LAYOUT_KIND = "line"
_DIGITS = re.compile(r"\d")


def line_layout(line: str) -> str:
    """A short digest of a line with its digits masked: equal for a line whose figures alone changed."""
    return hashlib.sha1(_DIGITS.sub("#", line).encode("utf-8")).hexdigest()[:16]


@dataclass
class Mismatch:
    report: str
    problem: str
    slot: str | None = None
    line: int | None = None  # 1-based line of the report file
    col: int | None = None
    printed: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f":{self.col}" if self.col is not None else "") if self.line else ""
        parts = [self.report, where, self.slot or "(no slot)", self.problem]
        if self.printed is not None or self.expected is not None:
            parts.append(f"printed {self.printed!r}, expected {self.expected!r}")
        return " | ".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    report: str
    claims: int
    figures: int
    mismatches: list[Mismatch]

    @property
    def passed(self) -> bool:
        return not self.mismatches


def _found_at(line: str, col: int, kind: str, expected: str) -> str:
    if kind in FIGURE_KINDS:
        m = FIGURE_AT.match(line, col)
        return m.group(0) if m else line[col : col + len(expected)]
    return line[col : col + len(expected)]


def _align(recorded: dict[int, str], lines: list[str]) -> dict[int, int]:
    """Recorded body line -> line of the file now, matching lines by their layout (text with digits masked): a line
    inserted or deleted elsewhere does not move every later claim, an edited line still maps to itself."""
    if not recorded:
        return {n: n for n in range(len(lines))}
    before = [recorded.get(n, "") for n in range(max(recorded) + 1)]
    now = [line_layout(line) for line in lines]
    mapping: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, now, autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            for k in range(min(i2 - i1, j2 - j1)):
                mapping[i1 + k] = j1 + k
    return mapping


def verify_report(
    markdown: str, claims: list[dict[str, Any]], facts: dict[str, Fact], report: str, lang: str | None = None
) -> Outcome:
    """``report`` is the edition's site-relative path; its language (``lang``, default from the path: '….en.md' is
    English) decides how each recomputed fact must print."""
    lang = lang or edition_lang(report)
    front, body = split_front_matter(markdown)
    offset = markdown[: len(markdown) - len(body)].count("\n")  # mismatches name lines of the file
    lines = body.split("\n")
    masked = [list(line) for line in lines]
    problems: list[Mismatch] = []
    figures = 0
    layout = {c["line"]: c["claim_text"] for c in claims if c["kind"] == LAYOUT_KIND}
    claims = [c for c in claims if c["kind"] != LAYOUT_KIND]
    mapping = _align(layout, lines)
    shift: dict[int, int] = {}  # per line: how far an edited figure earlier on the line moved the rest
    for c in sorted(claims, key=lambda c: (c["line"], c["col"])):
        slot = c["slot"]
        n = mapping.get(c["line"])
        col = c["col"] + shift.get(n, 0)
        where = dict(report=report, slot=slot, line=offset + (n if n is not None else c["line"]) + 1, col=col)
        fact = facts.get(slot)
        if fact is None:
            problems.append(
                Mismatch(problem="the layer tables no longer yield this statement", printed=c["claim_text"], **where)
            )
            continue
        expected = fact_text(fact, lang)
        if c["kind"] in FIGURE_KINDS:
            figures += 1
        if n is None or not 0 <= n < len(lines):
            problems.append(
                Mismatch(problem="its line was removed from the report", printed=None, expected=expected, **where)
            )
            continue
        line = lines[n]
        found = _found_at(line, col, fact.kind, expected)
        if c["claim_text"] != expected:
            problems.append(
                Mismatch(
                    problem="the layer tables no longer give the printed figure",
                    printed=c["claim_text"],
                    expected=expected,
                    **where,
                )
            )
            if found != c["claim_text"]:
                problems.append(
                    Mismatch(
                        problem="the report was edited at this place", printed=found, expected=c["claim_text"], **where
                    )
                )
        elif found != expected:
            problems.append(Mismatch(problem="figure at its place differs", printed=found, expected=expected, **where))
        elif fact.kind in FIGURE_KINDS and _LEFT_OF_FIGURE.search(line[:col]) and not expected.startswith("USD"):
            problems.append(
                Mismatch(
                    problem="figure at its place is part of a longer figure",
                    printed=line[max(0, col - 8) : col + len(expected)],
                    expected=expected,
                    **where,
                )
            )
        end = col + len(found)
        if fact.kind in FIGURE_KINDS and found != c["claim_text"]:
            shift[n] = shift.get(n, 0) + len(found) - len(c["claim_text"])
        has_mark = line[end:].startswith(" " + REVIEW_MARK)
        if has_mark != bool(c.get("marked")):  # a mark added or removed since publishing moves the rest of the line
            shift[n] = shift.get(n, 0) + (1 if has_mark else -1) * (len(REVIEW_MARK) + 1)
        if marked(fact) and not has_mark:
            problems.append(
                Mismatch(
                    problem=f"flagged ({', '.join(fact.flags)}) but printed without {REVIEW_MARK}",
                    printed=found,
                    expected=f"{expected} {REVIEW_MARK}",
                    **where,
                )
            )
        elif has_mark and not marked(fact):
            problems.append(
                Mismatch(
                    problem=f"printed with {REVIEW_MARK} but no longer flagged",
                    printed=found,
                    expected=expected,
                    **where,
                )
            )
        stop = end + (len(REVIEW_MARK) + 1 if has_mark else 0)
        for i in range(col, min(stop, len(masked[n]))):
            masked[n][i] = " "
    rest = "\n".join("".join(chars) for chars in masked)
    for pattern in IGNORED:
        rest = pattern.sub(lambda m: " " * len(m.group(0)), rest)
    for n, line in enumerate(rest.split("\n")):
        for m in NUMBER_RE.finditer(line):
            problems.append(
                Mismatch(
                    report=report,
                    problem="orphan figure: no recorded claim at this place",
                    line=offset + n + 1,
                    col=m.start(),
                    printed=m.group(0),
                    expected=None,
                )
            )
    problems += _front_matter_problems(front, facts, report, lang)
    return Outcome(report=report, claims=len(claims), figures=figures, mismatches=problems)


_REPORT_WEEK = re.compile(r"(\d{4}-W\d{2})-trade-briefing")


def _front_matter_problems(front: str | None, facts: dict[str, Fact], report: str, lang: str) -> list[Mismatch]:
    """Title and description as the facts give them now (render.front_matter builds both the same way)."""
    from trade_pipeline.defs.trade_briefing.facts.model import build_tree
    from trade_pipeline.defs.trade_briefing.render import changes_headline, report_title

    where = dict(report=report, line=1, col=0)
    try:
        data = yaml.safe_load(front) if front is not None else None
    except yaml.YAMLError as exc:
        data, error = None, f"the front matter is not YAML ({exc.__class__.__name__})"
    else:
        error = "the report has no front matter" if not isinstance(data, dict) else None
    if error:
        return [Mismatch(slot="front_matter", problem=error, printed=None, expected=None, **where)]
    expected = {"description": changes_headline(build_tree(facts.values()), lang)}
    week = _REPORT_WEEK.search(report)
    if week:
        expected["title"] = report_title(week.group(1), lang)
    return [
        Mismatch(
            slot=f"front_matter.{key}",
            problem=f"front matter {key} differs from what the layer tables give",
            printed=None if data.get(key) is None else str(data.get(key)),
            expected=value,
            **where,
        )
        for key, value in expected.items()
        if data.get(key) != value
    ]
