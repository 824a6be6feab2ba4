"""The Monday schedule materializes the ISO week that just ended."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import DefaultScheduleStatus, build_schedule_context

from trade_pipeline.defs.operations.schedules import finished_week_key, weekly_briefing_schedule
from trade_pipeline_tests.operations.stand_in import stand_in_repository


def _tick(when: datetime):
    repo = stand_in_repository()
    context = build_schedule_context(scheduled_execution_time=when, repository_def=repo)
    return repo.get_schedule_def("weekly_briefing_schedule").evaluate_tick(context)


def test_monday_tick_requests_the_week_that_just_ended() -> None:
    data = _tick(datetime(2026, 2, 2, 6, 0, tzinfo=UTC))
    assert data.skip_message is None
    [request] = data.run_requests
    assert request.partition_key == "2026-01-26"
    assert request.run_key == "2026-01-26"  # re-evaluating the tick never launches the week twice
    assert request.tags["trade_pipeline/iso_week"] == "2026-W05"
    assert request.tags["trade_pipeline/warehouse"] == "write"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 1, 5, 6, 0, tzinfo=UTC), "2025-12-29"),  # crosses the year: ISO week 2026-W01
        (datetime(2026, 3, 2, 6, 0, tzinfo=UTC), "2026-02-23"),
        (datetime(2026, 2, 8, 23, 0, tzinfo=UTC), "2026-01-26"),  # a manual tick on Sunday: week still running
    ],
)
def test_finished_week(when: datetime, expected: str) -> None:
    assert finished_week_key(when) == expected


def test_schedule_shape() -> None:
    assert weekly_briefing_schedule.cron_schedule == "0 6 * * 1"
    assert weekly_briefing_schedule.execution_timezone == "UTC"
    assert weekly_briefing_schedule.job_name == "weekly_briefing_job"
    assert weekly_briefing_schedule.default_status is DefaultScheduleStatus.STOPPED


def test_tick_before_the_first_partition_skips() -> None:
    data = _tick(datetime(2025, 1, 6, 6, 0, tzinfo=UTC))  # previous week 2024-12-30 precedes the partitions
    assert not data.run_requests
    assert "outside the weekly partitions" in (data.skip_message or "")
