"""A year offline: `trade-pipeline backfill 2025-W06 2026-W05` on a fresh instance, the embedded sample, ONE run.

The sample covers every week from the first partition (2025-W02) to 2026-W08, so the 52 weeks replay without a
single miss. The reports compare against other weeks (上週 = the previous partition, 去年同週 = the same ISO week a
year earlier): the backfill adds the comparison weeks the warehouse lacks ahead of the range (2025-W02…W05) in the
same run, so

- every one of the 52 reports has 上週 filled, equal to the HHI the previous week's report printed (2025-W06's from
  2025-W05, a history week);
- 2026-W02…W05 have 去年同週 filled from 2025-W02…W05 (section 四's HHI column and the Census comparison table);
- the weeks whose same week a year earlier precedes the first partition (2025-W06…2026-W01: 2024-W06…2025-W01) say
  N/A（無歷史資料）, never a number.

Slow (the suite's longest test, ≈ 200 s CPU; 5 min wall beside the other workers): the one year-long test, as issue 16
asks; `test_cli_end_to_end.py` covers the 8-week range.
"""

from __future__ import annotations

import re

import pytest

from trade_pipeline.core.partitions import (
    FIRST_WEEK_START,
    iso_week_label,
    iso_week_range,
    partition_key_for_iso_week,
    previous_partition_key,
    same_week_last_year_key,
)
from trade_pipeline_tests.operations.cli_harness import TempInstance

pytestmark = pytest.mark.slow

FIRST, LAST = "2025-W06", "2026-W05"
WEEKS = [iso_week_label(k) for k in iso_week_range(FIRST, LAST)]
HISTORY = ["2025-W02", "2025-W03", "2025-W04", "2025-W05"]  # the 去年同週 of 2026-W02..W05, and 上週 of 2025-W06
NUMBER = re.compile(r"^-?[\d,]+(?:\.\d+)?")


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {heading}[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, f"no section {heading}"
    return match.group(1)


def _table(section: str, first_header: str) -> list[dict[str, str]]:
    """The first markdown table of ``section`` whose header row starts with ``first_header``, as rows."""
    lines = [line.strip() for line in section.splitlines()]
    split = lambda line: [cell.strip() for cell in line.strip("|").split("|")]  # noqa: E731
    for i, line in enumerate(lines):
        if line.startswith("|") and split(line)[0] == first_header:
            header = split(line)
            body = []
            for row in lines[i + 2 :]:
                if not row.startswith("|"):
                    break
                body.append(dict(zip(header, split(row), strict=True)))
            return body
    return []


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[TempInstance, str, str]:
    instance = TempInstance.create(tmp_path_factory.mktemp("year"))
    out, err = instance.run("backfill", FIRST, LAST, name="year")  # fails the tests with the stderr tail unless 0
    return instance, out, err


def test_year_backfill_is_one_run_over_the_range_and_its_history(year) -> None:
    from dagster import AssetKey, DagsterRunStatus

    instance, out, err = year
    assert len(WEEKS) == 52
    assert out.split() == instance.printed_reports(*WEEKS)  # the 52 requested reports (both editions), nothing else
    assert "also materializing 2025-W02..2025-W05 (4 weeks)" in err
    keys = [partition_key_for_iso_week(w) for w in HISTORY + WEEKS]
    assert keys[0] == FIRST_WEEK_START
    with instance.dagster() as dagster:
        runs = dagster.get_runs()
        assert len(runs) == 1 and runs[0].status == DagsterRunStatus.SUCCESS
        assert runs[0].tags["dagster/asset_partition_range_start"] == keys[0]
        assert runs[0].tags["dagster/asset_partition_range_end"] == keys[-1]
        assert sorted(dagster.get_materialized_partitions(AssetKey("trade_briefing"))) == keys
    for week in HISTORY + WEEKS:
        assert instance.report(week).is_file(), week


def test_every_report_has_last_week_filled(year) -> None:
    """上週 is last week's HHI of the same reporter and data year; N/A only where last week's report showed another
    data year for that reporter (a year newly released this week: nothing like for like to compare)."""
    instance, _, _ = year
    shown, filled, switched = {}, 0, 0
    for week in HISTORY + WEEKS:
        rows = _table(_section(instance.report(week).read_text(encoding="utf-8"), "四、"), "國家")
        assert rows, f"{week}: section 四 has no table"
        shown[week] = {r["國家"]: (r["年度"], r["HHI 指數"].split(" ")[0]) for r in rows}
        if week not in WEEKS:
            continue
        previous = iso_week_label(previous_partition_key(partition_key_for_iso_week(week)))
        for r in rows:
            then_year, then_hhi = shown[previous][r["國家"]]
            if then_year == r["年度"]:
                assert NUMBER.match(r["上週"]), f"{week} {r['國家']}: 上週 = {r['上週']!r}"
                assert r["上週"].split("（")[0].split(" ")[0] == then_hhi, f"{week} {r['國家']}: 上週 ≠ {previous}"
                filled += 1
            else:
                assert r["上週"] == "N/A", f"{week} {r['國家']}: 上週 across data years ({then_year} → {r['年度']})"
                switched += 1
    assert filled > 10 * switched > 0, (filled, switched)  # the 2024 releases arrive through 2025


def test_last_year_filled_where_the_partition_exists_and_na_before_the_first(year) -> None:
    instance, _, _ = year
    filled = 0
    for week in WEEKS:
        text = instance.report(week).read_text(encoding="utf-8")
        last_year_key = same_week_last_year_key(partition_key_for_iso_week(week))
        rows = _table(_section(text, "四、"), "國家")
        if last_year_key is not None and last_year_key >= FIRST_WEEK_START:
            then = iso_week_label(last_year_key)
            previous = {
                r["國家"]: r["HHI 指數"]
                for r in _table(_section(instance.report(then).read_text(encoding="utf-8"), "四、"), "國家")
            }
            for r in rows:
                assert NUMBER.match(r["去年同週"]), f"{week} {r['國家']}: 去年同週 = {r['去年同週']!r}"
                assert r["去年同週"].split("（")[0].split(" ")[0] == previous[r["國家"]].split(" ")[0], (
                    f"{week} {r['國家']}: 去年同週 ≠ {then}"
                )
            # the US Census comparison table's header names that week
            assert re.search(rf"^\|[^\n]*\| 去年同週 {then}", text, flags=re.M), (
                f"{week}: no Census comparison with {then}"
            )
            filled += 1
        else:
            assert all(r["去年同週"] == "N/A" for r in rows), f"{week}: 去年同週 before the first partition"
            assert "N/A（無歷史資料）" in text, week
    assert filled == 4  # 2026-W02..W05
