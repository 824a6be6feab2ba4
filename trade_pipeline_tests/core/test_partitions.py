from datetime import date

import pytest

from trade_pipeline.core.partitions import (
    as_of_instant,
    iso_week_label,
    iso_week_range,
    partition_key_for_iso_week,
    previous_partition_key,
    same_week_last_year_key,
    week_end,
    weekly_partitions,
)


def test_weeks_start_on_monday_and_match_iso_weeks() -> None:
    keys = weekly_partitions.get_partition_keys()
    assert keys[0] == "2025-01-06"
    assert all(date.fromisoformat(k).weekday() == 0 for k in keys)
    assert "2026-01-26" in keys
    assert iso_week_label("2026-01-26") == "2026-W05"
    assert partition_key_for_iso_week("2026-W05") == "2026-01-26"
    assert week_end("2026-01-26") == date(2026, 2, 1)
    assert as_of_instant("2026-01-26").isoformat() == "2026-02-01T23:59:59+00:00"


def test_iso_week_round_trip_across_year_boundaries() -> None:
    # 2026-W01 starts on 2025-12-29: the ISO year differs from the calendar year of its Monday.
    assert partition_key_for_iso_week("2026-W01") == "2025-12-29"
    assert iso_week_label("2025-12-29") == "2026-W01"
    for key in weekly_partitions.get_partition_keys()[:80]:
        assert partition_key_for_iso_week(iso_week_label(key)) == key


def test_neighbours_and_ranges() -> None:
    assert previous_partition_key("2026-01-05") == "2025-12-29"
    assert same_week_last_year_key("2026-01-26") == "2025-01-27"
    assert iso_week_label("2026-12-28") == "2026-W53"
    assert same_week_last_year_key("2026-12-28") is None  # 2025 has no ISO week 53
    assert iso_week_range("2026-W01", "2026-W08")[-1] == "2026-02-16"
    assert len(iso_week_range("2026-W01", "2026-W08")) == 8


@pytest.mark.parametrize("bad", ["2026-01-27", "2026-W5", "W05", "2026-13-01"])
def test_bad_inputs_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        if bad.startswith("2026-W") or bad.startswith("W"):
            partition_key_for_iso_week(bad)
        else:
            week_end(bad)
