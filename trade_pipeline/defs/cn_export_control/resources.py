"""MOFCOM export-control site client (exportcontrol.mofcom.gov.cn, sources.md §3).

- List endpoint: ``POST /edi_ecms_web_front/front/column/getColumnList`` with the form ``pageNumber``, ``columnID``,
  ``title=""`` and *all* the headers of §3.2 (without them Chinese arrives as "???"). Pages are walked with
  ``pageNumber`` until a page's oldest row is older than the lookback start or ``maxPageNum`` is reached.
- Article pages: ``GET {base}/article/…/{n}.html``. Only URLs on the MOFCOM host (http or https) are followed;
  anything else is rejected (``off_host_url``), never fetched.
- Bytes are decoded here (UTF-8, then GB18030). Garbled text ("???", U+FFFD, mojibake) is a failed fetch: it is
  never cached (``cache_if``) and never parsed as content.
- Politeness: timeout 30 s, 2 s between live calls, list pages served from cache for 6 h, articles for 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import ClassVar
from urllib.parse import urlsplit

from trade_pipeline.core.http import HttpResponse, SourceHttpError
from trade_pipeline.core.source_client import SourceClient
from trade_pipeline.defs.cn_export_control.parse import (
    ListPage,
    ListRow,
    MofcomParseError,
    decode_bytes,
    garbled_reason,
    parse_list_reply,
)

CANONICAL_BASE = "http://exportcontrol.mofcom.gov.cn"
MOFCOM_HOSTS = frozenset({"exportcontrol.mofcom.gov.cn"})
LIST_PATH = "/edi_ecms_web_front/front/column/getColumnList"
LIST_CACHE_MAX_AGE_S = 6 * 3600
ARTICLE_CACHE_TTL_S = 30 * 24 * 3600
# A removed article (404/410) is asked for again after a day, not on every week of a backfill.
ARTICLE_NOT_FOUND_TTL_S = 24 * 3600
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
    "Safari/537.36 trade_pipeline/0.1"
)


class MofcomListError(SourceHttpError):
    """A list page could not be read (HTTP error, malformed or garbled JSON): the crawl cannot be trusted."""


@dataclass(frozen=True)
class ArticleFetch:
    """Outcome of one article fetch: ``status`` is 'ok', 'garbled', 'failed' or 'off_host'."""

    url: str
    status: str
    text: str = ""
    problem: str = ""
    request_id: str = ""
    fetched_at: str = ""


def article_number(url: str) -> str:
    """The site-wide article number of an article URL ('/article/gndt/202601/1204.html' → '1204'), or ''."""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    stem = name.split(".", 1)[0]
    return stem if stem.isdigit() else ""


def canonical_url(url: str) -> str:
    """http://exportcontrol.mofcom.gov.cn + path, whatever scheme/host alias the site used."""
    return CANONICAL_BASE + urlsplit(url).path


