"""MOFCOM and Census sensors: baseline, cursor advance, one run request per novelty, errors keep the cursor.

The clients' network methods are replaced by subclasses (the sensors' only contact with a source), evaluated through
Dagster's own ``build_sensor_context`` + ``evaluate_tick`` with the resources bound as in Definitions.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from dagster import DefaultSensorStatus, build_sensor_context

from trade_pipeline.core.http import SourceHttpError
from trade_pipeline.defs.cn_export_control.parse import ListPage, ListRow
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.operations import sensors
from trade_pipeline.defs.operations.sensors import census_release_sensor, mofcom_announcements_sensor
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient
from trade_pipeline_tests.operations.stand_in import stand_in_repository

NOW = datetime(2026, 1, 28, 9, 30, tzinfo=UTC)  # Wednesday of 2026-W05 → current week 2026-01-26


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sensors, "_now", lambda: NOW)


# ------------------------------------------------------------------------------------------------------------------
# MOFCOM
# ------------------------------------------------------------------------------------------------------------------
class ListingMofcom(MofcomClient):
    """MofcomClient whose list_page serves a fixed listing: {column: [[url, title, 'YYYY-MM-DD'], ...]} as JSON.

    A column mapped to the string "error" raises the client's transport error."""

    listing_json: str = "{}"

    def list_page(self, column_id: int, page: int) -> ListPage:  # type: ignore[override]
        listing: dict[str, Any] = json.loads(self.listing_json)
        rows = listing.get(str(column_id), [])
        if rows == "error":
            raise SourceHttpError(
                "mofcom", f"POST getColumnList columnID={column_id}", "giving up after 4 attempts", status=503
            )
        parsed = [
            ListRow(
                url=u,
                title=t,
                publish_date=date.fromisoformat(d) if d else None,
                row_id=u.rsplit("/", 1)[-1].split(".")[0],
                column_id=column_id,
            )
            for u, t, d in rows
        ]
        return ListPage(column_id=column_id, page=page, rows=parsed, max_page_num=1, total=len(parsed))


A61 = [
    "/article/zcfg/gnzcfg/zcfggzqd/202510/1171.html",
    "商务部公告2025第61号 公布对境外相关稀土物项实施出口管制的决定",
    "2025-10-09",
]
JP = ["/article/gndt/202601/1204.html", "商务部新闻发言人就加强对日两用物项出口管制答记者问", "2026-01-06"]
NEW_9 = [
    "/article/zcfg/gnzcfg/zcfggzqd/202601/1210.html",
    "商务部公告2026年第5号 关于锂电池材料出口管制的公告",
    "2026-01-27",
]
SAME_DAY_9 = ["/article/zcfg/gnzcfg/zcfggzqd/202601/1211.html", "商务部公告2026年第6号", "2026-01-27"]


def _mofcom_tick(listing: dict, cursor: str | None):
    client = ListingMofcom(listing_json=json.dumps(listing, ensure_ascii=False), columns=",".join(listing))
    with build_sensor_context(
        cursor=cursor, resources={"mofcom": client}, repository_def=stand_in_repository()
    ) as context:
        return mofcom_announcements_sensor.evaluate_tick(context)


def test_mofcom_first_tick_records_a_baseline_without_a_run() -> None:
    data = _mofcom_tick({"9": [A61], "1": [JP]}, cursor=None)
    assert data.run_requests == []
    assert "baseline" in data.skip_message
    state = json.loads(data.cursor)
    assert state["9"] == {"date": "2025-10-09", "urls": [A61[0]]}
    assert state["1"] == {"date": "2026-01-06", "urls": [JP[0]]}


def test_mofcom_new_announcement_requests_the_current_week_once() -> None:
    baseline = _mofcom_tick({"9": [A61], "1": [JP]}, cursor=None).cursor
    unchanged = _mofcom_tick({"9": [A61], "1": [JP]}, cursor=baseline)
    assert unchanged.run_requests == [] and unchanged.cursor == baseline

    listing = {"9": [NEW_9, A61], "1": [JP]}
    first = _mofcom_tick(listing, cursor=baseline)
    [request] = first.run_requests
    assert request.partition_key == "2026-01-26"
    assert request.tags["trade_pipeline/iso_week"] == "2026-W05"
    assert request.tags["trade_pipeline/new_announcements"] == "1"
    assert json.loads(first.cursor)["9"] == {"date": "2026-01-27", "urls": [NEW_9[0]]}

    # The next tick with the advanced cursor sees nothing new ...
    after = _mofcom_tick(listing, cursor=first.cursor)
    assert after.run_requests == [] and after.cursor == first.cursor
    # ... and a tick re-evaluated from the old cursor (e.g. the cursor write was lost) yields the same run_key,
    # which Dagster refuses to launch twice.
    replayed = _mofcom_tick(listing, cursor=baseline)
    assert [r.run_key for r in replayed.run_requests] == [request.run_key]


