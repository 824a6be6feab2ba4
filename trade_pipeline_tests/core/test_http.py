"""SourceHttp against a real loopback server: retries, Retry-After, timeouts, resets, cache, record/replay, secrets."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from trade_pipeline.core.http import HttpMode, ReplayMissError, SourceHttp, SourceHttpError, request_key

SECRET = "sk-test-0123456789abcdef0123456789"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(tmp_path: Path, mode: str = "live", **kw) -> tuple[SourceHttp, Sleeps]:
    sleeps = Sleeps()
    kw.setdefault("backoff_base_s", 0.01)
    http = SourceHttp(
        "testsrc",
        mode,
        capture_dir=tmp_path / "captures",
        cache_dir=tmp_path / "cache",
        sleep=sleeps,
        timeout_s=2,
        **kw,
    )
    return http, sleeps


def test_429_with_retry_after_is_honoured_then_succeeds(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_ordered_request("/data").respond_with_data(
        "Rate limit is exceeded. Try again in 3 seconds.", status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_ordered_request("/data").respond_with_json({"ok": True})
    http, sleeps = make(tmp_path)
    resp = http.request("GET", httpserver.url_for("/data"), params=[("a", "1")])
    assert resp.status == 200 and resp.json() == {"ok": True}
    assert 3.0 <= sleeps[0] < 3.1  # waited what the server asked, not the tiny exponential backoff
    assert http.stats.network_requests == 2 and http.stats.retries == 1


def test_429_without_retry_after_uses_exponential_backoff(httpserver: HTTPServer, tmp_path: Path) -> None:
    for _ in range(2):
        httpserver.expect_ordered_request("/data").respond_with_data("slow down", status=429)
    httpserver.expect_ordered_request("/data").respond_with_json([1])
    http, sleeps = make(tmp_path, backoff_base_s=1.0)
    assert http.request("GET", httpserver.url_for("/data")).json() == [1]
    assert len(sleeps) == 2 and 0.8 <= sleeps[0] <= 1.2 and 1.6 <= sleeps[1] <= 2.4


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(httpserver: HTTPServer, tmp_path: Path, status: int) -> None:
    httpserver.expect_ordered_request("/data").respond_with_data(
        "There was an error while running your query.", status=status
    )
    httpserver.expect_ordered_request("/data").respond_with_json({"ok": 1})
    http, _ = make(tmp_path)
    assert http.request("GET", httpserver.url_for("/data")).json() == {"ok": 1}


def test_persistent_failure_raises_a_clear_error_naming_source_and_request(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/data").respond_with_data("down", status=503)
    http, sleeps = make(tmp_path, max_attempts=3)
    with pytest.raises(SourceHttpError) as err:
        http.request(
            "GET", httpserver.url_for("/data"), params=[("reporterCode", "156")], secret_values={"key": SECRET}
        )
    text = str(err.value)
    assert "[testsrc]" in text and "reporterCode=156" in text and "503" in text
    assert SECRET not in text
    assert len(sleeps) == 2 and http.stats.network_requests == 3


def test_non_retryable_status_is_returned_to_the_client(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/data").respond_with_data("error: unknown variable 'XYZ'", status=400)
    http, sleeps = make(tmp_path)
    resp = http.request("GET", httpserver.url_for("/data"))
    assert resp.status == 400 and "unknown variable" in resp.text() and sleeps == []


@pytest.fixture
def threaded_server():
    server = HTTPServer(threaded=True)  # a slow first answer must not block the retry
    server.start()
    yield server
    server.clear()
    server.stop()


def test_read_timeout_is_retried(threaded_server: HTTPServer, tmp_path: Path) -> None:
    httpserver = threaded_server
    calls = {"n": 0}
    release = threading.Event()

    def handler(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] == 1:
            release.wait(1.5)  # longer than the client's read timeout
        return Response(json.dumps({"n": calls["n"]}), content_type="application/json")

    httpserver.expect_request("/slow").respond_with_handler(handler)
    sleeps = Sleeps()
    http = SourceHttp("testsrc", "live", cache_dir=tmp_path / "cache", timeout_s=0.5, backoff_base_s=0.01, sleep=sleeps)
    try:
        assert http.request("GET", httpserver.url_for("/slow")).json() == {"n": 2}
    finally:
        release.set()
    assert http.stats.retries == 1


def _reset_server(responses_after: int) -> tuple[str, threading.Thread, dict]:
    """A raw TCP server that resets the first connections, then answers with HTTP 200."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    state = {"accepted": 0}

    def serve() -> None:
        while state["accepted"] < responses_after + 1:
            conn, _ = srv.accept()
            state["accepted"] += 1
            conn.recv(65536)
            if state["accepted"] <= responses_after:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()  # RST
            else:
                body = b'{"ok": true}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\nConnection: close\r\n\r\n"
                    + body
                )
                conn.close()
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}/x", t, state