class MofcomClient(SourceClient):
    """exportcontrol.mofcom.gov.cn. ``columns``: comma-separated columnIDs (1 国内动态, 2 国际动态, 9 公告/清单)."""

    source_name: ClassVar[str] = "mofcom"

    columns: str = "1,2,9"
    lookback_start: str = "2023-01-01"
    timeout_s: float = 30.0
    min_interval_s: float = 2.0
    max_attempts: int = 4
    backoff_base_s: float = 1.0

    def resolved_base_url(self) -> str:
        return (self.base_url or CANONICAL_BASE).rstrip("/")

    def column_ids(self) -> list[int]:
        return [int(c) for c in self.columns.replace(" ", "").split(",") if c]

    def http_settings(self) -> dict:
        base = self.resolved_base_url()
        return {
            "timeout_s": self.timeout_s,
            "min_interval_s": self.min_interval_s,
            "max_attempts": self.max_attempts,
            "backoff_base_s": self.backoff_base_s,
            "cache_ttl_s": ARTICLE_CACHE_TTL_S,
            "headers": {
                "User-Agent": BROWSER_USER_AGENT,
                "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8",
                "Referer": f"{base}/",
                "Accept-Encoding": "identity",
            },
        }

    # -- list ----------------------------------------------------------------------------------------------------
    def list_page(self, column_id: int, page: int) -> ListPage:
        """One page of a column: parsed rows (url, title, publish date, id, column) and ``max_page_num``.

        Raises :class:`MofcomListError` (naming the request) on HTTP errors and on malformed or garbled replies.
        """
        url = self.resolved_base_url() + LIST_PATH
        form = {"pageNumber": str(page), "columnID": str(column_id), "title": ""}
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "Accept": "application/json, text/javascript, */*; q=0.01",
            "X-Requested-With": "XMLHttpRequest",
        }
        described = f"POST {url} pageNumber={page} columnID={column_id}"
        resp = self.http.request(
            "POST", url, form=form, headers=headers, max_age_s=LIST_CACHE_MAX_AGE_S, cache_if=_list_reply_is_clean
        )
        if resp.status != 200:
            raise MofcomListError(
                self.source_name, described, "list page request was not answered with 200", status=resp.status
            )
        text, _ = decode_bytes(resp.content)
        reason = garbled_reason(text)
        if reason:
            raise MofcomListError(
                self.source_name, described, f"list reply is garbled ({reason}); check the §3.2 headers"
            )
        try:
            parsed = parse_list_reply(text, column_id, page)
        except MofcomParseError as exc:
            raise MofcomListError(self.source_name, described, str(exc)) from exc
        return replace(parsed, rows=[replace(r, request=resp.request_key) for r in parsed.rows])

    def crawl_column(self, column_id: int, since: date) -> list[ListRow]:
        """Rows of one column published on/after ``since`` (walks pages until older rows or maxPageNum)."""
        rows: list[ListRow] = []
        page = 1
        while True:
            result = self.list_page(column_id, page)
            rows.extend(r for r in result.rows if r.publish_date is None or r.publish_date >= since)
            dated = [r.publish_date for r in result.rows if r.publish_date is not None]
            if not result.rows or page >= result.max_page_num or (dated and min(dated) < since):
                return rows
            page += 1

    def crawl(self, since: date | None = None) -> list[ListRow]:
        """Rows of every configured column since the lookback start (duplicates across columns kept)."""
        start = since or date.fromisoformat(self.lookback_start)
        rows: list[ListRow] = []
        for column_id in self.column_ids():
            rows.extend(self.crawl_column(column_id, start))
        return rows

    # -- articles ------------------------------------------------------------------------------------------------
    def article_fetch_url(self, url: str) -> str | None:
        """The URL to GET for a list row's ``url``, or None when it leaves the MOFCOM host."""
        parts = urlsplit(url)
        if not parts.scheme and not parts.netloc:
            if not parts.path.startswith("/"):
                return None
            return self.resolved_base_url() + parts.path
        if parts.scheme not in ("http", "https"):
            return None
        host = (parts.hostname or "").lower()
        own = (urlsplit(self.resolved_base_url()).hostname or "").lower()
        if host in MOFCOM_HOSTS or host == own:
            return self.resolved_base_url() + parts.path
        return None

    def fetch_article(self, url: str) -> ArticleFetch:
        """Fetch one article page; never raises for a bad page (the status says what went wrong)."""
        target = self.article_fetch_url(url)
        if target is None:
            return ArticleFetch(url, "off_host", problem=f"refused to follow a URL off the MOFCOM host: {url[:200]}")
        try:
            resp = self.http.request(
                "GET", target, cache_if=_article_is_clean, cache_not_found_s=ARTICLE_NOT_FOUND_TTL_S
            )
        except SourceHttpError as exc:
            return ArticleFetch(url, "failed", problem=str(exc))
        if resp.status != 200:
            return ArticleFetch(
                url,
                "failed",
                problem=f"[mofcom] HTTP {resp.status} — GET {target}",
                request_id=resp.request_id,
                fetched_at=resp.fetched_at,
            )
        text, _ = decode_bytes(resp.content)
        reason = garbled_reason(text)
        if reason:
            return ArticleFetch(
                url,
                "garbled",
                problem=f"[mofcom] garbled article ({reason}) — GET {target}",
                request_id=resp.request_id,
                fetched_at=resp.fetched_at,
            )
        if not text.strip():
            return ArticleFetch(
                url,
                "failed",
                problem=f"[mofcom] empty article body — GET {target}",
                request_id=resp.request_id,
                fetched_at=resp.fetched_at,
            )
        return ArticleFetch(url, "ok", text=text, request_id=resp.request_id, fetched_at=resp.fetched_at)


def _list_reply_is_clean(resp: HttpResponse) -> bool:
    text, _ = decode_bytes(resp.content)
    return not garbled_reason(text) and '"rows"' in text


def _article_is_clean(resp: HttpResponse) -> bool:
    text, _ = decode_bytes(resp.content)
    return bool(text.strip()) and not garbled_reason(text) and 'class="bd"' in text
