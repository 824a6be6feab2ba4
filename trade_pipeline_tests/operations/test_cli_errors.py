"""Errors that name their cause: `trade-pipeline` ends a failed run in ONE line naming the source and the file or
request, exits non-zero, and leaves the previous week's warehouse rows and report as they were.

Classes (issue 12, item 6): a capture without its `response`, a capture that is not JSON, a read-only data dir
(fresh, and holding last week's data). A non-finite value reaching formatting is covered in-process below (the
run's one-line summary is the CLI's `_failure_summary`), by storing a NaN where an Extractor file prints it.

The Dagster side is asserted too: the run's failure event in the instance (what the UI shows) carries the same
cause, file included.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trade_pipeline.core.paths import sample_captures_dir
from trade_pipeline_tests.operations.cli_harness import TempInstance, tail

pytestmark = pytest.mark.slow

LAST_WEEK, WEEK = "2026-W04", "2026-W05"
LAST_KEY = "2026-01-19"


@dataclass
class LastWeek:
    instance: TempInstance
    counts: dict[tuple[str, str], int]
    report: bytes


@pytest.fixture(scope="module")
def last_week(tmp_path_factory: pytest.TempPathFactory) -> LastWeek:
    """2026-W04 materialized once on the embedded sample: the 'earlier data' every failing run must keep."""
    instance = TempInstance.create(tmp_path_factory.mktemp("last_week"))
    instance.run("briefing", LAST_WEEK, name="w04")
    return LastWeek(instance, instance.row_counts(), instance.report(LAST_WEEK).read_bytes())


def _copy(last_week: LastWeek, root: Path) -> TempInstance:
    instance = TempInstance.create(root)
    shutil.copy(last_week.instance.warehouse, instance.warehouse)
    shutil.copytree(last_week.instance.data / "site", instance.data / "site")
    return instance


def _captures(root: Path) -> Path:
    dest = root / "captures"
    shutil.copytree(sample_captures_dir(), dest)
    return dest


def _error_line(rc: int, err: str) -> str:
    """The run failed with exit status 1 and its stderr ends in exactly one `[trade-pipeline] error:` line."""
    assert rc == 1, f"exit status {rc}:\n{tail(err)}"
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("[trade-pipeline] error:")]
    assert errors == [lines[-1]], f"expected one final error line:\n{tail(err)}"
    return lines[-1]


def _assert_last_week_intact(instance: TempInstance, last_week: LastWeek) -> None:
    after = {k: n for k, n in instance.row_counts().items() if k[1] == LAST_KEY}
    before = {k: n for k, n in last_week.counts.items() if k[1] == LAST_KEY}
    assert after == before, "the previous week's warehouse rows changed"
    assert instance.report(LAST_WEEK).read_bytes() == last_week.report, "the previous week's report changed"


def _run_failure_text(instance: TempInstance) -> str:
    """Every message of the latest run's RUN_FAILURE/STEP_FAILURE errors (with causes), as the UI shows them."""
    from dagster import DagsterEventType

    with instance.dagster() as dagster:
        [run] = dagster.get_runs(limit=1)
        parts = []
        for entry in dagster.all_logs(
            run.run_id, of_type={DagsterEventType.RUN_FAILURE, DagsterEventType.STEP_FAILURE}
        ):
            error = getattr(entry.dagster_event.event_specific_data, "error", None)
            while error is not None:
                parts.append(error.message)
                error = error.cause
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------------------------
def test_a_capture_without_its_response_names_the_file_and_request(last_week: LastWeek, tmp_path: Path) -> None:
    instance = _copy(last_week, tmp_path / "run")
    captures = _captures(tmp_path)
    for path in (captures / "census").glob("*.json"):  # every Census exchange lost its recorded response
        doc = json.loads(path.read_text(encoding="utf-8"))
        del doc["response"]
        path.write_text(json.dumps(doc), encoding="utf-8")
    rc, _, err = instance.finish(instance.start("briefing", WEEK, "--capture-dir", str(captures), name="w05"), "w05")
    line = _error_line(rc, err)
    assert "census_monthly_flows" in line and "[census] unusable capture file" in line, line
    assert f"{captures}/census/" in line and "no 'response' object" in line, line
    assert "request: GET https://api.census.gov/data/timeseries/intltrade/" in line, line
    assert "KeyError" not in line
    ui = _run_failure_text(instance)
    assert f"{captures}/census/" in ui and "no 'response' object" in ui, ui
    _assert_last_week_intact(instance, last_week)


