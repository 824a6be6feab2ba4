"""Wire parsing for exportcontrol.mofcom.gov.cn (sources.md §3.4, §3.5): bytes → text → list rows / article parts.

Rules:
- Bytes are decoded here, never by the declared charset: UTF-8 first, then GB18030. Text that still carries
  U+FFFD, a run of "???" (the missing-header quirk of §3.2) or classic mojibake is *garbled* — a failed fetch,
  never content.
- Article pages are parsed with selectolax: the inline ``<script>`` variables (``title``, ``source``, ``publishTime``,
  ``articleId``…), the ``<p>`` paragraphs of ``div.bd`` (cut at the first stop marker of §3.5) and the attachments
  (``a[href]`` to ``/upload/…pdf``). A page without ``div.bd`` is a *changed structure* and yields no body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

STOP_CLASSES = ("u-disclaimer-box", "u-art-box-footer", "ft")
_SCRIPT_VAR_RE = re.compile(r"var\s+(\w+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*;")
_QMARK_RUN_RE = re.compile(r"\?{3,}")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
# UTF-8 bytes read as Latin-1/CP1252 ("å…¬å‘Š") or GBK garbage ("锟斤拷", "烫烫烫").
_CP1252_CONT = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122"
_MOJIBAKE_RE = re.compile(rf"(?:[\u00c2-\u00ef][{_CP1252_CONT}]{{1,2}}){{2,}}|锟斤拷|烫烫烫|屯屯屯")
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class MofcomParseError(ValueError):
    """A reply that cannot be read as the documented wire format (names what was wrong)."""


def decode_bytes(content: bytes) -> tuple[str, str]:
    """(text, encoding used). UTF-8 (BOM tolerated), else GB18030; undecodable bytes become U+FFFD (→ garbled)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return content.decode("utf-8", errors="replace"), "utf-8-replace"


def garbled_reason(text: str) -> str:
    """Why ``text`` is garbled ('' when it reads as real text)."""
    if "\ufffd" in text:
        return "U+FFFD replacement characters"
    if _QMARK_RUN_RE.search(text):
        return "'???' runs (Chinese lost in transit, sources.md §3.2)"
    if _MOJIBAKE_RE.search(text):
        return "mojibake (UTF-8 read with the wrong charset)"
    return ""


def date_problem(value: str | None) -> str:
    """Why a stated date cannot be used ('' when it is a calendar date, or when none was stated)."""
    if not value or not str(value).strip():
        return ""
    m = _DATE_RE.search(str(value))
    if not m:
        return f"{str(value)[:40]!r} holds no YYYY-MM-DD date"
    try:
        date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return f"{m.group(0)!r} is not a calendar date"
    return ""


