"""Sensors that refresh the running week's partition when a source publishes something new.

Both are STOPPED by default: they poll the live sources, and the offline default (replay of the embedded sample)
has nothing new to find. Turn them on in the UI (Automation tab) where the sources are reachable
(``TRADE_PIPELINE_HTTP_MODE=live`` or ``record`` in the environment of `dagster dev`).

- ``mofcom_announcements_sensor``: reads page 1 of each polled MOFCOM column and keeps, per column, the newest
  publish date seen and the URLs seen on that date (URLs are the site's stable keys). New rows → one run of the
  current week's partition, run_key = week + hash of the new URLs, so a re-evaluated tick never launches twice.
- ``census_release_sensor``: asks the client which month the release calendar says is public, then probes the API
  for each month after the cursor up to that one. A month that answers with data → one run of the current week's
  partition (run_key = month + week) and the cursor moves to that month; a month the calendar says is out but the
  API does not have yet leaves the cursor where it is, so the next tick tries again.

The first evaluation of either sensor records a baseline (what is already published) without requesting a run:
switching a sensor on must not re-run history. A source error skips the tick with the error as reason and keeps the
cursor, so nothing is missed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from trade_pipeline.core.http import SourceHttpError
from trade_pipeline.core.partitions import iso_week_label
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

JOB_NAME = "weekly_briefing_job"
WAREHOUSE_TAG = {"trade_pipeline/warehouse": "write"}
# Columns polled when the client does not say otherwise: 9 = the 公告 feed (control lists, measures),
# 1 = 国内动态 (where spokesperson statements on new controls appear). See sources.md §3.3.
DEFAULT_MOFCOM_COLUMNS: tuple[int, ...] = (9, 1)
MOFCOM_INTERVAL_S = 3600
CENSUS_INTERVAL_S = 6 * 3600


def current_week_key(now: datetime) -> str:
    """Partition key (Monday, UTC) of the week containing ``now`` — the running week (end_offset=1 keeps it)."""
    day = now.astimezone(UTC).date()
    return date.fromordinal(day.toordinal() - day.weekday()).isoformat()


def _short_hash(items: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode()).hexdigest()[:12]


@dataclass
class Evaluation:
    """Outcome of one sensor evaluation, independent of Dagster (tested directly and via build_sensor_context)."""

    cursor: str
    run_requests: list[RunRequest] = field(default_factory=list)
    skip_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_result(self) -> SensorResult:
        if self.run_requests:
            return SensorResult(run_requests=self.run_requests, cursor=self.cursor)
        return SensorResult(skip_reason=SkipReason(self.skip_reason or "nothing new"), cursor=self.cursor)


# --------------------------------------------------------------------------------------------------------------------
# MOFCOM
# --------------------------------------------------------------------------------------------------------------------
def mofcom_columns(client: MofcomClient) -> tuple[int, ...]:
    """The columns to poll: the client's configured ``columns`` (the same ones the assets crawl), else defaults."""
    column_ids = getattr(client, "column_ids", None)
    configured = tuple(column_ids()) if callable(column_ids) else ()
    return configured or DEFAULT_MOFCOM_COLUMNS


def _rows(listing: object) -> list:
    # list_page returns a ListPage (rows in .rows) or a plain list of rows.
    return list(getattr(listing, "rows", listing))


def evaluate_mofcom(client: MofcomClient, columns: Sequence[int], cursor: str | None, now: datetime) -> Evaluation:
    """Poll page 1 of each column; compare with the cursor; request the current week when something is new."""
    state: dict[str, dict] = json.loads(cursor) if cursor else {}
    new_rows: list[tuple[int, str, str]] = []  # (column, url, title)
    errors: list[str] = []
    notes: list[str] = []
    for column in columns:
        try:
            rows = _rows(client.list_page(column, 1))
        except (SourceHttpError, ValueError) as exc:  # ValueError covers the parser's MofcomParseError
            errors.append(f"column {column}: {exc}")
            continue
        dated = [r for r in rows if getattr(r, "publish_date", None) is not None]
        if len(dated) < len(rows):
            notes.append(f"column {column}: {len(rows) - len(dated)} row(s) without a publish date ignored")
        if not dated:
            continue
        newest = max(r.publish_date for r in dated)
        newest_urls = sorted({r.url for r in dated if r.publish_date == newest})
        previous = state.get(str(column))
        if previous is not None:
            seen_date = date.fromisoformat(previous["date"])
            seen_urls = set(previous.get("urls", []))
            fresh = [
                r
                for r in dated
                if r.publish_date > seen_date or (r.publish_date == seen_date and r.url not in seen_urls)
            ]
            new_rows.extend((column, r.url, r.title) for r in fresh)
            if newest < seen_date:  # the site never un-publishes the newest row; keep the later cursor
                continue
            if newest == seen_date:
                newest_urls = sorted(seen_urls | set(newest_urls))
        state[str(column)] = {"date": newest.isoformat(), "urls": newest_urls}

    new_cursor = json.dumps(state, sort_keys=True, ensure_ascii=False)
    baseline = not cursor
    if new_rows and not baseline:
        week = current_week_key(now)
        urls = [url for _, url, _ in new_rows]
        titles = "; ".join(title for _, _, title in new_rows[:5])
        request = RunRequest(
            run_key=f"mofcom:{week}:{_short_hash(urls)}",
            partition_key=week,
            tags={
                **WAREHOUSE_TAG,
                "trade_pipeline/trigger": "mofcom",
                "trade_pipeline/iso_week": iso_week_label(week),
                "trade_pipeline/new_announcements": str(len(urls)),
            },
        )
        notes.append(f"{len(urls)} new announcement(s): {titles}")
        return Evaluation(new_cursor, [request], notes=notes + errors)
    if errors and len(errors) == len(columns):
        return Evaluation(cursor or "", skip_reason="MOFCOM list unavailable: " + " | ".join(errors), notes=notes)
    reason = (
        "baseline recorded: " + ", ".join(f"column {c} newest {v['date']}" for c, v in sorted(state.items()))
        if baseline
        else "no new MOFCOM announcements"
    )
    if errors:
        reason += " (errors: " + " | ".join(errors) + ")"
    return Evaluation(new_cursor, skip_reason=reason, notes=notes)


