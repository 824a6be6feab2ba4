"""Helpers shared by the benchmark scripts: machine facts, isolated CLI environments, timed subprocesses.

Nothing here is imported by the project; nothing here writes outside a temporary directory or benchmarks/results/.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(sys.executable).parent
CLI = VENV_BIN / "trade-pipeline"
DAGSTER = VENV_BIN / "dagster"


# ----------------------------------------------------------------------------------------------------------------------
# machine
# ----------------------------------------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info() -> dict:
    def version(mod: str) -> str | None:
        try:
            return __import__(mod).__version__
        except Exception:  # noqa: BLE001 - informational only
            return None

    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": _mem_total_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": load_average(),
        "versions": {m: version(m) for m in ("dagster", "polars", "pandas", "numpy", "duckdb", "httpx")},
        "git_head": _git_head(),
    }


def _git_head() -> str | None:
    try:  # read-only
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        head = out.stdout.strip() or None
        return f"{head}{'+dirty' if dirty.stdout.strip() else ''}" if head else None
    except (OSError, subprocess.SubprocessError):
        return None


# ----------------------------------------------------------------------------------------------------------------------
# isolated environment for the CLI
# ----------------------------------------------------------------------------------------------------------------------
class CliSandbox:
    """A temporary DAGSTER_HOME (with the project's dagster.yaml) and TRADE_PIPELINE_DATA_DIR.

    Runs started with :meth:`env` never touch the repository's data/ directory: the Dagster instance storage, the
    warehouse, the site and the HTTP response cache all live under the temporary directory.
    """

    def __init__(self, label: str, keep: bool = False):
        self.root = Path(tempfile.mkdtemp(prefix=f"trade_bench_{label}_"))
        self.home = self.root / "dagster_home"
        self.data = self.root / "data"
        self.home.mkdir()
        self.data.mkdir()
        shutil.copy(PROJECT_ROOT / "dagster.yaml", self.home / "dagster.yaml")
        self.keep = keep

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TRADE_PIPELINE_") and k not in ("DAGSTER_HOME", "COMTRADE_API_KEY", "CENSUS_API_KEY")
        }
        env.update(
            {
                "DAGSTER_HOME": str(self.home),
                "TRADE_PIPELINE_DATA_DIR": str(self.data),
                "TRADE_PIPELINE_DAGSTER_STORAGE": str(self.home / "storage"),
                "TRADE_PIPELINE_DAGSTER_COMPUTE_LOGS": str(self.home / "compute_logs"),
            }
        )
        env.update(extra)
        return env

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> CliSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


# ----------------------------------------------------------------------------------------------------------------------
# timed subprocess
# ----------------------------------------------------------------------------------------------------------------------
@dataclass
class Timed:
    argv: list[str]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    stdout: str = field(repr=False, default="")
    stderr: str = field(repr=False, default="")

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self) -> dict:
        d = asdict(self)
        d.pop("stdout")
        d["stderr_tail"] = self.stderr[-2000:]
        d.pop("stderr")
        return d


def run_timed(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None, timeout_s: float = 1800
) -> Timed:
    """Run argv, return wall time and the rusage of the child *tree* (os.wait4: CPU of the child plus every
    descendant it waited for; max RSS of the largest single process among them)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=str(cwd or Path(tempfile.gettempdir())), stdout=out, stderr=err)
        deadline = start + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Timed(
            argv=[str(a) for a in argv],
            returncode=proc.returncode,
            wall_s=round(wall, 3),
            user_s=round(usage.ru_utime, 3),
            sys_s=round(usage.ru_stime, 3),
            peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def write_json(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
