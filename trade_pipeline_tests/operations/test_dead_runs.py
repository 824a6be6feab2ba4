"""A dead run never blocks the queue (issue 12, item 7).

`trade-pipeline backfill` is SIGKILLed mid-run: its run stays STARTED in run storage, and with one run at a time
the daemon would launch nothing after it. Then a run is queued through the instance's run coordinator
(`dagster job launch`, as the UI, a schedule or a sensor would) and must start and succeed:

- through the daemon alone: run monitoring (dagster.yaml) asks WorkerCheckingRunLauncher for the dead run's
  worker health, marks it failed, and the queue launches the waiting run;
- through the CLI: with run monitoring switched off and no daemon, the next `trade-pipeline briefing` marks the
  dead run failed before it starts its own run.

Plus the unit rules of run_health: a live pid is alive, a vanished or reused pid is dead, another host is not ours.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline.defs.operations import run_health
from trade_pipeline_tests.operations.cli_harness import BIN, RUN_TIMEOUT_S, TempInstance, tail


@pytest.fixture(scope="module")
def killed_backfill(tmp_path_factory: pytest.TempPathFactory) -> tuple[TempInstance, str]:
    """One backfill SIGKILLed mid-run (its run left STARTED), shared: each test works on a copy of that instance."""
    instance = TempInstance.create(tmp_path_factory.mktemp("killed"))
    return instance, _kill_a_backfill_mid_run(instance)


def _instance(killed: tuple[TempInstance, str], root: Path, monitoring: bool) -> tuple[TempInstance, str]:
    """A copy of the killed backfill's instance (run storage, warehouse, site) with the repo's dagster.yaml; run
    monitoring polls every second (or is off). Returns it and the dead run's id."""
    source, dead_run = killed
    shutil.copytree(source.root, root)
    instance = TempInstance(root)
    config = yaml.safe_load((instance.home / "dagster.yaml").read_text(encoding="utf-8"))
    assert config["run_monitoring"]["enabled"] is True  # the shipped setting this test relies on
    assert config["run_launcher"]["class"] == "WorkerCheckingRunLauncher"
    config["run_monitoring"].update(enabled=monitoring, poll_interval_seconds=1)
    (instance.home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return instance, dead_run


def _runs(instance: TempInstance) -> list:
    with instance.dagster() as dagster:
        return list(dagster.get_runs())


def _wait(what: str, predicate, timeout_s: float = RUN_TIMEOUT_S, every_s: float = 0.5):  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    pytest.fail(f"timed out waiting for {what} (hang guard)")


def _kill_a_backfill_mid_run(instance: TempInstance) -> str:
    """Start `trade-pipeline backfill 2026-W01 2026-W08`, SIGKILL it once its run is executing a step (the worker
    dies inside the run, whatever the step was doing); return the id of the run it leaves STARTED."""
    from dagster import DagsterRunStatus

    process = instance.start("backfill", "2026-W01", "2026-W08", "--log-level", "DEBUG", name="backfill")
    try:
        _wait(
            "the backfill to start a step",
            lambda: "STEP_START" in instance.output("backfill")[1] or process.poll() is not None,
        )
        assert process.poll() is None, (
            f"the backfill ended before it could be killed:\n{tail(instance.output('backfill')[1])}"
        )
        os.kill(process.pid, signal.SIGKILL)
    finally:
        instance.finish(process, "backfill")
    [run] = _runs(instance)
    assert run.status == DagsterRunStatus.STARTED, run.status  # what a SIGKILL leaves behind
    return run.run_id


def _queue_a_run(instance: TempInstance) -> None:
    """Submit a W05 run to the instance's run coordinator, as the UI, the schedule or a sensor does."""
    tags = '{"dagster/partition": "2026-01-26", "trade_pipeline/warehouse": "write"}'
    done = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "launch",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-j",
            "weekly_briefing_job",
            "--tags",
            tags,
        ],
        cwd=instance.root,
        env=instance.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0, tail(done.stderr)


