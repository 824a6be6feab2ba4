"""ComtradeClient against a loopback Comtrade (pytest-httpserver): the exact queries, the key, truncation, the quota."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug import Response

from trade_pipeline.defs.bilateral_trade_flows.codes import HS2_ZH
from trade_pipeline.defs.bilateral_trade_flows.resources import (
    API_KEY_ENV,
    KEYED_RECORD_CAP,
    PREVIEW_RECORD_CAP,
    ComtradeAuthError,
    ComtradeQuotaError,
)

from .conftest import API_KEY, FakeComtrade, FastComtradeClient

COMMON = {
    "cmdCode": "TOTAL",
    "partner2Code": "0",
    "motCode": "0",
    "customsCode": "C00",
    "breakdownMode": "classic",
    "includeDesc": "true",
}


def live_client(fake: FakeComtrade, **kw) -> FastComtradeClient:
    kw.setdefault("endpoint", "auto")
    return FastComtradeClient(mode="live", base_url=fake.base_url, **kw)  # type: ignore[attr-defined]


def files_text(*roots: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for root in roots
        if root.exists()
        for p in root.rglob("*")
        if p.is_file()
    )


# -- 1. request shape ------------------------------------------------------------------------------------------------
def test_keyed_partner_totals_is_one_call_with_exact_params_and_key_header(
    fake_comtrade, monkeypatch, isolated_data_dir
) -> None:
    client = live_client(fake_comtrade)
    # The key is read when the request is made, not when the resource is built.
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    results = client.partner_totals(156, ("X", "M"), [2023, 2024])

    assert len(fake_comtrade.requests) == 1
    req = fake_comtrade.requests[0]
    assert req["path"] == "/data/v1/get/C/A/HS"
    assert req["params"] == {"reporterCode": "156", "period": "2023,2024", "flowCode": "X,M", **COMMON}
    assert len(req["args"]) == len(req["params"])  # no repeated parameter
    assert "partnerCode" not in req["params"] and "maxRecords" not in req["params"]  # all partners, plan's cap
    assert req["key_header"] == API_KEY
    assert not any(API_KEY in v for _, v in req["args"])  # header only, never in the query

    assert len(results) == 1 and results[0].endpoint == "keyed" and not results[0].truncated
    years_flows = {(r["flowCode"], r["refYear"]) for r in results[0].rows}
    assert years_flows == {("X", 2023), ("X", 2024), ("M", 2023), ("M", 2024)}
    assert client.keyed_calls_today() == 1
    # The key never reaches the cache, the quota file or anything else under the data dir.
    assert API_KEY not in files_text(isolated_data_dir)


def test_keyless_preview_fallback_one_call_per_flow_and_year(fake_comtrade) -> None:
    client = live_client(fake_comtrade)  # auto, no $COMTRADE_API_KEY
    results = client.partner_totals(842, ("X", "M"), [2023, 2024])

    paths = {r["path"] for r in fake_comtrade.requests}
    assert paths == {"/public/v1/preview/C/A/HS"}
    got = sorted((r["params"]["flowCode"], r["params"]["period"]) for r in fake_comtrade.requests)
    assert got == [("M", "2023"), ("M", "2024"), ("X", "2023"), ("X", "2024")]
    for req in fake_comtrade.requests:
        assert req["params"] == {
            "reporterCode": "842",
            "period": req["params"]["period"],
            "flowCode": req["params"]["flowCode"],
            **COMMON,
            "maxRecords": str(PREVIEW_RECORD_CAP),
        }
        assert req["key_header"] is None
    assert [r.endpoint for r in results] == ["preview"] * 4
    assert client.keyed_calls_today() == 0  # the preview costs no keyed quota


def test_hs2_world_and_mirror_queries(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    client = live_client(fake_comtrade)
    hs2 = client.hs2_world(410, ("X", "M"), [2023, 2024])
    mirror = client.mirror(("X", "M"), [2023, 2024])

    hs2_req, mirror_req = fake_comtrade.requests
    chapters = hs2_req["params"]["cmdCode"].split(",")
    assert chapters == sorted(HS2_ZH)[:-1] and "77" not in chapters and "99" not in chapters and len(chapters) == 96
    assert hs2_req["params"] == {
        "reporterCode": "410",
        "period": "2023,2024",
        "flowCode": "X,M",
        **COMMON,
        "cmdCode": hs2_req["params"]["cmdCode"],
        "partnerCode": "0",
    }
    assert {r["partnerCode"] for r in hs2[0].rows} == {0} and len(hs2[0].rows) == 4 * 96

    assert mirror_req["params"] == {"partnerCode": "490", "period": "2023,2024", "flowCode": "X,M", **COMMON}
    assert "reporterCode" not in mirror_req["params"]  # every reporter's trade with 490
    assert {r["partnerCode"] for r in mirror[0].rows} == {490}
    assert all(r["key_header"] == API_KEY for r in fake_comtrade.requests)


def test_keyed_without_key_stops_before_any_request(fake_comtrade) -> None:
    client = live_client(fake_comtrade, endpoint="keyed")
    with pytest.raises(ComtradeAuthError, match=API_KEY_ENV):
        client.partner_totals(156, ("X",), [2024])
    assert fake_comtrade.requests == []


def test_rejected_key_is_a_stop_error_that_never_echoes_the_key(fake_comtrade, monkeypatch, isolated_data_dir) -> None:
    wrong = "ffffffffffffffffffffffffffffffff"
    monkeypatch.setenv(API_KEY_ENV, wrong)
    client = live_client(fake_comtrade)
    with pytest.raises(ComtradeAuthError) as err:
        client.partner_totals(156, ("X",), [2024])
    assert "401" in str(err.value) and wrong not in str(err.value)
    assert wrong not in files_text(isolated_data_dir)


def test_record_mode_captures_hold_no_key(fake_comtrade, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    client = FastComtradeClient(mode="record", base_url=fake_comtrade.base_url, capture_dir=str(tmp_path / "rec"))
    client.partner_totals(392, ("X", "M"), [2024])
    captures = list((tmp_path / "rec" / "comtrade").glob("*.json"))
    assert len(captures) == 1
    text = captures[0].read_text(encoding="utf-8")
    assert API_KEY not in text and "Ocp-Apim-Subscription-Key" not in text
    assert json.loads(text)["request"]["url"].endswith("/data/v1/get/C/A/HS")


# -- 2. truncation ---------------------------------------------------------------------------------------------------
def _capped(cap: int, when=lambda params: True):
    def respond(path: str, params: dict):
        if "getDa" in path or not when(params):
            return None
        return {"elapsedTime": "1 secs", "count": cap, "data": [], "error": ""}

    return respond


def test_keyed_truncated_reply_is_refetched_per_flow_and_year(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    # Only the wide (two flows, two years) query comes back at the plan's cap.
    fake_comtrade.respond = _capped(KEYED_RECORD_CAP, lambda p: "," in p["flowCode"] or "," in p["period"])
    client = live_client(fake_comtrade)
    results = client.partner_totals(156, ("X", "M"), [2023, 2024])

    scopes = [(r["params"]["flowCode"], r["params"]["period"]) for r in fake_comtrade.requests]
    assert scopes == [("X,M", "2023,2024"), ("X", "2023"), ("X", "2024"), ("M", "2023"), ("M", "2024")]
    assert len(results) == 4 and not any(r.truncated for r in results)
    assert all(len(r.rows) > 200 for r in results)
    assert client.keyed_calls_today() == 5


def test_keyed_reply_still_at_cap_when_narrowest_is_flagged(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    fake_comtrade.respond = _capped(KEYED_RECORD_CAP)
    results = live_client(fake_comtrade).partner_totals(156, ("X", "M"), [2024])
    assert len(fake_comtrade.requests) == 3  # wide, then X 2024 and M 2024: nothing narrower exists
    assert len(results) == 2 and all(r.truncated for r in results)


def test_preview_reply_at_cap_is_flagged(fake_comtrade) -> None:
    fake_comtrade.respond = _capped(PREVIEW_RECORD_CAP, lambda p: p["flowCode"] == "X")
    results = live_client(fake_comtrade).partner_totals(156, ("X", "M"), [2024])
    assert {r.request_key.split("flowCode=")[1][0]: r.truncated for r in results} == {"X": True, "M": False}
    # one below the cap is complete
    fake_comtrade.respond = _capped(PREVIEW_RECORD_CAP - 1)
    assert not any(r.truncated for r in live_client(fake_comtrade).partner_totals(156, ("X",), [2023]))


# -- 3. daily quota --------------------------------------------------------------------------------------------------
def test_quota_counts_calls_and_stops_with_a_clear_message(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    client = live_client(fake_comtrade, daily_call_budget=3)
    for reporter in (842, 156, 392):
        client.partner_totals(reporter, ("X", "M"), [2023, 2024])
    assert client.keyed_calls_today() == 3
    with pytest.raises(ComtradeQuotaError) as err:
        client.partner_totals(410, ("X", "M"), [2023, 2024])
    text = str(err.value)
    assert "3 keyed calls already made" in text and "budget is 3" in text and "00:00 UTC" in text
    assert len(fake_comtrade.data_requests()) == 3  # the fourth call never reached the server
    # the counter lives on disk: a new client (next run, same day) is stopped too, without calling
    with pytest.raises(ComtradeQuotaError):
        live_client(fake_comtrade, daily_call_budget=3).hs2_world(842, ("X",), [2024])
    assert len(fake_comtrade.data_requests()) == 3


def test_default_budget_stays_below_the_plans_500(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    client = live_client(fake_comtrade)
    path = client.quota_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date().isoformat()
    path.write_text(json.dumps({"utc_date": today, "calls": 499, "exhausted": False}), encoding="utf-8")
    with pytest.raises(ComtradeQuotaError, match="plan limit 500/day"):
        client.partner_totals(156, ("X",), [2024])
    assert fake_comtrade.requests == []
    # yesterday's counter does not count today
    path.write_text(json.dumps({"utc_date": "2000-01-01", "calls": 499, "exhausted": True}), encoding="utf-8")
    client.partner_totals(156, ("X",), [2024])
    assert client.keyed_calls_today() == 1


def test_retries_never_go_past_the_budget(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    fake_comtrade.respond = lambda path, params: Response("There was an error while running your query.", status=503)
    client = live_client(fake_comtrade, daily_call_budget=2)
    assert client.http.max_attempts == 4
    results = client.partner_totals(156, ("X", "M"), [2024])
    assert len(results) == 1 and results[0].failed and "503" in results[0].error
    assert len(fake_comtrade.requests) == 2 and client.keyed_calls_today() == 2  # not 4 attempts
    assert client.http.max_attempts == 4  # the cap was only for that request
    with pytest.raises(ComtradeQuotaError):
        client.partner_totals(842, ("X", "M"), [2024])
    assert len(fake_comtrade.requests) == 2


def test_server_quota_403_stops_for_the_day(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    fake_comtrade.respond = lambda path, params: Response(
        json.dumps({"statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in 05:12:00."}),
        status=403,
        content_type="application/json",
    )
    client = live_client(fake_comtrade)
    with pytest.raises(ComtradeQuotaError, match="quota exhausted"):
        client.partner_totals(156, ("X", "M"), [2024])
    assert len(fake_comtrade.requests) == 1  # a 403 quota answer is not retried
    fake_comtrade.respond = None
    with pytest.raises(ComtradeQuotaError, match="exhausted earlier today"):
        live_client(fake_comtrade).partner_totals(842, ("X",), [2024])
    assert len(fake_comtrade.requests) == 1


# -- partial failure inside one reporter -----------------------------------------------------------------------------
def test_one_failed_preview_call_keeps_the_reporters_other_answers(fake_comtrade) -> None:
    fake_comtrade.respond = lambda path, params: (
        Response("boom", status=500) if params.get("flowCode") == "X" and params.get("period") == "2024" else None
    )
    client = live_client(fake_comtrade, endpoint="preview")
    results = client.partner_totals(156, ("X", "M"), [2023, 2024])
    assert len(results) == 4
    failed = [r for r in results if r.failed]
    assert len(failed) == 1 and "flowCode=X" in failed[0].request_key and "period=2024" in failed[0].request_key
    assert all(len(r.rows) > 200 for r in results if not r.failed)


def test_a_cached_rerun_costs_no_quota_even_when_the_day_is_spent(fake_comtrade, monkeypatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    client = live_client(fake_comtrade, daily_call_budget=2)
    client.partner_totals(842, ("X", "M"), [2023, 2024])
    client.partner_totals(156, ("X", "M"), [2023, 2024])
    assert client.keyed_calls_today() == 2 and len(fake_comtrade.data_requests()) == 2
    # the day's budget is spent, but the same requests are answered by the response cache: no call, no error
    again = live_client(fake_comtrade, daily_call_budget=2)
    assert again.partner_totals(842, ("X", "M"), [2023, 2024])
    assert len(fake_comtrade.data_requests()) == 2 and again.keyed_calls_today() == 2
    with pytest.raises(ComtradeQuotaError):  # a request that is not cached is still refused
        again.partner_totals(392, ("X", "M"), [2023, 2024])


def test_concurrent_reservations_never_overspend(fake_comtrade, monkeypatch) -> None:
    """Two clients (two runs) share the on-disk counter: reservations happen under a lock, before sending."""
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    a, b = live_client(fake_comtrade, daily_call_budget=1), live_client(fake_comtrade, daily_call_budget=1)
    assert a._reserve_quota(4, "GET test") == 1  # only one call is left: one attempt reserved, not four
    with pytest.raises(ComtradeQuotaError):
        b._reserve_quota(4, "GET test")
    a._count_quota(-1)  # the reservation handed back unused
    assert b._reserve_quota(4, "GET test") == 1