def test_mofcom_second_announcement_on_the_same_day_is_new() -> None:
    cursor = _mofcom_tick({"9": [NEW_9, A61]}, cursor=None).cursor
    data = _mofcom_tick({"9": [SAME_DAY_9, NEW_9, A61]}, cursor=cursor)
    [request] = data.run_requests
    assert json.loads(data.cursor)["9"] == {"date": "2026-01-27", "urls": sorted([NEW_9[0], SAME_DAY_9[0]])}
    first_key = _mofcom_tick({"9": [NEW_9, A61]}, cursor=_mofcom_tick({"9": [A61]}, cursor=None).cursor).run_requests
    assert first_key[0].run_key != request.run_key  # a different novelty is a different run


def test_mofcom_failing_column_keeps_its_cursor_while_others_trigger() -> None:
    baseline = _mofcom_tick({"9": [A61], "1": [JP]}, cursor=None).cursor
    data = _mofcom_tick(
        {"9": "error", "1": [["/article/gndt/202601/1212.html", "答记者问", "2026-01-28"], JP]}, cursor=baseline
    )
    assert len(data.run_requests) == 1
    state = json.loads(data.cursor)
    assert state["9"] == json.loads(baseline)["9"]  # untouched: its news will still be seen on the next tick
    assert state["1"]["date"] == "2026-01-28"


def test_mofcom_all_columns_failing_skips_with_the_error_and_keeps_the_cursor() -> None:
    baseline = _mofcom_tick({"9": [A61], "1": [JP]}, cursor=None).cursor
    data = _mofcom_tick({"9": "error", "1": "error"}, cursor=baseline)
    assert data.run_requests == []
    assert data.cursor == baseline
    assert "[mofcom]" in data.skip_message and "HTTP 503" in data.skip_message


def test_mofcom_undated_rows_are_ignored_not_fatal() -> None:
    baseline = _mofcom_tick({"9": [A61]}, cursor=None).cursor
    data = _mofcom_tick({"9": [["/article/x/1300.html", "无日期", ""], A61]}, cursor=baseline)
    assert data.run_requests == [] and data.cursor == baseline


# ------------------------------------------------------------------------------------------------------------------
# Census
# ------------------------------------------------------------------------------------------------------------------
class ScriptedCensus(CensusTradeClient):
    """CensusTradeClient with a fixed calendar answer and a fixed set of months the API serves ("YYYY-MM,...")."""

    calendar_month: str = "2025-10"
    served_months: str = "2025-09,2025-10"
    probe_error: bool = False

    def latest_released_month(self, as_of: date) -> tuple[int, int]:  # type: ignore[override]
        year, month = self.calendar_month.split("-")
        return int(year), int(month)

    def probe_month(self, year: int, month: int) -> bool:  # type: ignore[override]
        if self.probe_error:
            raise SourceHttpError("census", f"GET intltrade/exports/hs time={year}-{month:02d}", "timed out")
        return f"{year:04d}-{month:02d}" in self.served_months.split(",")


def _census_tick(cursor: str | None, **client: Any):
    with build_sensor_context(
        cursor=cursor, resources={"census": ScriptedCensus(**client)}, repository_def=stand_in_repository()
    ) as context:
        return census_release_sensor.evaluate_tick(context)


def test_census_baseline_then_new_month_then_nothing() -> None:
    baseline = _census_tick(None, calendar_month="2025-10", served_months="2025-09,2025-10")
    assert baseline.run_requests == [] and baseline.cursor == "2025-10"

    # The calendar says November is out, the API does not serve it yet: no run, cursor stays, reason given.
    early = _census_tick("2025-10", calendar_month="2025-11", served_months="2025-09,2025-10")
    assert early.run_requests == [] and early.cursor == "2025-10"
    assert "no data for it yet" in early.skip_message

    released = _census_tick("2025-10", calendar_month="2025-11", served_months="2025-10,2025-11")
    [request] = released.run_requests
    assert released.cursor == "2025-11"
    assert request.partition_key == "2026-01-26"
    assert request.run_key == "census:2025-11:2026-01-26"
    assert request.tags["trade_pipeline/census_month"] == "2025-11"

    again = _census_tick("2025-11", calendar_month="2025-11", served_months="2025-10,2025-11")
    assert again.run_requests == [] and again.cursor == "2025-11"


def test_census_baseline_falls_back_when_the_calendar_month_is_not_served() -> None:
    data = _census_tick(None, calendar_month="2025-11", served_months="2025-10")
    assert data.cursor == "2025-10"


def test_census_several_months_at_once_make_one_run() -> None:
    data = _census_tick("2025-09", calendar_month="2025-12", served_months="2025-10,2025-11,2025-12")
    assert [r.run_key for r in data.run_requests] == ["census:2025-12:2026-01-26"]
    assert data.cursor == "2025-12"


def test_census_probe_error_keeps_the_cursor() -> None:
    data = _census_tick("2025-10", calendar_month="2025-11", probe_error=True)
    assert data.run_requests == [] and data.cursor == "2025-10"
    assert "[census]" in data.skip_message


# ------------------------------------------------------------------------------------------------------------------
def test_sensors_are_stopped_by_default_and_target_the_weekly_job() -> None:
    for sensor_def in (mofcom_announcements_sensor, census_release_sensor):
        assert sensor_def.default_status is DefaultSensorStatus.STOPPED
        assert sensor_def.job_name == "weekly_briefing_job"
