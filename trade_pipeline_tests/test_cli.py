"""`trade-pipeline` argument handling, environment set-up and run planning (no run executed here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trade_pipeline.cli import (
    COMPUTE_LOGS_ENV,
    STORAGE_ENV,
    CliError,
    UsageError,
    comparison_keys,
    history_tables,
    main,
    plan_weeks,
    prepare_environment,
    report_relpath,
    warehouse_weeks,
    with_history,
)
from trade_pipeline.core.paths import PROJECT_ROOT


def test_single_week_plans_one_partition() -> None:
    plan = plan_weeks("2026-W05")
    assert plan.partition_keys == ["2026-01-26"]
    assert plan.iso_weeks == ["2026-W05"]
    assert plan.tags == {"dagster/partition": "2026-01-26"}


def test_range_plans_one_run_over_the_partition_range() -> None:
    plan = plan_weeks("2026-W02", "2026-W14")
    assert len(plan.partition_keys) == 13
    assert plan.partition_keys[0] == "2026-01-05" and plan.partition_keys[-1] == "2026-03-30"
    assert plan.tags == {
        "dagster/asset_partition_range_start": "2026-01-05",
        "dagster/asset_partition_range_end": "2026-03-30",
    }
    assert plan_weeks("2026-W01", "2026-W01").tags == {"dagster/partition": "2025-12-29"}


def test_a_backfill_adds_the_comparison_weeks_the_warehouse_lacks_ahead_of_the_range() -> None:
    # 2025-W06..2026-W05: 上週 of the first week is 2025-W05; 去年同週 of 2026-W02..W05 are 2025-W02..W05; the
    # others' (2024-W06..2025-W01) precede the first partition and cannot be added.
    requested = plan_weeks("2025-W06", "2026-W05")
    assert comparison_keys(requested.partition_keys) == {"2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"}
    plan = with_history(requested, lambda keys: set())
    assert plan.history_keys == ["2025-01-06", "2025-01-13", "2025-01-20", "2025-01-27"]
    assert plan.partition_keys == plan.history_keys + requested.partition_keys  # one contiguous run
    assert plan.iso_weeks == requested.iso_weeks  # only the requested reports are printed
    assert plan.tags == {
        "dagster/asset_partition_range_start": "2025-01-06",
        "dagster/asset_partition_range_end": "2026-01-26",
    }
    # already stored: nothing is added; partly stored: the range grows back to the earliest missing week only
    assert with_history(requested, lambda keys: set(keys)) == requested
    partly = with_history(requested, lambda keys: {"2025-01-06", "2025-01-13"})
    assert partly.history_keys == ["2025-01-20", "2025-01-27"]
    # a range whose comparisons are all inside it or before the first partition stays as asked
    assert with_history(plan_weeks("2025-W02", "2025-W10"), lambda keys: set()).history_keys == []


def test_stored_comparison_weeks_are_read_from_the_warehouse(tmp_path: Path, monkeypatch) -> None:
    import polars as pl

    from trade_pipeline.core.warehouse import Warehouse

    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(tmp_path))
    assert warehouse_weeks(["2025-01-06"]) == set()  # no warehouse file yet
    wh = Warehouse()
    frame = pl.DataFrame({"x": [1]})
    first, *others = history_tables()
    wh.replace_partition(first, "2025-01-06", frame)
    wh.replace_partition(first, "2025-01-13", frame)
    for table in others:
        wh.replace_partition(table, "2025-01-13", frame)
    # a week counts only when every comparison table holds it
    assert warehouse_weeks(["2025-01-06", "2025-01-13", "2025-01-20"]) == {"2025-01-13"}


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-05", None, "not an ISO week"),
        ("2026-W54", None, "2026-W54"),
        ("2026-W08", "2026-W02", "before"),
        ("2024-W50", None, "outside the weekly partitions"),
    ],
)
def test_bad_weeks_are_usage_errors(first: str, last: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan_weeks(first, last)


def test_environment_defaults_to_the_project_root(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    home = prepare_environment(None, None, env)
    assert home == PROJECT_ROOT.resolve()
    assert env["DAGSTER_HOME"] == str(PROJECT_ROOT.resolve())
    assert env[STORAGE_ENV] == str(PROJECT_ROOT.resolve() / "data" / "dagster" / "storage")
    assert env[COMPUTE_LOGS_ENV] == str(PROJECT_ROOT.resolve() / "data" / "dagster" / "compute_logs")
    assert "TRADE_PIPELINE_HTTP_MODE" not in env


def test_environment_respects_dagster_home_and_sets_the_client_modes(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    captures.mkdir()
    env = {"DAGSTER_HOME": str(tmp_path), STORAGE_ENV: "/elsewhere/storage"}
    prepare_environment("record", captures, env)
    assert env[STORAGE_ENV] == "/elsewhere/storage"  # an explicit setting wins
    assert env[COMPUTE_LOGS_ENV] == str(tmp_path.resolve() / "data" / "dagster" / "compute_logs")
    assert env["TRADE_PIPELINE_HTTP_MODE"] == "record"
    assert env["TRADE_PIPELINE_CAPTURE_DIR"] == str(captures.resolve())


def test_replay_from_a_missing_capture_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="does not exist"):
        prepare_environment("replay", tmp_path / "nope", {"DAGSTER_HOME": str(tmp_path)})
    with pytest.raises(CliError, match="not a directory"):
        prepare_environment(None, None, {"DAGSTER_HOME": str(tmp_path / "missing-home")})


def test_bad_week_exits_2_with_a_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("DAGSTER_HOME", STORAGE_ENV, COMPUTE_LOGS_ENV):  # main() sets them; restore afterwards
        monkeypatch.setenv(name, str(tmp_path))
    assert main(["briefing", "2026-W99"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2026-W99" in captured.err


def test_report_path_follows_the_site_tree() -> None:
    assert report_relpath("2026-W05") == "Narrator/trade_briefing/2026-W05-trade-briefing.md"
    assert report_relpath("2026-W05", ".en") == "Narrator/trade_briefing/2026-W05-trade-briefing.en.md"


def test_lang_selects_the_editions_and_defaults_to_both() -> None:
    from trade_pipeline.cli import EDITION_TAGS, build_parser
    from trade_pipeline.defs.trade_briefing.render import LANG_CHOICES

    parser = build_parser()
    assert parser.parse_args(["briefing", "2026-W05"]).lang == "both"
    assert parser.parse_args(["backfill", "2026-W04", "2026-W05", "--lang", "en"]).lang == "en"
    with pytest.raises(SystemExit):
        parser.parse_args(["briefing", "2026-W05", "--lang", "fr"])
    # the CLI's choices are the report's (BriefingConfig.lang), edition by edition
    assert set(EDITION_TAGS) == set(LANG_CHOICES)
    assert {c: len(t) for c, t in EDITION_TAGS.items()} == {c: len(v) for c, v in LANG_CHOICES.items()}


def test_start_up_does_not_import_dagster() -> None:
    # `trade-pipeline --help` and usage errors should answer without the ~2 s Dagster import.
    code = "import sys, trade_pipeline.cli as c; c.build_parser(); print('dagster' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
