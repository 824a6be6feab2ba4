"""Point in time: which Census months a given day could see."""

from datetime import date, timedelta

import pytest

from trade_pipeline.core.partitions import as_of_instant, iso_week_range
from trade_pipeline.defs.us_trade_census.release_calendar import (
    FALLBACK_LAG_DAYS,
    KNOWN_RELEASES,
    latest_released_month,
    month_end,
    next_release,
    release_date,
)


def test_seed_day_saw_january_to_october_2025() -> None:
    # The 2026-01-27 seed report used US Census 2025 January–October.
    assert latest_released_month(date(2026, 1, 27)) == (2025, 10)


@pytest.mark.parametrize(
    "day, expected",
    [
        ("2026-01-07", (2025, 9)),
        ("2026-01-08", (2025, 10)),  # release day counts
        ("2026-01-28", (2025, 10)),
        ("2026-01-29", (2025, 11)),
        ("2026-02-18", (2025, 11)),
        ("2026-02-19", (2025, 12)),
        ("2026-09-02", (2026, 6)),
        ("2026-09-03", (2026, 7)),  # sources.md: July 2026 released 2026-09-03
    ],
)
def test_release_days(day: str, expected: tuple[int, int]) -> None:
    assert latest_released_month(date.fromisoformat(day)) == expected


def test_weeks_of_the_sample() -> None:
    got = {k: latest_released_month(as_of_instant(k).date()) for k in iso_week_range("2026-W01", "2026-W08")}
    assert got == {
        "2025-12-29": (2025, 9),
        "2026-01-05": (2025, 10),
        "2026-01-12": (2025, 10),
        "2026-01-19": (2025, 10),
        "2026-01-26": (2025, 11),
        "2026-02-02": (2025, 11),
        "2026-02-09": (2025, 11),
        "2026-02-16": (2025, 12),
    }


def test_fallback_is_about_five_weeks_after_month_end() -> None:
    assert (2027, 3) not in KNOWN_RELEASES
    assert release_date(2027, 3) == month_end(2027, 3) + timedelta(days=FALLBACK_LAG_DAYS)
    y, m, when = next_release(date(2026, 2, 22))
    assert (y, m) == (2026, 1) and when > date(2026, 2, 22)


def test_no_day_sees_an_unreleased_month_and_time_never_goes_back() -> None:
    day, previous = date(2024, 3, 1), (0, 0)
    while day <= date(2026, 12, 31):
        latest = latest_released_month(day)
        assert release_date(*latest) <= day
        assert latest >= previous
        nxt = (latest[0] + (latest[1] == 12), latest[1] % 12 + 1)
        assert release_date(*nxt) > day, f"{day}: {nxt} was already out"
        previous, day = latest, day + timedelta(days=1)
