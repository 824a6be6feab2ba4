"""Weekly as-of partitions: one ISO week (Monday..Sunday) per partition key.

A week's partition of every layer holds what was knowable at the end of that week (Sunday 23:59:59 UTC),
so a single key selects the whole graph and "上週" is simply the previous key.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from dagster import WeeklyPartitionsDefinition

FIRST_WEEK_START = "2025-01-06"  # Monday of ISO week 2025-W02; first week the briefing covers

# day_offset=1: weeks start on Monday (Dagster's default is Sunday). end_offset=1 adds the running week,
# so the UI and the sensors can materialize the current week as well as the finished ones.
weekly_partitions = WeeklyPartitionsDefinition(start_date=FIRST_WEEK_START, day_offset=1, end_offset=1)

_ISO_WEEK_RE = re.compile(r"^(\d{4})-?W(\d{2})$")


def week_start(partition_key: str) -> date:
    """Monday of the partition's week. Raises ValueError for a key that is not a Monday."""
    d = date.fromisoformat(partition_key)
    if d.weekday() != 0:
        raise ValueError(f"partition key {partition_key!r} is not a Monday (weekly partitions start on Monday)")
    return d


def week_end(partition_key: str) -> date:
    """Sunday of the partition's week (last day included in the as-of snapshot)."""
    return week_start(partition_key) + timedelta(days=6)


def as_of_instant(partition_key: str) -> datetime:
    """The instant a week's snapshot is taken: the end of its Sunday, UTC."""
    return datetime.combine(week_end(partition_key), time(23, 59, 59), tzinfo=UTC)


def iso_week_label(partition_key: str) -> str:
    """'2026-01-26' -> '2026-W05'."""
    y, w, _ = week_start(partition_key).isocalendar()
    return f"{y}-W{w:02d}"


def partition_key_for_iso_week(label: str) -> str:
    """'2026-W05' (or '2026W05') -> '2026-01-26'."""
    m = _ISO_WEEK_RE.match(label.strip())
    if not m:
        raise ValueError(f"not an ISO week label: {label!r} (expected e.g. 2026-W05)")
    return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1).isoformat()


def previous_partition_key(partition_key: str) -> str:
    return (week_start(partition_key) - timedelta(days=7)).isoformat()


def same_week_last_year_key(partition_key: str) -> str | None:
    """Partition key of the same ISO week number one year earlier, or None when that week does not exist."""
    y, w, _ = week_start(partition_key).isocalendar()
    try:
        return date.fromisocalendar(y - 1, w, 1).isoformat()
    except ValueError:
        return None


def iso_week_range(first: str, last: str) -> list[str]:
    """Partition keys of every week from ISO week `first` to `last`, inclusive."""
    start, end = (
        date.fromisoformat(partition_key_for_iso_week(first)),
        date.fromisoformat(partition_key_for_iso_week(last)),
    )
    if end < start:
        raise ValueError(f"{last} is before {first}")
    return [(start + timedelta(days=7 * i)).isoformat() for i in range((end - start).days // 7 + 1)]