def parse_publish_date(value: str | None) -> date | None:
    """'2025-10-09 00:00:00' / '2025-10-09' / '2025-10-9' → date; anything else → None."""
    if not value:
        return None
    m = _DATE_RE.search(value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


@dataclass(frozen=True)
class ListRow:
    url: str  # as sent by the site (usually site-relative)
    title: str
    publish_date: date | None
    row_id: str
    column_id: int
    column_name: str = ""
    source: str = ""
    publish_date_raw: str = ""  # publishTimeStr as received (kept for quarantine when it is not a date)
    request: str = ""  # request key of the list page the row came from


@dataclass(frozen=True)
class ListPage:
    column_id: int
    page: int
    rows: list[ListRow]
    max_page_num: int
    total: int


def parse_list_reply(text: str, column_id: int, page: int) -> ListPage:
    """Parse one getColumnList reply. Raises MofcomParseError on a malformed or garbled reply."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MofcomParseError(f"list reply is not JSON ({exc.msg} at {exc.pos}): {text[:120]!r}") from exc
    info = doc.get("pageInfo") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        # data.mofcom.gov.cn (same framework) puts rows at the top level; accept that shape too.
        info = doc if isinstance(doc, dict) and "rows" in doc else None
    if info is None or not isinstance(info.get("rows"), list):
        raise MofcomParseError(f"list reply has no pageInfo.rows: {text[:120]!r}")
    try:
        max_page = int(info.get("maxPageNum") or 0)
        total = int(info.get("total") or 0)
    except (TypeError, ValueError) as exc:
        raise MofcomParseError(f"list reply has a non-numeric maxPageNum/total: {exc}") from exc
    rows: list[ListRow] = []
    for raw in info["rows"]:
        if not isinstance(raw, dict):
            raise MofcomParseError(f"list row is not an object: {raw!r:.80}")
        title = str(raw.get("title") or "").strip()
        url = str(raw.get("url") or raw.get("htmlUrl") or "").strip()
        reason = garbled_reason(title)
        if reason:
            raise MofcomParseError(f"list title is garbled ({reason}): {title[:60]!r}")
        if not url:
            raise MofcomParseError(f"list row without url: {title[:60]!r}")
        raw_date = str(raw.get("publishTimeStr") or "")
        rows.append(
            ListRow(
                url=url,
                title=title,
                publish_date=parse_publish_date(raw_date),
                row_id=str(raw.get("id") or ""),
                column_id=column_id,
                column_name=str(raw.get("columnName") or ""),
                source=str(raw.get("source") or ""),
                publish_date_raw=raw_date,
            )
        )
    return ListPage(column_id=column_id, page=page, rows=rows, max_page_num=max_page, total=total)


@dataclass
class ArticlePage:
    script_vars: dict[str, str] = field(default_factory=dict)
    paragraphs: list[str] = field(default_factory=list)
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (link text, href)
    has_body_block: bool = False
    html_title: str = ""

    @property
    def title(self) -> str:
        return self.script_vars.get("title", "").strip() or self.html_title

    @property
    def publish_date(self) -> date | None:
        return parse_publish_date(self.script_vars.get("publishTime"))

    @property
    def source(self) -> str:
        return self.script_vars.get("source", "").strip()

    @property
    def body_text(self) -> str:
        return "\n".join(self.paragraphs)


def _clean(text: str) -> str:
    text = text.replace("\u3000", " ").replace("\xa0", " ")
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def _is_stop(node: Node) -> bool:
    classes = (node.attributes.get("class") or "").split()
    return any(c in STOP_CLASSES for c in classes)


def parse_article_html(html: str) -> ArticlePage:
    """Parse an article page (structure of sources.md §3.5)."""
    page = ArticlePage()
    # Stop markers of §3.5: cut the document at the first "<!-- /" comment that follows the body.
    tree = HTMLParser(html)
    title_node = tree.css_first("title")
    page.html_title = _clean(title_node.text()) if title_node else ""
    for script in tree.css("script"):
        for name, value in _SCRIPT_VAR_RE.findall(script.text() or ""):
            page.script_vars.setdefault(name, value.replace("\\'", "'"))
    body = tree.css_first("div.bd")
    if body is None:
        return page
    page.has_body_block = True
    for tag in body.css("script, style"):
        tag.decompose()
    # Stop markers inside the body block (a disclaimer or footer nested in div.bd ends the text).
    for node in body.css("*"):
        if _is_stop(node):
            node.decompose()
    raw_html = body.html or ""
    cut = raw_html.find("<!-- /")
    if cut >= 0:
        body = HTMLParser(raw_html[:cut]).css_first("div.bd") or body
    paragraphs = body.css("p")
    if paragraphs:
        for p in paragraphs:
            for br in p.css("br"):
                br.replace_with("\n")
            for line in (p.text(separator="") or "").split("\n"):
                line = _clean(line)
                if line:
                    page.paragraphs.append(line)
    else:
        for line in (body.text(separator="\n") or "").split("\n"):
            line = _clean(line)
            if line:
                page.paragraphs.append(line)
    for a in tree.css("a[href]"):
        href = (a.attributes.get("href") or "").strip()
        if "/upload/" in href and href.lower().endswith(".pdf"):
            page.attachments.append((_clean(a.text() or ""), href))
    return page
