"""MofcomClient against a real loopback server: wire format, 429/5xx retries, timeouts, refused connections, cache."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from trade_pipeline.defs.cn_export_control.resources import LIST_PATH, MofcomClient, MofcomListError

LIST_REPLY = {
    "pageInfo": {
        "total": 1,
        "maxPageNum": 1,
        "rows": [
            {
                "id": 1171,
                "title": "商务部公告2025第61号 公布对境外相关稀土物项实施出口管制的决定",
                "url": "/article/zcfg/gnzcfg/zcfggzqd/202510/1171.html",
                "publishTimeStr": "2025-10-09 00:00:00",
                "source": "商务部",
                "content": "",
                "columnName": "管制清单",
            }
        ],
    }
}
ARTICLE = (
    "<html><body><script>var title = 'x'; var publishTime = '2025-10-09';</script>"
    '<div class="bd"><p>商务部公告2025年第61号</p></div></body></html>'
)


def _client(server: HTTPServer, tmp_path: Path, mode: str = "live", **kw) -> MofcomClient:
    return MofcomClient(
        mode=mode,
        base_url=server.url_for("").rstrip("/"),
        capture_dir=str(tmp_path / "cap"),
        cache_dir=str(tmp_path / "cache"),
        min_interval_s=0.0,
        backoff_base_s=0.01,
        **kw,
    )


def test_list_request_wire_format(httpserver: HTTPServer, tmp_path: Path):
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response(json.dumps(LIST_REPLY, ensure_ascii=False).encode("utf-8"), content_type="application/json")

    httpserver.expect_request(LIST_PATH, method="POST").respond_with_handler(handler)
    page = _client(httpserver, tmp_path).list_page(9, 1)
    assert page.rows[0].title.startswith("商务部公告2025第61号") and page.max_page_num == 1
    req = seen[0]
    assert req.form.to_dict() == {"pageNumber": "1", "columnID": "9", "title": ""}
    assert req.headers["X-Requested-With"] == "XMLHttpRequest"
    assert req.headers["Accept-Language"].startswith("zh-CN")
    assert req.headers["Accept"].startswith("application/json")
    assert req.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert req.headers["Referer"].endswith("/") and req.headers["User-Agent"].startswith("Mozilla/5.0")


def test_429_then_success(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_ordered_request(LIST_PATH, method="POST").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request(LIST_PATH, method="POST").respond_with_json(LIST_REPLY)
    client = _client(httpserver, tmp_path)
    assert len(client.list_page(9, 1).rows) == 1
    assert client.http.stats.retries == 1


def test_persistent_5xx_names_source_and_request(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request(LIST_PATH, method="POST").respond_with_data("down", status=503)
    with pytest.raises(Exception, match=r"\[mofcom\].*getColumnList.*columnID=9") as info:
        _client(httpserver, tmp_path, max_attempts=2).list_page(9, 1)
    assert getattr(info.value, "status", None) == 503


def test_question_mark_reply_is_refused_and_not_cached(httpserver: HTTPServer, tmp_path: Path):
    garbled = json.dumps(
        {
            "pageInfo": {
                "total": 1,
                "maxPageNum": 1,
                "rows": [
                    {"id": 1, "title": "????2025?61?", "url": "/article/a/1.html", "publishTimeStr": "2025-10-09"}
                ],
            }
        }
    )
    httpserver.expect_request(LIST_PATH, method="POST").respond_with_data(garbled, content_type="application/json")
    for _ in range(2):  # two runs: the second asks again, the garbled reply was never cached
        client = _client(httpserver, tmp_path)
        with pytest.raises(MofcomListError, match="garbled"):
            client.list_page(9, 1)
        assert client.http.stats.network_requests == 1 and client.http.stats.cache_hits == 0


def test_article_timeout_is_a_failed_fetch_not_a_crash(httpserver: HTTPServer, tmp_path: Path):
    def slow(_: Request) -> Response:
        time.sleep(0.5)
        return Response(ARTICLE, content_type="text/html")

    httpserver.expect_request("/article/zcfg/gnzcfg/zcfggzqd/202510/1171.html").respond_with_handler(slow)
    client = _client(httpserver, tmp_path, timeout_s=0.1, max_attempts=2)
    result = client.fetch_article("/article/zcfg/gnzcfg/zcfggzqd/202510/1171.html")
    assert result.status == "failed" and "Timeout" in result.problem and "[mofcom]" in result.problem


def test_article_connection_refused_is_a_failed_fetch(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = MofcomClient(
        mode="live",
        base_url=f"http://127.0.0.1:{port}",
        cache_dir=str(tmp_path / "cache"),
        min_interval_s=0.0,
        backoff_base_s=0.01,
        max_attempts=2,
    )
    result = client.fetch_article("/article/gndt/202601/1204.html")
    assert result.status == "failed" and "giving up after 2 attempts" in result.problem


def test_gb18030_article_is_decoded_and_clean_pages_are_cached(httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/article/gndt/202601/1204.html").respond_with_data(
        ARTICLE.encode("gb18030"), content_type="text/html; charset=utf-8"
    )  # mislabelled charset
    client = _client(httpserver, tmp_path)
    first = client.fetch_article("http://exportcontrol.mofcom.gov.cn/article/gndt/202601/1204.html")
    later = _client(httpserver, tmp_path)  # the next run
    second = later.fetch_article("/article/gndt/202601/1204.html")
    assert first.status == second.status == "ok" and "商务部公告2025年第61号" in first.text
    assert client.http.stats.network_requests == 1 and later.http.stats.network_requests == 0
    assert later.http.stats.cache_hits == 1


def test_off_host_url_is_never_requested(httpserver: HTTPServer, tmp_path: Path):
    client = _client(httpserver, tmp_path)
    for url in (
        "http://evil.example.com/article/gndt/1.html",
        "javascript:alert(1)",
        "ftp://exportcontrol.mofcom.gov.cn/a/1.html",
    ):
        assert client.fetch_article(url).status == "off_host"
    assert client.http.stats.network_requests == 0
