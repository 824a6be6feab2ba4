"""Fixtures of the reliability suite: one replayed baseline (weeks A and B of all three layers), copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.support import WEEK_A, WEEK_B


@dataclass
class Baseline:
    data: Path
    counts: dict[tuple[str, str], int]
    flagged: dict[tuple[str, str], int]


def _built_once(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str, build: Callable[[Path], None]):
    """A data dir built by ``build`` once per test session: by the first xdist worker that asks, under a file lock in
    the workers' common temp dir (pytest-xdist's documented pattern), and read by the others; the readers only
    copy it. Without xdist, in this session's own temp dir."""
    if worker_id == "master":
        root = tmp_path_factory.mktemp(name)
    else:
        root = tmp_path_factory.getbasetemp().parent / name  # this session's, shared by its workers
    with FileLock(str(root) + ".lock"):
        data, done = root / "data", root / "built"
        if not done.is_file():
            shutil.rmtree(root, ignore_errors=True)
            data.mkdir(parents=True)
            with support.data_dir_env(data):
                build(data)
            done.touch()
    return data


def _build_baseline(data: Path) -> None:
    clients = {
        "comtrade": support.ComtradeClient(),
        "census": support.CensusTradeClient(),
        "mofcom": support.MofcomClient(),
    }
    for source, client in clients.items():
        for key in (WEEK_A, WEEK_B):
            result = support.run(source, key, client, support.layer_assets(source), raise_on_error=True)
            assert result.success


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Baseline:
    """Weeks A then B of every layer replayed from the embedded sample (as two weekly runs would), once per test
    session (every test works on a copy: :func:`world`)."""
    data = _built_once(tmp_path_factory, worker_id, "reliability_baseline", _build_baseline)
    with support.data_dir_env(data):
        base = Baseline(data, support.row_counts(), support.flagged_counts())
    assert {w for (_, w) in base.counts} == {WEEK_A, WEEK_B}
    return base


@pytest.fixture
def world(baseline: Baseline, isolated_data_dir: Path) -> Baseline:
    """This test's data dir starts as a copy of the baseline (warehouse + site)."""
    shutil.copytree(baseline.data, isolated_data_dir, dirs_exist_ok=True)
    support.SeamSettings.reset()
    assert support.row_counts() == baseline.counts
    return baseline


@pytest.fixture
def captures(tmp_path: Path) -> Path:
    """A private, editable copy of data/sample/captures."""
    return support.copy_captures(tmp_path / "captures")


@pytest.fixture
def capture_server(captures: Path):
    cs, _ = support.start_capture_server(captures)
    support.SeamSettings.reset()
    yield cs
    support.stop_capture_server(cs)


@pytest.fixture(scope="session")
def baseline_report(baseline: Baseline, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, str]:
    """Week B's report, both editions (edition suffix → text), over the undamaged baseline: the rest of the graph
    (policy exposure, quarantined_rows, facts, charts, the report) run on the baseline's layers with the embedded
    sample, once per test session."""

    def build(data: Path) -> None:
        shutil.copytree(baseline.data, data, dirs_exist_ok=True)
        support.render_rest_of_graph(WEEK_B)

    data = _built_once(tmp_path_factory, worker_id, "reliability_baseline_report", build)
    return {edition: support.report_text(data, WEEK_B, edition) for edition in support.EDITIONS}