@sensor(
    name="mofcom_announcements_sensor",
    job_name=JOB_NAME,
    minimum_interval_seconds=MOFCOM_INTERVAL_S,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Hourly: polls page 1 of the MOFCOM export-control columns (getColumnList) and, when an announcement appears "
        "that the cursor has not seen, requests a run of the current week's partition (run_key makes it idempotent). "
        "First tick records a baseline. Needs TRADE_PIPELINE_HTTP_MODE=live|record; stopped by default."
    ),
)
def mofcom_announcements_sensor(context: SensorEvaluationContext, mofcom: MofcomClient) -> SensorResult:
    evaluation = evaluate_mofcom(mofcom, mofcom_columns(mofcom), context.cursor, _now())
    for note in evaluation.notes:
        context.log.info(note)
    return evaluation.to_result()


# --------------------------------------------------------------------------------------------------------------------
# Census
# --------------------------------------------------------------------------------------------------------------------
def _next_month(ym: tuple[int, int]) -> tuple[int, int]:
    return (ym[0] + 1, 1) if ym[1] == 12 else (ym[0], ym[1] + 1)


def _previous_month(ym: tuple[int, int]) -> tuple[int, int]:
    return (ym[0] - 1, 12) if ym[1] == 1 else (ym[0], ym[1] - 1)


def _month_label(ym: tuple[int, int]) -> str:
    return f"{ym[0]:04d}-{ym[1]:02d}"


def _parse_month(label: str) -> tuple[int, int]:
    year, month = label.split("-")
    return int(year), int(month)


def _as_year_month(value: object) -> tuple[int, int]:
    # latest_released_month returns (year, month); accept a date or "YYYY-MM" as well.
    if isinstance(value, (date, datetime)):
        return value.year, value.month
    if isinstance(value, str):
        return _parse_month(value[:7])
    year, month = value  # type: ignore[misc]
    return int(year), int(month)


def evaluate_census(client: CensusTradeClient, cursor: str | None, now: datetime) -> Evaluation:
    """Probe the months the calendar says are out, after the cursor; request the current week for each new one."""
    today = now.astimezone(UTC).date()
    try:
        due = _as_year_month(client.latest_released_month(today))
    except (SourceHttpError, ValueError) as exc:
        return Evaluation(cursor or "", skip_reason=f"Census release calendar unavailable: {exc}")

    probe: Callable[[tuple[int, int]], bool] = lambda ym: bool(client.probe_month(*ym))  # noqa: E731
    if not cursor:
        # Baseline: the newest month the API actually serves (the calendar's month, or the one before it).
        try:
            baseline = due if probe(due) else _previous_month(due)
        except (SourceHttpError, ValueError) as exc:  # ValueError: the wire parser's CensusFormatError
            return Evaluation("", skip_reason=f"Census API probe failed for {_month_label(due)}: {exc}")
        return Evaluation(
            _month_label(baseline), skip_reason=f"baseline recorded: latest released month {_month_label(baseline)}"
        )

    seen = _parse_month(cursor)
    candidate, released = _next_month(seen), []
    problem = ""
    while candidate <= due:
        try:
            available = probe(candidate)
        except (SourceHttpError, ValueError) as exc:  # a truncated/garbled reply is an error, never a release
            problem = f"Census API probe failed for {_month_label(candidate)}: {exc}"
            break
        if not available:
            problem = (
                f"the release calendar says {_month_label(candidate)} is out, but the API has no data for it "
                f"yet; will probe again"
            )
            break
        released.append(candidate)
        candidate = _next_month(candidate)
    if not released:
        return Evaluation(
            cursor,
            skip_reason=problem
            or f"no new Census month after {cursor} (calendar: latest released {_month_label(due)})",
        )
    week = current_week_key(now)
    requests = [
        RunRequest(
            run_key=f"census:{_month_label(ym)}:{week}",
            partition_key=week,
            tags={
                **WAREHOUSE_TAG,
                "trade_pipeline/trigger": "census",
                "trade_pipeline/iso_week": iso_week_label(week),
                "trade_pipeline/census_month": _month_label(ym),
            },
        )
        for ym in released[-1:]  # one run covers every month released since the last tick
    ]
    notes = [f"new Census month(s): {', '.join(_month_label(ym) for ym in released)}"] + ([problem] if problem else [])
    return Evaluation(_month_label(released[-1]), requests, notes=notes)


@sensor(
    name="census_release_sensor",
    job_name=JOB_NAME,
    minimum_interval_seconds=CENSUS_INTERVAL_S,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Every 6 hours: checks the Census FT-900 release calendar and probes the API for months after the cursor; "
        "a newly served month requests a run of the current week's partition (run_key = month + week). "
        "First tick records a baseline. Needs TRADE_PIPELINE_HTTP_MODE=live|record and CENSUS_API_KEY; stopped by default."
    ),
)
def census_release_sensor(context: SensorEvaluationContext, census: CensusTradeClient) -> SensorResult:
    evaluation = evaluate_census(census, context.cursor, _now())
    for note in evaluation.notes:
        context.log.info(note)
    return evaluation.to_result()


def _now() -> datetime:
    """The evaluation instant (a function so tests can pin it)."""
    return datetime.now(UTC)


SENSORS = [mofcom_announcements_sensor, census_release_sensor]
