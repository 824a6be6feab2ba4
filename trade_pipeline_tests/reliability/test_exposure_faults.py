"""Faults on the exposure requests (Comtrade HS6 exports, Census HS6 imports) against a loopback server replaying
the sample: 5xx and 429 are retried; 5xx on every attempt, truncated JSON, a wrong shape and a missing code flag
the figures of that request only (never a crash, never a silent zero); a capped preview reply is flagged truncated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trade_pipeline.defs.policy_exposure import exposure as rules
from trade_pipeline.defs.policy_exposure.assets import _code_status, _fetch_census, _fetch_comtrade
from trade_pipeline.defs.policy_exposure.mapping import load_map
from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.support import Fault, respond

CODE = "850760"
YEAR = 2024


@pytest.fixture
def server(tmp_path: Path):
    captures = support.copy_captures(tmp_path / "captures", ("comtrade", "census"))
    cs, _ = support.start_capture_server(captures)
    yield cs
    support.stop_capture_server(cs)


def _comtrade(cs, fault: Fault | None = None):
    if fault:
        cs.faults.append(fault)
    client = support.live_client("comtrade", cs, endpoint="preview", cache_dir=str(cs.captures.parent / "cache"))
    return _fetch_comtrade(client, [CODE, "280530"], YEAR)


def _census(cs, fault: Fault | None = None):
    if fault:
        cs.faults.append(fault)
    client = support.live_client("census", cs, cache_dir=str(cs.captures.parent / "cache"))
    return _fetch_census(client, sorted(load_map()["hs6"].unique()), 2025, 1, 12)


def _flags(cn_rows, cn_log, us_rows=(), us_log=()):
    import polars as pl

    controls = pl.DataFrame(
        [
            {
                "measure_id": "m",
                "announcement_id": "m",
                "doc_number": "",
                "doc_number_zh_tw": "",
                "status": "in_force",
                "item_keys": "lithium_battery",
                "items_zh_tw": "鋰電池",
                "has_goods": True,
                "review_flags": "",
            }
        ]
    )
    out = rules.exposure_frame(
        controls=controls,
        mapping=load_map(),
        cn=pl.DataFrame(cn_rows, schema=rules.COMTRADE_COLUMNS),
        cn_year=YEAR,
        cn_status=_code_status(pl.DataFrame(cn_log, schema=rules.REQUEST_COLUMNS), "comtrade"),
        us=pl.DataFrame(list(us_rows), schema=rules.CENSUS_COLUMNS),
        us_latest=(2025, 12),
        us_status=_code_status(pl.DataFrame(list(us_log), schema=rules.REQUEST_COLUMNS), "census"),
    )
    return {r["hs6"]: r for r in out.iter_rows(named=True)}


def _is_code(code: str):
    return lambda key: f"cmdCode={code}" in key


@pytest.mark.parametrize(
    "actions",
    [
        [respond(500), respond(502)],
        [respond(429, "Rate limit is exceeded. Try again in 1 seconds.", {"Retry-After": "1"})],
        [respond(503)],
    ],
)
def test_comtrade_transient_faults_are_retried(server, actions):
    rows, log = _comtrade(server, Fault("comtrade", _is_code(CODE), actions))
    assert {r["status"] for r in log} == {"ok"}
    assert {(r["hs6"], r["partner_code"]) for r in rows} >= {(CODE, 0), (CODE, 842)}


@pytest.mark.parametrize(
    "body, status",
    [
        ("", 500),  # 5xx on every attempt
        ('{"elapsedTime":"0.1 secs","count":6,"data":[{"cmdCode"', 200),  # truncated JSON
        ('{"unexpected": true}', 200),  # wrong shape
    ],
)
def test_comtrade_failed_request_flags_only_its_code(server, body, status):
    rows, log = _comtrade(server, Fault("comtrade", _is_code(CODE), [respond(status, body)], forever=True))
    assert [r["status"] for r in log if r["codes"] == CODE] == ["failed"]
    assert [r["status"] for r in log if r["codes"] == "280530"] == ["ok"]
    fig = _flags(rows, log)[CODE]
    assert "partial_http_failure" in fig["review_flags"] and fig["cn_export_world_usd"] is None


def test_comtrade_capped_preview_is_flagged_truncated(server):
    doc = json.loads(support.find_capture(server.captures, "comtrade", _key(server)).read_text())
    envelope = json.loads(doc["response"]["body"])
    envelope["count"] = 500
    rows, log = _comtrade(server, Fault("comtrade", _is_code(CODE), [respond(200, json.dumps(envelope))], forever=True))
    assert [r["status"] for r in log if r["codes"] == CODE] == ["truncated"]
    fig = _flags(rows, log)[CODE]
    assert "truncated" in fig["review_flags"] and fig["cn_export_world_usd"] is not None


def _key(server) -> str:
    from trade_pipeline.core.http import request_key
    from trade_pipeline.defs.bilateral_trade_flows.resources import (
        DEFAULT_BASE_URL,
        EXPOSURE_PARTNERS,
        PREVIEW_PATH,
        hs6_exports_params,
    )

    return request_key(
        "GET", DEFAULT_BASE_URL + PREVIEW_PATH, hs6_exports_params(156, [CODE], [YEAR], EXPOSURE_PARTNERS, True)
    )


def _is_hs6_import(key: str) -> bool:
    return "COMM_LVL=HS6" in key


def test_census_transient_faults_are_retried(server):
    rows, log = _census(server, Fault("census", _is_hs6_import, [respond(500), respond(429, "", {"Retry-After": "1"})]))
    assert [r["status"] for r in log] == ["ok"] and rows


@pytest.mark.parametrize(
    "body, status",
    [
        ("There was an error while running your query.", 500),
        ('[["CTY_NAME","GEN_VAL_MO","I_COMMODITY"],["CHINA","12', 200),
        ('{"not": "an array"}', 200),
    ],
)
def test_census_failed_request_flags_partial_fetch(server, body, status):
    rows, log = _census(server, Fault("census", _is_hs6_import, [respond(status, body)], forever=True))
    assert [r["status"] for r in log] == ["failed"] and not rows
    fig = _flags([], [], rows, log)[CODE]
    assert "partial_fetch" in fig["review_flags"] and fig["us_import_ytd_usd"] is None


def test_census_code_missing_from_reply_is_flagged_not_zero(server):
    rows, log = _census(server)
    kept = [r for r in rows if r["hs6"] != CODE]
    fig = _flags([], [], kept, log)[CODE]
    assert "code_not_in_reply" in fig["review_flags"]
    assert fig["us_import_ytd_usd"] is None and fig["cn_share_of_us_imports_pct"] is None


def test_census_bad_rows_are_quarantined_with_reason(server):
    table = [
        ["CTY_NAME", "GEN_VAL_MO", "I_COMMODITY", "CTY_CODE", "COMM_LVL", "time"],
        ["CHINA", "100", CODE, "5700", "HS6", "2025-13"],
        ["CHINA", "-5", CODE, "5700", "HS6", "2025-01"],
    ]
    rows, log = _census(server, Fault("census", _is_hs6_import, [respond(200, json.dumps(table))], forever=True))
    assert log[0]["rejected_count"] == 2
    assert {json.loads(log[0]["rejected_rows"])[i]["reason"] for i in (0, 1)} == {
        "time '2025-13' is not YYYY-MM",
        "negative GEN_VAL_MO",
    }
