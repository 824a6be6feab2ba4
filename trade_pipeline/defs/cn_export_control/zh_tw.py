"""Simplified → Traditional Chinese (Taiwan) for every reader-facing string of the cn_export_control layer.

The conversion is OpenCC's ``s2tw`` configuration (Simplified → Taiwan standard *characters*), from the maintained
``opencc`` package (the C++ library's own Python binding). Not ``s2twp``: its phrase table swaps words for their
Taiwan software/everyday equivalents, which changes what an official text says and corrupts proper names
("调试" → "除錯", "支持" → "支援", the company 埃比特 → 埃位元, 《数据安全法》 → 《資料安全法》, "发布" → "釋出",
"设备" → "裝置"). A quoted announcement keeps its own words, in Traditional characters. The few terms that still need
one house spelling are fixed by :data:`GLOSSARY` *before* the converter sees them: the text is cut at each glossary
term, the pieces between terms are converted, and each term is written in the glossary's Traditional spelling. One
spelling per term, everywhere:

- 公布, 發布, 頒布 (the Ministry of Education's standard forms, as Taiwan's own laws print them; 公佈/發佈/頒佈 are
  variants and never appear in our output).
- 設備 (equipment in a control list), 項目 (an item/clause, not 專案 "project"), 台灣 (the report's spelling).
- Proper names of PRC laws, bodies and companies keep their own words (數據安全法, not 資料安全法).

The original Simplified text is never changed: tables keep it verbatim next to the converted column.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Simplified term → the one Traditional spelling we print. Longest terms are replaced first.
GLOSSARY: dict[str, str] = {
    "数据安全法": "數據安全法",
    "发布": "發布",
    "公布": "公布",
    "颁布": "頒布",
    "设备": "設備",
    "项目": "項目",
    "台湾": "台灣",
    # Traditional input that OpenCC would respell: keep the standard form
    "公佈": "公布",
    "發佈": "發布",
    "頒佈": "頒布",
}
#: Spellings that must never reach a reader (the variants of the glossary's terms).
VARIANT_SPELLINGS: tuple[str, ...] = ("公佈", "發佈", "頒佈", "釋出")

_TERM_RE = re.compile("|".join(re.escape(t) for t in sorted(GLOSSARY, key=len, reverse=True)))


@lru_cache(maxsize=1)
def _converter():
    import opencc  # the maintained package (C++ OpenCC's binding); imported when first needed

    return opencc.OpenCC("s2tw")


def to_zh_tw(text: str | None) -> str:
    """Simplified → Traditional (Taiwan) with OpenCC s2tw, glossary terms spelled one way (see module doc)."""
    if not text:
        return text or ""
    convert = _converter().convert
    out: list[str] = []
    pos = 0
    for m in _TERM_RE.finditer(text):
        if m.start() > pos:
            out.append(convert(text[pos : m.start()]))
        out.append(GLOSSARY[m.group(0)])
        pos = m.end()
    if pos < len(text):
        out.append(convert(text[pos:]))
    return "".join(out)
