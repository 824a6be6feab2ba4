"""The Census client against a real loopback server: wire encoding, key handling and every fault sources.md lists."""

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from trade_pipeline.core.http import SourceHttpError
from trade_pipeline.defs.us_trade_census.resources import (
    CensusAuthError,
    CensusQueryError,
    CensusRequest,
    CensusTradeClient,
    plan_requests,
)

ROOT = "/data/timeseries/intltrade"
KEY = "0123456789abcdef0123456789abcdef01234567"
REQ = CensusRequest(flow="export", level="HS2", year=2025, first_month=1, last_month=10)
BODY = json.dumps(
    [
        ["CTY_NAME", "ALL_VAL_MO", "ALL_VAL_YR", "E_COMMODITY", "E_COMMODITY_LDESC", "CTY_CODE", "COMM_LVL", "time"],
        ["TAIWAN", "412345678", "412345678", "84", "MACHINERY", "5830", "HS2", "2025-01"],
        ["CHINA", "100", "100", "85", "ELECTRICAL", "5700", "HS2", "2025-01"],
    ]
)


@pytest.fixture
def client(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CensusTradeClient:
    monkeypatch.setenv("CENSUS_API_KEY", KEY)
    return CensusTradeClient(
        mode="live",
        base_url=httpserver.url_for(ROOT),
        cache_dir=str(tmp_path / "cache"),
        min_interval_s=0.0,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
    )


def test_request_on_the_wire(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(BODY, content_type="application/json")
    fetch = client.fetch(REQ, ["5700", "5830"])
    assert fetch.status == "ok" and {(r.cty_code, r.hs2) for r in fetch.records} == {("5830", "84"), ("5700", "85")}
    ((request, _),) = httpserver.log
    query = request.query_string.decode()
    assert "time=from+2025-01+to+2025-10" in query  # spaces as '+', never %2B
    assert query.count("CTY_CODE=") == 2 and "COMM_LVL=HS2" in query
    assert f"key={KEY}" in query
    assert request.args.get("get") == "CTY_NAME,ALL_VAL_MO,ALL_VAL_YR,E_COMMODITY,E_COMMODITY_LDESC"
    # the key is a secret: sent on the wire, but never stored in the response cache
    cached = [p.read_text() for p in Path(client.resolved_cache_dir()).rglob("*.json")]
    assert cached and not any(KEY in text for text in cached)


def test_204_is_no_data(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data("", status=204)
    assert client.fetch(REQ).status == "no_data"
    assert client.probe_month(2031, 1) is False


def test_probe_month_true_when_served(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        f"{ROOT}/exports/hs",
        query_string={"get": "CTY_CODE,ALL_VAL_MO", "CTY_CODE": "5700", "time": "2025-12", "key": KEY},
    ).respond_with_json([["CTY_CODE", "ALL_VAL_MO", "time"], ["5700", "8387883128", "2025-12"]])
    assert client.probe_month(2025, 12) is True


def test_400_surfaces_the_api_message(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(
        "error: unknown variable 'ALL_VAL_MOX'", status=400, content_type="text/plain"
    )
    with pytest.raises(CensusQueryError) as err:
        client.fetch(REQ)
    text = str(err.value)
    assert "error: unknown variable 'ALL_VAL_MOX'" in text and "[census]" in text and "exports/hs" in text
    assert KEY not in text


def test_302_missing_key_is_an_auth_error(
    client: CensusTradeClient, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CENSUS_API_KEY")
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(
        "",
        status=302,
        headers={"Location": "https://api.census.gov/data/missing_key.html", "X-DataWebAPI-KeyError": "1"},
    )
    with pytest.raises(CensusAuthError) as err:
        client.fetch(REQ)
    text = str(err.value)
    assert "missing_key.html" in text and "CENSUS_API_KEY is not set" in text and "[census]" in text
    assert len(httpserver.log) == 1  # the redirect was not followed


def test_key_error_header_without_redirect_is_auth_error(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(
        "[]", status=200, headers={"X-DataWebAPI-KeyError": "1"}
    )
    with pytest.raises(CensusAuthError) as err:
        client.fetch(REQ)
    assert KEY not in str(err.value)


def test_old_style_html_invalid_key_page(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(
        "<html>You included a key with this request, however, it is not valid.</html>", content_type="text/html"
    )
    with pytest.raises(CensusAuthError, match="HTML page"):
        client.fetch(REQ)


def test_429_with_retry_after_then_success(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"{ROOT}/exports/hs").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_oneshot_request(f"{ROOT}/exports/hs").respond_with_data(BODY, content_type="application/json")
    fetch = client.fetch(REQ)
    assert fetch.status == "ok" and len(fetch.records) == 2
    assert client.http.stats.retries == 1 and client.http.stats.by_status == {429: 1, 200: 1}


def test_500_then_success(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(f"{ROOT}/exports/hs").respond_with_data(
        "There was an error while running your query.  We've logged the error and we'll correct it ASAP.", status=500
    )
    httpserver.expect_oneshot_request(f"{ROOT}/exports/hs").respond_with_data(BODY, content_type="application/json")
    assert client.fetch(REQ).status == "ok"
    assert client.http.stats.by_status == {500: 1, 200: 1}


def test_500_forever_gives_up_naming_source(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data("There was an error", status=500)
    with pytest.raises(SourceHttpError) as err:
        client.fetch(REQ)
    assert "[census]" in str(err.value) and "giving up" in str(err.value)


def test_truncated_body_is_a_format_error(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(BODY[:-40], content_type="application/json")
    fetched = client.fetch(REQ)  # a failed request whose body is kept whole for the quarantine
    assert fetched.status == "failed" and "truncated" in fetched.error and "[census]" in fetched.error
    assert fetched.unreadable_body == BODY[:-40] and fetched.records == []


def test_partial_failure_keeps_the_other_requests(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/imports/hs").respond_with_data(
        "error: The requested resource is not available.", status=400
    )
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(BODY, content_type="application/json")
    fetches = client.fetch_week((2025, 10))
    assert len(fetches) == len(plan_requests((2025, 10))) == 8
    failed = [f for f in fetches if f.status == "failed"]
    assert {f.request.flow for f in failed} == {"import"} and len(failed) == 4
    assert "not available" in failed[0].error
    assert all(f.status == "ok" for f in fetches if f.request.flow == "export")


def test_everything_failing_raises(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data("error: bad", status=400)
    httpserver.expect_request(f"{ROOT}/imports/hs").respond_with_data("error: bad", status=400)
    with pytest.raises(SourceHttpError, match="every request failed"):
        client.fetch_week((2025, 10))


def test_auth_failure_stops_the_week(client: CensusTradeClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{ROOT}/exports/hs").respond_with_data(
        "", status=302, headers={"Location": "https://api.census.gov/data/invalid_key.html"}
    )
    with pytest.raises(CensusAuthError, match="invalid_key.html"):
        client.fetch_week((2025, 10))


def test_plan_is_eight_requests_two_years() -> None:
    plan = plan_requests((2026, 1))
    assert len(plan) == 8
    assert {(r.year, r.last_month) for r in plan} == {(2025, 12), (2026, 1)}
    assert {r.time_predicate() for r in plan} == {"from 2025-01 to 2025-12", "2026-01"}