def _queued_run_succeeds(instance: TempInstance, dead_run: str) -> None:
    """Start the daemon; the queued run must be launched and succeed; the dead run ends FAILURE saying why."""
    from dagster import DagsterRunStatus

    queued = [r for r in _runs(instance) if r.status == DagsterRunStatus.QUEUED]
    assert len(queued) == 1, [(r.run_id, r.status) for r in _runs(instance)]
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        cwd=instance.root,
        env=instance.env(),
        stdin=subprocess.DEVNULL,
        stdout=open(instance.root / "daemon.out", "wb"),
        stderr=open(instance.root / "daemon.err", "wb"),
        start_new_session=True,
    )
    try:

        def finished():
            run = next(r for r in _runs(instance) if r.run_id == queued[0].run_id)
            return run if run.is_finished else None

        run = _wait("the queued run to finish", finished)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    assert run.status == DagsterRunStatus.SUCCESS, tail(instance.output("daemon")[1])
    assert run.tags.get("dagster/partition") == "2026-01-26"
    assert instance.report("2026-W05").is_file()
    from dagster import DagsterEventType

    with instance.dagster() as dagster:
        dead = dagster.get_run_by_id(dead_run)
        failures = [e.message for e in dagster.all_logs(dead_run, of_type=DagsterEventType.RUN_FAILURE)]
    assert dead.status == DagsterRunStatus.FAILURE
    assert any("run worker died: process" in m and "no longer exists" in m for m in failures), failures


@pytest.mark.slow
def test_daemon_run_monitoring_fails_a_killed_backfill_and_the_queued_run_starts(
    killed_backfill, tmp_path: Path
) -> None:
    instance, dead = _instance(killed_backfill, tmp_path / "daemon", monitoring=True)
    _queue_a_run(instance)
    _queued_run_succeeds(instance, dead)


@pytest.mark.slow
def test_the_next_cli_run_fails_a_killed_backfill_before_it_starts(killed_backfill, tmp_path: Path) -> None:
    """No daemon at all: `trade-pipeline` clears the dead run itself (the queue it would block is the daemon's,
    exercised above), and its own run succeeds."""
    from dagster import DagsterRunStatus

    instance, dead = _instance(killed_backfill, tmp_path / "cli", monitoring=False)
    out, err = instance.run("briefing", "2026-W05", name="briefing")
    assert f"run {dead} (STARTED) marked failed: run worker died: process" in err, tail(err)
    assert out.split() == instance.printed_reports("2026-W05")
    with instance.dagster() as dagster:
        assert dagster.get_run_by_id(dead).status == DagsterRunStatus.FAILURE
        assert {r.status for r in dagster.get_runs() if r.run_id != dead} == {DagsterRunStatus.SUCCESS}


# --------------------------------------------------------------------------------------------------------------------
def test_a_live_process_is_alive_and_a_vanished_or_reused_pid_is_dead() -> None:
    assert run_health.process_gone(os.getpid(), time.time()) is None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert run_health.process_gone(child.pid, time.time()) == "no longer exists"
    # this process as the 'worker' of a run recorded before it started: the pid was reused by a later process
    if run_health._proc_stat(os.getpid()) is not None:
        assert "started later" in run_health.process_gone(os.getpid(), time.time() - 10 * 365 * 86400)


def test_only_runs_of_this_host_with_a_known_pid_are_judged(tmp_path: Path) -> None:
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.test_utils import create_run_for_test

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with DagsterInstance.ephemeral() as instance:

        def run(tags: dict[str, str]):
            return create_run_for_test(
                instance, job_name="weekly_briefing_job", tags=tags, status=DagsterRunStatus.STARTED
            )

        here_dead = run({run_health.PID_TAG: str(child.pid), run_health.HOST_TAG: run_health.current_host()})
        here_alive = run(run_health.cli_run_tags())
        elsewhere = run({run_health.PID_TAG: str(child.pid), run_health.HOST_TAG: "another-host"})
        unknown = run({})
        assert run_health.fail_dead_runs(instance) == [here_dead.run_id]
        status = {r.run_id: r.status for r in instance.get_runs()}
        assert status[here_dead.run_id] == DagsterRunStatus.FAILURE
        assert {status[r.run_id] for r in (here_alive, elsewhere, unknown)} == {DagsterRunStatus.STARTED}
        launcher = run_health.WorkerCheckingRunLauncher()
        launcher.register_instance(instance)
        assert launcher.check_run_worker_health(instance.get_run_by_id(elsewhere.run_id)).status.value == "RUNNING"
