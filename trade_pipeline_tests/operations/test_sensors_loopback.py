"""Both sensors against the real clients talking to a loopback server (wire format of sources.md §2 and §3)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import build_sensor_context
from pytest_httpserver import HTTPServer

from trade_pipeline.defs.cn_export_control.resources import LIST_PATH, MofcomClient
from trade_pipeline.defs.operations import sensors
from trade_pipeline.defs.operations.sensors import census_release_sensor, mofcom_announcements_sensor
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient
from trade_pipeline_tests.operations.stand_in import stand_in_repository

NOW = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)  # Friday of 2026-W08; calendar: Dec 2025 out on 02-19


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sensors, "_now", lambda: NOW)


def _list_reply(rows: list[dict]) -> str:
    return json.dumps({"pageInfo": {"total": len(rows), "maxPageNum": 1, "rows": rows}}, ensure_ascii=False)


ROW_61 = {
    "id": 1171,
    "title": "商务部公告2025第61号 公布对境外相关稀土物项实施出口管制的决定",
    "url": "/article/zcfg/gnzcfg/zcfggzqd/202510/1171.html",
    "publishTimeStr": "2025-10-09 00:00:00",
    "source": "商务部",
    "content": "",
    "columnName": "管制清单",
}
ROW_NEW = {
    "id": 1230,
    "title": "商务部公告2026年第9号 关于对相关物项实施出口管制的公告",
    "url": "/article/zcfg/gnzcfg/zcfggzqd/202602/1230.html",
    "publishTimeStr": "2026-02-19 00:00:00",
    "source": "商务部",
    "content": "",
    "columnName": "管制清单",
}


def _serve_list(server: HTTPServer, rows: list[dict]) -> None:
    server.clear()
    server.expect_request(LIST_PATH, method="POST", data="pageNumber=1&columnID=9&title=").respond_with_data(
        _list_reply(rows).encode("utf-8"), content_type="application/json;charset=UTF-8"
    )


def test_mofcom_sensor_over_the_wire(httpserver: HTTPServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    client = MofcomClient(
        mode="live",
        base_url=httpserver.url_for("/").rstrip("/"),
        cache_dir=str(cache),
        columns="9",
        min_interval_s=0.0,
        max_attempts=1,
    )

    def tick(cursor: str | None):
        with build_sensor_context(
            cursor=cursor, resources={"mofcom": client}, repository_def=stand_in_repository()
        ) as context:
            return mofcom_announcements_sensor.evaluate_tick(context)

    _serve_list(httpserver, [ROW_61])
    baseline = tick(None)
    assert baseline.run_requests == [] and json.loads(baseline.cursor)["9"]["date"] == "2025-10-09"

    _serve_list(httpserver, [ROW_NEW, ROW_61])
    shutil.rmtree(cache)  # the list page cache has expired (LIST_CACHE_MAX_AGE_S) by the next poll
    news = tick(baseline.cursor)
    [request] = news.run_requests
    assert request.partition_key == "2026-02-16"
    assert json.loads(news.cursor)["9"] == {"date": "2026-02-19", "urls": [ROW_NEW["url"]]}

    # Garbled reply (the "???" quirk): the tick skips naming the source, the cursor stays.
    httpserver.clear()
    httpserver.expect_request(LIST_PATH, method="POST").respond_with_data(
        _list_reply([{**ROW_NEW, "title": "?????2026?9? ????"}]), content_type="application/json"
    )
    shutil.rmtree(cache, ignore_errors=True)
    garbled = tick(news.cursor)
    assert garbled.run_requests == [] and garbled.cursor == news.cursor
    assert "[mofcom]" in garbled.skip_message


def test_census_sensor_over_the_wire(httpserver: HTTPServer, tmp_path: Path) -> None:
    client = CensusTradeClient(
        mode="live",
        base_url=httpserver.url_for("/").rstrip("/"),
        cache_dir=str(tmp_path),
        min_interval_s=0.0,
        max_attempts=1,
    )

    def serve(month: str, body: str | None) -> None:
        handler = httpserver.expect_request(
            "/exports/hs", query_string={"get": "CTY_CODE,ALL_VAL_MO", "CTY_CODE": "5700", "time": month}
        )
        if body is None:
            handler.respond_with_data("", status=204)
        else:
            handler.respond_with_data(body, content_type="application/json;charset=utf-8")

    def tick(cursor: str | None):
        with build_sensor_context(
            cursor=cursor, resources={"census": client}, repository_def=stand_in_repository()
        ) as context:
            return census_release_sensor.evaluate_tick(context)

    # On 2026-02-20 the calendar says December 2025 is out (released 2026-02-19), and the API serves it.
    serve("2025-12", '[["CTY_CODE","ALL_VAL_MO","time"],\n["5700","10123456789","2025-12"]]')
    first = tick("2025-11")
    [request] = first.run_requests
    assert first.cursor == "2025-12"
    assert request.run_key == "census:2025-12:2026-02-16"

    # Same tick again with the new cursor: nothing more to probe, no second request.
    again = tick(first.cursor)
    assert again.run_requests == [] and again.cursor == "2025-12"

    # A truncated reply is an error for this tick, never a released month.
    httpserver.clear()
    serve("2025-12", '[["CTY_CODE","ALL_VAL_MO","time"],["5700","1012')
    broken = tick("2025-11")
    assert broken.run_requests == [] and broken.cursor == "2025-11"
    assert "census" in broken.skip_message.lower()
