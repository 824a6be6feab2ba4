"""When each month of Census goods-trade data became public: the one place the layer's point-in-time rule lives.

Monthly data come out in the Census/BEA FT-900 release ("U.S. International Trade in Goods and Services") and the
API is updated on release day. A week's partition may only use months whose release date is on or before the end of
that week (see ``core.partitions.as_of_instant``), so backfilling an old week never sees later-released months.

Known dates: the FT-900 schedule for 2024–2026. The 2025 federal funding lapse (1 Oct – 12 Nov 2025) pushed the
August–December 2025 releases back; the rescheduled dates are listed. Months without a known date fall back to
``FALLBACK_LAG_DAYS`` after the month ends (the usual ~5-week lag). Evidence: July 2026 → 2026-09-03 is from the
Census world-control doc quoted in sources.md §2.8; Oct/Nov/Dec 2025 → 2026-01-08 / 01-29 / 02-19 match what the
2026-01-27 seed saw (January–October 2025); the other dates are the published FT-900 schedule [unconfirmed here,
no way to re-check offline]. Add new dates to ``KNOWN_RELEASES`` as Census publishes its calendar.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

FALLBACK_LAG_DAYS = 35

# (data year, data month) -> FT-900 release date
KNOWN_RELEASES: dict[tuple[int, int], date] = {
    (2023, 11): date(2024, 1, 9),
    (2023, 12): date(2024, 2, 7),
    (2024, 1): date(2024, 3, 7),
    (2024, 2): date(2024, 4, 4),
    (2024, 3): date(2024, 5, 2),
    (2024, 4): date(2024, 6, 6),
    (2024, 5): date(2024, 7, 3),
    (2024, 6): date(2024, 8, 7),
    (2024, 7): date(2024, 9, 4),
    (2024, 8): date(2024, 10, 8),
    (2024, 9): date(2024, 11, 6),
    (2024, 10): date(2024, 12, 5),
    (2024, 11): date(2025, 1, 7),
    (2024, 12): date(2025, 2, 5),
    (2025, 1): date(2025, 3, 6),
    (2025, 2): date(2025, 4, 3),
    (2025, 3): date(2025, 5, 6),
    (2025, 4): date(2025, 6, 5),
    (2025, 5): date(2025, 7, 3),
    (2025, 6): date(2025, 8, 5),
    (2025, 7): date(2025, 9, 4),
    # Funding lapse 2025-10-01..11-12: August and September slipped; later months followed a compressed schedule.
    (2025, 8): date(2025, 11, 19),
    (2025, 9): date(2025, 12, 11),
    (2025, 10): date(2026, 1, 8),
    (2025, 11): date(2026, 1, 29),
    (2025, 12): date(2026, 2, 19),
    (2026, 7): date(2026, 9, 3),
}


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def release_date(year: int, month: int) -> date:
    """Day the month's data became (or will become) available: the known FT-900 date, else month end + lag."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    known = KNOWN_RELEASES.get((year, month))
    return known if known is not None else month_end(year, month) + timedelta(days=FALLBACK_LAG_DAYS)


def is_released(year: int, month: int, as_of: date) -> bool:
    return release_date(year, month) <= as_of


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def latest_released_month(as_of: date) -> tuple[int, int]:
    """The newest (year, month) whose data were public on ``as_of`` (inclusive).

    Releases come out in month order, so walk back from the month before ``as_of`` until one is released.
    """
    year, month = previous_month(as_of.year, as_of.month)
    for _ in range(36):
        if is_released(year, month, as_of):
            return year, month
        year, month = previous_month(year, month)
    raise ValueError(f"no Census month released within 3 years before {as_of}")  # pragma: no cover


def next_release(as_of: date) -> tuple[int, int, date]:
    """The next month due after ``as_of``: (year, month, expected release date)."""
    year, month = next_month(*latest_released_month(as_of))
    return year, month, release_date(year, month)


def released_months(as_of: date, first: tuple[int, int]) -> list[tuple[int, int]]:
    """Every month from ``first`` through the latest released as of ``as_of``, in order."""
    last = latest_released_month(as_of)
    out, cur = [], first
    while cur <= last:
        out.append(cur)
        cur = next_month(*cur)
    return out