def test_a_capture_that_is_not_json_names_the_file(last_week: LastWeek, tmp_path: Path) -> None:
    instance = _copy(last_week, tmp_path / "run")
    captures = _captures(tmp_path)
    broken = sorted((captures / "comtrade").glob("*.json"))[0]
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-file, as a crashed copy would leave it
    rc, _, err = instance.finish(instance.start("briefing", WEEK, "--capture-dir", str(captures), name="w05"), "w05")
    line = _error_line(rc, err)
    assert "[comtrade] unusable capture file" in line and str(broken) in line and "not valid JSON" in line, line
    assert str(broken) in _run_failure_text(instance)
    _assert_last_week_intact(instance, last_week)


@contextlib.contextmanager
def _read_only(directory: Path) -> Iterator[None]:
    """Make ``directory`` unwritable for this process: mode 0555, or (as root, whom modes do not stop) the
    immutable attribute; skip when neither holds on this file system."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        undo = lambda: directory.chmod(0o755)  # noqa: E731
    elif (
        shutil.which("chattr") and subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode == 0
    ):
        undo = lambda: subprocess.run(["chattr", "-i", str(directory)], check=True)  # noqa: E731
    else:
        pytest.skip("cannot make a directory read-only here (root without chattr)")
    try:
        try:
            with tempfile.TemporaryFile(dir=directory):
                undo()
                pytest.skip(f"{directory} is still writable after making it read-only")
        except OSError:
            pass
        yield
    finally:
        undo()


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "with_last_week"])
def test_a_read_only_data_dir_is_one_line_and_touches_nothing(last_week: LastWeek, tmp_path: Path, fresh: bool) -> None:
    instance = TempInstance.create(tmp_path / "run") if fresh else _copy(last_week, tmp_path / "run")
    with _read_only(instance.data):
        rc, out, err = instance.finish(instance.start("briefing", WEEK, name="w05"), "w05")
    line = _error_line(rc, err)
    assert str(instance.data) in line and "not writable" in line, line
    assert "Traceback" not in err and 'File "' not in err, tail(err)
    assert out == ""
    if fresh:
        assert sorted(p.name for p in instance.data.iterdir()) == []
    else:
        _assert_last_week_intact(instance, last_week)


# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "table", "column", "where", "extractor", "path"),
    [
        (
            "comtrade",
            "market_concentration",
            "hhi",
            "reporter_code = 842 AND flow = 'X' AND year = 2024",
            "bilateral_extractor_files",
            "Extractor/bilateral_trade_flows/export_flow/842-export-2024.md",
        ),  # HHI line
        (
            "census",
            "census_trade_balance",
            "balance_usd",
            "cty_code = '5700' AND hs2 = 'TOTAL' AND year = 2025",
            "census_extractor_files",
            "Extractor/us_trade_census/trade_balance/us-balance-5700-2025.md",
        ),
    ],
)
def test_a_non_finite_value_reaching_formatting_names_table_column_and_file(
    layer: str, table: str, column: str, where: str, extractor: str, path: str
) -> None:
    from dagster import DagsterInstance, materialize

    from trade_pipeline.cli import _failure_summary
    from trade_pipeline.core.site import Site
    from trade_pipeline.core.warehouse import Warehouse
    from trade_pipeline_tests.reliability.support import CLIENT_KEY, QUIET, layer_assets

    if layer == "comtrade":
        from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient as Client
    else:
        from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient as Client
    resources = {"warehouse": Warehouse(), "site": Site(), CLIENT_KEY[layer]: Client()}
    assets = layer_assets(layer)
    key = "2026-01-26"
    assert materialize(
        assets, resources=resources, partition_key=key, instance=DagsterInstance.ephemeral(), run_config=QUIET
    ).success
    with Warehouse().connect() as conn:  # a NaN stored where the Extractor file prints the figure
        changed = conn.execute(
            f"UPDATE {table} SET {column} = 'NaN'::DOUBLE WHERE week_start = ?::DATE AND {where} RETURNING 1", [key]
        ).fetchall()
    assert len(changed) == 1
    result = materialize(
        assets,
        selection=[extractor],
        resources=resources,
        partition_key=key,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config=QUIET,
    )
    assert not result.success
    summary = _failure_summary(result)
    assert "\n" not in summary
    assert summary.startswith(f"{extractor}: NonFiniteValueError: [{layer}] {path} from "), summary
    assert table in summary.split(" from ", 1)[1].split(" (week ")[0], summary
    assert f"(week {key}" in summary and f"column {column}: cannot format non-finite value nan" in summary, summary
