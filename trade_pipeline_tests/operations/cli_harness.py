"""Run `trade-pipeline` (and the Dagster webserver) as subprocesses against a throw-away instance.

A `TempInstance` is a DAGSTER_HOME holding a copy of the repo's dagster.yaml (so the real run-queue and storage
settings apply), its storage/compute-log directories (the env vars dagster.yaml reads) and a data dir for the
warehouse, cache and site. Nothing is written under the repository: every path is absolute and under tmp.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from trade_pipeline.cli import COMPUTE_LOGS_ENV, STORAGE_ENV
from trade_pipeline.core.paths import PROJECT_ROOT

BIN = Path(sys.executable).parent
# A hang guard only (a run of one week takes seconds); never an assertion about speed.
RUN_TIMEOUT_S = 600
# Inherited settings that would point a subprocess somewhere else (live mode, a capture dir, real keys, the repo's
# storage) are dropped: the subprocesses replay the embedded sample into the temp instance.
_DROPPED_ENV = (
    "TRADE_PIPELINE_HTTP_MODE",
    "TRADE_PIPELINE_CAPTURE_DIR",
    "COMTRADE_API_KEY",
    "CENSUS_API_KEY",
    "TRADE_PIPELINE_DATA_DIR",
    STORAGE_ENV,
    COMPUTE_LOGS_ENV,
    "DAGSTER_HOME",
)


def cli_command() -> list[str]:
    """The installed `trade-pipeline` console script (what users run), else the module."""
    script = BIN / "trade-pipeline"
    return [str(script)] if script.exists() else [sys.executable, "-m", "trade_pipeline.cli"]


@dataclass(frozen=True)
class TempInstance:
    root: Path

    @classmethod
    def create(cls, root: Path) -> TempInstance:
        instance = cls(root)
        instance.home.mkdir(parents=True, exist_ok=True)
        instance.data.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / "dagster.yaml", instance.home / "dagster.yaml")
        return instance

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def storage(self) -> Path:
        return self.home / "storage"

    @property
    def compute_logs(self) -> Path:
        return self.home / "compute_logs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    def report(self, iso_week: str) -> Path:
        return self.data / "site" / "Narrator" / "trade_briefing" / f"{iso_week}-trade-briefing.md"

    def printed_reports(self, *iso_weeks: str) -> list[str]:
        """What `trade-pipeline briefing/backfill` prints for these weeks (default --lang both): each week's report,
        then its English edition."""
        return [str(p) for w in iso_weeks for p in (self.report(w), self.report(w).with_suffix(".en.md"))]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(
            {
                "DAGSTER_HOME": str(self.home),
                STORAGE_ENV: str(self.storage),
                COMPUTE_LOGS_ENV: str(self.compute_logs),
                "TRADE_PIPELINE_DATA_DIR": str(self.data),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # ----------------------------------------------------------------------------------------------------------------
    def start(self, *args: str, name: str) -> subprocess.Popen:
        """Start `trade-pipeline ARGS` in the background; stdout/stderr go to <root>/<name>.out/.err."""
        return subprocess.Popen(
            [*cli_command(), *args],
            cwd=self.root,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=open(self.root / f"{name}.out", "wb"),
            stderr=open(self.root / f"{name}.err", "wb"),
        )

    def output(self, name: str) -> tuple[str, str]:
        return (
            (self.root / f"{name}.out").read_text(errors="replace"),
            (self.root / f"{name}.err").read_text(errors="replace"),
        )

    def finish(self, process: subprocess.Popen, name: str) -> tuple[int, str, str]:
        try:
            rc = process.wait(timeout=RUN_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        out, err = self.output(name)
        return rc, out, err

    def run(self, *args: str, name: str) -> tuple[str, str]:
        """Run `trade-pipeline ARGS` to completion; fail the test with its stderr tail unless it exits 0."""
        rc, out, err = self.finish(self.start(*args, name=name), name)
        assert rc == 0, f"trade-pipeline {' '.join(args)} exited {rc}:\n{tail(err)}"
        return out, err

    # ----------------------------------------------------------------------------------------------------------------
    def row_counts(self) -> dict[tuple[str, str], int]:
        """(table, week_start) -> rows of every warehouse table with a week_start column, read with duckdb."""
        with contextlib.closing(duckdb.connect(str(self.warehouse), read_only=True)) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'week_start'"
                ).fetchall()
            ]
            counts: dict[tuple[str, str], int] = {}
            for table in sorted(tables):
                for week, n in conn.execute(
                    f'SELECT CAST(week_start AS VARCHAR), count(*) FROM "{table}" GROUP BY 1'
                ).fetchall():
                    counts[(table, week)] = n
            return counts

    @contextlib.contextmanager
    def dagster(self) -> Iterator:
        """This instance's DagsterInstance, opened in the test process (env vars restored afterwards)."""
        from dagster import DagsterInstance

        saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", STORAGE_ENV, COMPUTE_LOGS_ENV)}
        os.environ.update(
            {"DAGSTER_HOME": str(self.home), STORAGE_ENV: str(self.storage), COMPUTE_LOGS_ENV: str(self.compute_logs)}
        )
        try:
            with DagsterInstance.from_config(str(self.home)) as instance:
                yield instance
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def tail(text: str, lines: int = 40) -> str:
    """The end of a process's stderr, without the Dagster beta/preview warning noise."""
    kept = [
        line
        for line in text.splitlines()
        if "Warning:" not in line and "return fn(*args, **kwargs)" not in line and "spec = AssetCheckSpec(" not in line
    ]
    return "\n".join(kept[-lines:])


def diff_counts(actual: dict, expected: dict) -> list[str]:
    """Readable differences between two row-count maps (empty when equal)."""
    keys: Sequence = sorted(set(actual) | set(expected))
    return [
        f"{table} {week}: expected {expected.get((table, week))}, got {actual.get((table, week))}"
        for table, week in keys
        if actual.get((table, week)) != expected.get((table, week))
    ]