def test_connection_reset_is_retried(tmp_path: Path) -> None:
    url, thread, state = _reset_server(responses_after=1)
    http, _ = make(tmp_path)
    assert http.request("GET", url).json() == {"ok": True}
    thread.join(5)
    assert state["accepted"] == 2


def test_second_identical_request_is_a_cache_hit(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/data").respond_with_json({"v": 1})
    http, _ = make(tmp_path)
    http.request("GET", httpserver.url_for("/data"), params=[("b", "2"), ("a", "1")])
    again = SourceHttp("testsrc", "live", cache_dir=tmp_path / "cache")  # a new run, same cache
    resp = again.request("GET", httpserver.url_for("/data"), params=[("a", "1"), ("b", "2")])  # order-insensitive
    assert resp.from_cache and resp.json() == {"v": 1}
    assert again.stats.network_requests == 0 and len(httpserver.log) == 1


def test_errors_and_rejected_bodies_are_not_cached(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/bad").respond_with_data("nope", status=404)
    httpserver.expect_request("/garbled").respond_with_json({"title": "????2025?61?"})
    for _ in range(2):  # two runs over the same cache
        http, _ = make(tmp_path)
        http.request("GET", httpserver.url_for("/bad"))
        http.request("GET", httpserver.url_for("/garbled"), cache_if=lambda r: b"???" not in r.content)
        assert http.stats.network_requests == 2 and http.stats.cache_hits == 0
    assert len(httpserver.log) == 4


def test_not_found_is_cached_only_when_asked_and_only_for_its_own_ttl(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/gone").respond_with_data("not here", status=404)
    first = make(tmp_path)[0].request("GET", httpserver.url_for("/gone"), cache_not_found_s=3600)
    http, _ = make(tmp_path)  # the next run
    again = http.request("GET", httpserver.url_for("/gone"), cache_not_found_s=3600)
    assert first.status == again.status == 404 and again.from_cache
    assert http.stats.network_requests == 0 and http.stats.cache_hits == 1
    # a caller that does not accept cached 404s (or a 404 older than its TTL) goes to the network again
    http, _ = make(tmp_path)
    http.request("GET", httpserver.url_for("/gone"))
    assert http.stats.network_requests == 1 and len(httpserver.log) == 2
    assert not make(tmp_path)[0].is_cached("GET", httpserver.url_for("/gone"))  # a cached 404 is never "cached"


def test_cache_entries_expire(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/data").respond_with_json({"v": 1})
    for _ in range(2):  # two runs: the first one's cache entry is already stale for the second
        http, _ = make(tmp_path, cache_ttl_s=0)
        http.request("GET", httpserver.url_for("/data"))
        assert http.stats.network_requests == 1
    assert len(httpserver.log) == 2


def test_record_then_replay_without_network_and_without_secrets(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/data/v1/get").respond_with_json({"count": 1, "data": [{"x": 1}]})
    rec, _ = make(tmp_path, mode="record")
    rec.request(
        "GET",
        httpserver.url_for("/data/v1/get"),
        params=[("period", "2024")],
        secret_values={"key": SECRET},
        secret_headers={"Ocp-Apim-Subscription-Key": SECRET},
    )
    files = list((tmp_path / "captures").glob("*.json"))
    assert len(files) == 1
    stored = files[0].read_text()
    assert SECRET not in stored and "period" in stored
    assert not any(SECRET in p.read_text() for p in (tmp_path / "cache").glob("*.json"))

    httpserver.clear()  # the server forgets everything: replay must not touch it
    rep = SourceHttp("testsrc", HttpMode.REPLAY, capture_dir=tmp_path / "captures")
    resp = rep.request("GET", httpserver.url_for("/data/v1/get"), params=[("period", "2024")])
    assert resp.json() == {"count": 1, "data": [{"x": 1}]} and len(httpserver.log) == 0
    with pytest.raises(ReplayMissError, match="period=2025"):
        rep.request("GET", httpserver.url_for("/data/v1/get"), params=[("period", "2025")])


def test_replay_ignores_file_names_and_reads_user_dropped_captures(tmp_path: Path) -> None:
    folder = tmp_path / "captures"
    folder.mkdir()
    (folder / "anything.json").write_text(
        json.dumps(
            {
                "request": {
                    "method": "POST",
                    "url": "http://example.org/list",
                    "params": [],
                    "form": {"pageNumber": "1", "columnID": "9"},
                },
                "response": {
                    "status": 200,
                    "headers": {"content-type": "application/json"},
                    "body": '{"pageInfo": {}}',
                },
            }
        )
    )
    rep = SourceHttp("testsrc", "replay", capture_dir=folder)
    resp = rep.request("POST", "http://example.org/list", form={"columnID": "9", "pageNumber": "1"})
    assert resp.json() == {"pageInfo": {}}


def test_request_key_drops_secrets_and_sorts() -> None:
    assert (
        request_key(
            "get", "https://API.example.org/x", [("b", "2"), ("key", SECRET), ("a", "1")], secret_params=["key"]
        )
        == "GET https://api.example.org/x?a=1&b=2"
    )


def test_rate_limit_spaces_live_requests(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/data").respond_with_json({})
    now = {"t": 100.0}
    sleeps = Sleeps()
    http = SourceHttp("testsrc", "live", min_interval_s=2.0, sleep=sleeps, clock=lambda: now["t"])
    http.request("GET", httpserver.url_for("/data"), params=[("p", "1")])
    http.request("GET", httpserver.url_for("/data"), params=[("p", "2")])
    assert sleeps == [2.0]


# --- damaged capture files: a clear error naming the source, the file and the request -------------------------------


def _exchange(url: str, response: object = None) -> dict:
    doc: dict = {
        "format": "trade_pipeline.capture/1",
        "source": "testsrc",
        "request": {"method": "GET", "url": url, "params": [["q", "1"]], "form": None},
        "recorded_at": "2026-01-28T00:00:00+00:00",
    }
    if response is not None:
        doc["response"] = response
    return doc


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("no_response", "no 'response' object"),
        ("status_text", "'response.status' is not an HTTP status"),
        ("body_number", "'response.body' is a int"),
        ("bad_base64", "'response.body_base64' is not base64"),
        ("invalid_json", "not valid JSON"),
        ("json_array", "not a capture object"),
        ("no_request", "no usable 'request' object"),
    ],
)
def test_a_damaged_capture_stops_replay_naming_the_source_file_and_request(
    tmp_path: Path, damage: str, problem: str
) -> None:
    from trade_pipeline.core.http import CaptureFormatError

    url = "https://api.example.org/data"
    good = {"status": 200, "headers": {}, "body": "[1]"}
    docs = {
        "no_response": _exchange(url),
        "status_text": _exchange(url, {**good, "status": "OK"}),
        "body_number": _exchange(url, {**good, "body": 12}),
        "bad_base64": _exchange(url, {"status": 200, "body_base64": "not base64!"}),
        "json_array": [1, 2],
        "no_request": {"response": good},
    }
    captures = tmp_path / "captures"
    captures.mkdir()
    path = captures / "exchange.json"
    path.write_text(
        '{"request": {"method": "GET", "url": "' if damage == "invalid_json" else json.dumps(docs[damage]),
        encoding="utf-8",
    )
    http, _ = make(tmp_path, mode="replay")
    with pytest.raises(CaptureFormatError) as caught:
        http.request("GET", url, params=[("q", "1")])
    message = str(caught.value)
    assert message.startswith("[testsrc] unusable capture file") and str(path) in message and problem in message
    if damage in ("no_response", "status_text", "body_number", "bad_base64"):  # the request is known: named too
        assert "request: GET https://api.example.org/data?q=1" in message
    # A damaged capture is a broken local file, not a failed answer of the source: clients never take it for one.
    assert not isinstance(caught.value, SourceHttpError)


def test_a_damaged_file_in_the_response_cache_is_ignored_and_asked_again(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/data").respond_with_json({"fresh": True})
    http, _ = make(tmp_path)
    url = httpserver.url_for("/data")
    http.request("GET", url)
    [cached] = list((tmp_path / "cache").glob("*.json"))
    doc = json.loads(cached.read_text(encoding="utf-8"))
    del doc["response"]
    cached.write_text(json.dumps(doc), encoding="utf-8")
    again, _ = make(tmp_path)  # a new run reading the same cache
    assert again.request("GET", url).json() == {"fresh": True}
    assert again.stats.network_requests == 1 and again.stats.cache_hits == 0


# --- per-run request dedupe -----------------------------------------------------------------------------------------


def test_a_run_answers_each_distinct_request_once_and_parses_it_once(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/data").respond_with_json({"v": 1})
    httpserver.expect_request("/fail").respond_with_data("down", status=503)
    http, _ = make(tmp_path, max_attempts=1)
    first = http.request("GET", httpserver.url_for("/data"), params=[("a", "1"), ("b", "2")])
    again = http.request("GET", httpserver.url_for("/data"), params=[("b", "2"), ("a", "1")])  # the same request
    assert again is first and http.stats.network_requests == 1 and http.stats.deduped == 1
    parsed = []
    for resp in (first, again):
        assert resp.derive(lambda r: parsed.append(1) or r.json()) is not None  # a new lambda: a new derivation
    assert len(parsed) == 2
    parse = lambda r: parsed.append(1) or r.json()  # noqa: E731
    assert first.derive(parse) == again.derive(parse) == {"v": 1} and len(parsed) == 3  # computed once
    for _ in range(2):  # a request that failed for good fails again, without another call
        with pytest.raises(SourceHttpError, match="HTTP 503"):
            http.request("GET", httpserver.url_for("/fail"))
    assert http.stats.network_requests == 2
    # both are answered without the network now (what the Comtrade quota guard asks before reserving a call)
    assert http.is_cached("GET", httpserver.url_for("/fail"))
    assert http.is_cached("GET", httpserver.url_for("/data"), params=[("b", "2"), ("a", "1")])
    fresh = http.request("GET", httpserver.url_for("/data"), params=[("a", "1"), ("b", "2")], use_cache=False)
    assert fresh is not first and http.stats.network_requests == 3  # use_cache=False: a fresh look
    # the next run starts with nothing: it asks (here: the disk cache) again
    later, _ = make(tmp_path, max_attempts=1)
    assert later.request("GET", httpserver.url_for("/data"), params=[("a", "1"), ("b", "2")]) is not first
    assert later.stats.cache_hits == 1 and later.stats.deduped == 0
