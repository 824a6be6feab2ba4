"""Runs whose worker process died: found, and marked failed, so the run queue moves on.

A run whose process is killed outright (SIGKILL, the OOM killer, a machine restart) never reports its end: run
storage keeps it STARTED, and with ``max_concurrent_runs: 1`` the daemon then launches nothing ("1 runs are
currently in progress. Maximum is 1, won't launch more.") — no schedule tick, sensor request or UI run starts
until someone clears it by hand. Two places now look for such runs and mark them failed with a message that says
which process is gone:

- the daemon, through Dagster's run monitoring (``run_monitoring`` in dagster.yaml): it polls every STARTED run's
  worker health through the instance's run launcher. The stock local launcher (``DefaultRunLauncher``) answers no
  health check, so dagster.yaml names :class:`WorkerCheckingRunLauncher`, which is that launcher plus the check
  below;
- ``trade-pipeline`` itself, before it starts a run (:func:`fail_dead_runs`), so the next CLI run unblocks the
  queue even when no daemon is running.

Which process a run lives in: runs started by ``trade-pipeline`` carry its pid and host in tags (:data:`PID_TAG`,
:data:`HOST_TAG`); any other run reports its worker's pid in its first engine event ("Started process for run
(pid: …)" from the code server, or "Executing steps in process (pid: …)"). A run is only declared dead when that
process is provably gone on this machine: no such pid, a zombie, or a pid reused by a process that started after
the run did. A run of another host, or one whose pid is not known yet, is left alone (run monitoring's
``start_timeout_seconds`` still fails a run that never starts).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.events import JobFailureData, RunFailureReason
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

PID_TAG = "trade_pipeline/pid"
HOST_TAG = "trade_pipeline/host"
#: A pid is "the same process" only if that process started no later than this after the run (or its engine event)
#: was recorded; /proc start times are exact to a clock tick, boot time to a second.
START_SLACK_S = 2.0
#: Statuses a dead worker can leave a run in. STARTING/STARTED hold the queue; NOT_STARTED is a CLI run killed
#: between creating and starting its run (it holds nothing, but would stay in the history as if pending).
WATCHED = (DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED)


def current_host() -> str:
    return socket.gethostname()


def cli_run_tags() -> dict[str, str]:
    """Tags that let a later process tell whether this process (the one about to start a run) is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: current_host()}


@dataclass(frozen=True)
class Worker:
    """The process a run executes in, and when it was known to be running it."""

    pid: int
    host: str | None  # None: not recorded (engine events), i.e. this machine for a local launcher
    since: float  # epoch seconds: the process must have started by then


def run_worker(instance: DagsterInstance, run: DagsterRun, created: float | None = None) -> Worker | None:
    """The run's worker process, from its CLI tags or its first engine event that carries a pid (None: unknown)."""
    tags = run.tags
    if tags.get(PID_TAG, "").isdigit():
        since = created if created is not None else _created(instance, run)
        return Worker(int(tags[PID_TAG]), tags.get(HOST_TAG), since)
    records = instance.get_records_for_run(run.run_id, of_type={DagsterEventType.ENGINE_EVENT}, limit=50).records
    for record in records:
        entry = record.event_log_entry
        data = entry.dagster_event.event_specific_data if entry.dagster_event else None
        pid = (getattr(data, "metadata", None) or {}).get("pid")
        text = getattr(pid, "value", pid)
        if text is not None and str(text).isdigit():
            return Worker(int(str(text)), None, entry.timestamp)
    return None


def _created(instance: DagsterInstance, run: DagsterRun) -> float:
    record = instance.get_run_record_by_id(run.run_id)
    return record.create_timestamp.timestamp() if record is not None else float("inf")


def _proc_stat(pid: int) -> tuple[str, float | None] | None:
    """(state, start time in epoch seconds) of a Linux process from /proc, or None (no /proc, or no such pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after "pid (comm)": state is field 3, starttime field 22
    try:
        return fields[0], boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        return fields[0] if fields else "?", None


def process_gone(pid: int, started_by: float) -> str | None:
    """Why the process ``pid`` that was running by ``started_by`` cannot be alive any more (None: it may be)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "no longer exists"
    except PermissionError:
        pass  # exists, owned by someone else: look closer below
    stat = _proc_stat(pid)
    if stat is None:
        return None
    state, start = stat
    if state in ("Z", "X"):
        return "has exited (zombie)"
    if start is not None and start > started_by + START_SLACK_S:
        return "no longer exists (its pid now belongs to a process started later)"
    return None


def dead_worker_reason(instance: DagsterInstance, run: DagsterRun, created: float | None = None) -> str | None:
    """Why ``run``'s worker is known to be dead, or None when it is alive or cannot be judged from here."""
    worker = run_worker(instance, run, created)
    if worker is None or (worker.host is not None and worker.host != current_host()):
        return None
    gone = process_gone(worker.pid, worker.since)
    if gone is None:
        return None
    return (
        f"run worker died: process {worker.pid} on {worker.host or current_host()} {gone} (killed or crashed "
        f"before reporting its end); the run is marked failed so queued runs can start — rerun its partitions"
    )


def fail_dead_runs(instance: DagsterInstance, say: Callable[[str], None] = lambda _m: None) -> list[str]:
    """Mark every watched run whose worker is dead as failed (a RUN_FAILURE event with the reason); return their
    ids. Runs still alive, of another host or of unknown pid are left as they are."""
    failed = []
    for record in instance.get_run_records(RunsFilter(statuses=list(WATCHED))):
        run = record.dagster_run
        reason = dead_worker_reason(instance, run, record.create_timestamp.timestamp())
        if reason is None:
            continue
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status not in WATCHED:  # it finished meanwhile
            continue
        instance.report_run_failed(
            current, reason, JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION)
        )
        say(f"run {run.run_id} ({run.status.value}) marked failed: {reason}")
        failed.append(run.run_id)
    return failed


class WorkerCheckingRunLauncher(DefaultRunLauncher):
    """Dagster's local run launcher plus a worker health check, so run monitoring (the daemon) fails a STARTED run
    whose process is gone. Configure it as ``run_launcher`` in dagster.yaml next to ``run_monitoring``."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        reason = dead_worker_reason(self._instance, run)
        if reason is not None:
            return CheckRunHealthResult(WorkerStatus.FAILED, reason)
        # Alive, or not ours to judge (other host, pid unknown): anything but RUNNING would fail the run.
        return CheckRunHealthResult(WorkerStatus.RUNNING, "worker alive or not known to be dead")
