"""Issue 12, US Census half, at the report: for each class of damaged Census reply, W05 is rendered from the undamaged
sample and again after the census layer re-ran on the damaged captures; every report line or table row whose figures
changed must carry ``[REVIEW_NEEDED]`` or be withheld with a note (report_diff.py, the generic helper).

A figure the layer withholds (NULL over flagged input) is never left out silently: the sentence, table row or
watch-list rule that would print it says 暫不列出 with the reason in words and ``[REVIEW_NEEDED]``. The layer-side
assertions of the same classes are in test_census_validation.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from trade_pipeline.core.paths import sample_captures_dir
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.definitions import defs
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.briefing_charts.assets import build_chart_assets
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.data_quality.assets import ASSETS as DQ_ASSETS
from trade_pipeline.defs.trade_briefing.assets import ASSETS as BRIEFING_ASSETS
from trade_pipeline.defs.us_trade_census.assets import ASSETS as CENSUS_ASSETS
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient
from trade_pipeline_tests.reliability import report_diff, support
from trade_pipeline_tests.reliability.test_census_validation import (
    YEAR,
    cell,
    census_key,
    edit_rows,
    set_cell,
)

WEEK = support.WEEK_B  # 2026-W05
REPORT = "site/Narrator/trade_briefing/2026-W05-trade-briefing.md"
#: the report's charts are redrawn over the damaged layer too (they are upstream of its facts in the graph)
CHART_ASSETS = build_chart_assets(["policy_trade_exposure"])
RUN_CONFIG = {
    "ops": {"trade_briefing": {"config": {"generated_at": "2026-01-28T12:00:00Z"}}},
    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
}


def _resources(captures: Path) -> dict:
    return {
        "warehouse": Warehouse(),
        "site": Site(),
        "comtrade": ComtradeClient(),
        "census": CensusTradeClient(capture_dir=str(captures)),
        "mofcom": MofcomClient(),
    }


@pytest.fixture(scope="module")
def undamaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """W05 of the whole graph (report included) from the undamaged sample, once per module."""
    data = tmp_path_factory.mktemp("census_undamaged") / "data"
    data.mkdir()
    with support.data_dir_env(data):
        result = materialize(
            list(defs.assets),
            resources=_resources(sample_captures_dir()),
            partition_key=WEEK,
            run_config=RUN_CONFIG,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=True,
        )
        assert result.success
    return data


def _suppressed(captures: Path) -> None:
    support.rewrite_capture(
        captures,
        "census",
        census_key("export", "HS2"),
        edit=edit_rows(set_cell("5700", "85", f"{YEAR}-03", "ALL_VAL_MO", "(D)")),
    )


def _not_finite(captures: Path) -> None:
    support.rewrite_capture(
        captures,
        "census",
        census_key("export", "HS2"),
        edit=edit_rows(set_cell("5700", "85", f"{YEAR}-01", "ALL_VAL_MO", "1e400")),
    )


def _other_partner(captures: Path) -> None:
    def extra(header, rows):
        stray = list(next(r for r in rows if cell(header, r, "CTY_CODE") == "5700"))
        stray[header.index("CTY_CODE")] = "5820"
        return [*rows, stray]

    support.rewrite_capture(captures, "census", census_key("export", "HS2"), edit=edit_rows(extra))


def _conflict(captures: Path) -> None:
    def dup(header, rows):
        r = next(
            r
            for r in rows
            if cell(header, r, "CTY_CODE") == "5830"
            and cell(header, r, "time") == f"{YEAR}-05"
            and cell(header, r, "I_COMMODITY") == "84"
        )
        twin = list(r)
        twin[header.index("GEN_VAL_MO")] = str(int(r[header.index("GEN_VAL_MO")]) * 2)
        return [*rows, twin]

    support.rewrite_capture(captures, "census", census_key("import", "HS2"), edit=edit_rows(dup))


def _series_missing(captures: Path) -> None:
    support.rewrite_capture(captures, "census", census_key("export", "HS2"), status=204, body="")


def _total_month_missing(captures: Path) -> None:
    support.rewrite_capture(
        captures,
        "census",
        census_key("export", "TOTAL"),
        edit=edit_rows(
            lambda h, rows: [
                r for r in rows if not (cell(h, r, "CTY_CODE") == "5880" and cell(h, r, "time") == f"{YEAR}-04")
            ]
        ),
    )


CASES: dict[str, Callable[[Path], None]] = {
    "suppressed_month": _suppressed,
    "value_not_finite": _not_finite,
    "row_for_another_partner": _other_partner,
    "conflicting_duplicate": _conflict,
    "export_chapters_204": _series_missing,
    "total_month_missing": _total_month_missing,
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_changed_report_line_is_marked(
    case: str, undamaged: Path, isolated_data_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(undamaged, isolated_data_dir, dirs_exist_ok=True)
    captures = support.copy_captures(tmp_path / "captures", ("census",))
    CASES[case](captures)
    layer = materialize(
        [*CENSUS_ASSETS, *DQ_ASSETS],
        resources=_resources(captures),
        partition_key=WEEK,
        run_config=support.QUIET,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert layer.success, support.failure_text(layer)
    report = materialize(
        [*CHART_ASSETS, *BRIEFING_ASSETS],
        resources=_resources(captures),
        partition_key=WEEK,
        run_config=RUN_CONFIG,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert report.success, support.failure_text(report)
    before = (undamaged / REPORT).read_text(encoding="utf-8")
    after = (isolated_data_dir / REPORT).read_text(encoding="utf-8")
    if not report_diff.changed_lines(before, after):
        # refused at the boundary (a stray row), no figure moved: the flag on the reply must still reach the report
        marked = report_diff.REVIEW
        assert after.count(marked) > before.count(marked), "the damage neither changed a figure nor marked one"
    bad = report_diff.unmarked_changes(before, after)
    assert not bad, "\n".join(f"- {c.old!r}\n+ {c.new!r}" for c in bad[:10])
