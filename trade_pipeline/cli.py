"""`trade-pipeline`: run the weekly briefing job through the Dagster instance, by ISO week.

    trade-pipeline briefing 2026-W05                 one week   → prints the report path
    trade-pipeline backfill 2026-W02 2026-W14        one run over the range → prints every report path
    trade-pipeline verify [PATH…]                    re-check published reports figure by figure (exit 1 on any)
    trade-pipeline site                              data/site → data/site_html (HTML) → prints its index.html
    options: --mode live|record|replay  --capture-dir DIR  --log-level LEVEL

Runs go through the instance at ``$DAGSTER_HOME`` (default: the project root, whose dagster.yaml keeps storage under
data/dagster), so they appear in `dagster dev`'s run history exactly like `dg launch` runs. Reports go to stdout,
logs and progress to stderr; the exit status is 0 on success, 1 when the run fails, 2 on bad arguments.
Dagster is imported only once the arguments are valid, so `--help` and usage errors answer at once.

Before a run starts, runs of the instance left STARTED/STARTING by a process that no longer exists (a killed
`trade-pipeline`, a dead run worker) are marked failed (defs/operations/run_health.py), so the daemon's run queue
is not blocked by them. A failed run ends in one line, `[trade-pipeline] error: …`, naming each cause.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trade_pipeline.core.paths import PROJECT_ROOT

JOB_NAME = "weekly_briefing_job"
DEFINITIONS_MODULE = "trade_pipeline.definitions"
DEFINITIONS_ATTRIBUTE = "defs"
REPORT_ASSET = "trade_briefing"
# The env vars dagster.yaml reads for its storage paths (absolute paths; see README "Dagster UI").
STORAGE_ENV = "TRADE_PIPELINE_DAGSTER_STORAGE"
COMPUTE_LOGS_ENV = "TRADE_PIPELINE_DAGSTER_COMPUTE_LOGS"
MODE_ENV = "TRADE_PIPELINE_HTTP_MODE"
CAPTURE_DIR_ENV = "TRADE_PIPELINE_CAPTURE_DIR"
INVOCATION_TAG = "trade_pipeline/cli_invocation"
WAREHOUSE_TAG = {"trade_pipeline/warehouse": "write"}
PROGRESS_POLL_S = 2.0  # cosmetic progress: each poll is an event-log query competing with the run


class CliError(Exception):
    """A failure worth one clear message on stderr (no traceback); exit status 1."""


class UsageError(CliError):
    """Bad arguments (e.g. not an ISO week, or outside the partitions); exit status 2."""


LANG_CHOICES = ("zh-TW", "en", "both")  # the editions (trade_briefing.render.LANG_CHOICES), default both
EDITION_TAGS = {"zh-TW": ("",), "en": (".en",), "both": ("", ".en")}


def report_relpath(iso_week: str, tag: str = "") -> str:
    """Site-relative path of a week's briefing (same tree as the seed's citations); ``tag`` '.en' for the English
    edition."""
    return f"Narrator/trade_briefing/{iso_week}-trade-briefing{tag}.md"


def _say(message: str) -> None:
    print(f"[trade-pipeline] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------------------
# arguments and environment
# --------------------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trade-pipeline",
        description="Run the weekly trade briefing through the Dagster instance at $DAGSTER_HOME "
        "(default: the project root).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--mode",
        choices=("live", "record", "replay"),
        help="HTTP mode of the source clients (sets TRADE_PIPELINE_HTTP_MODE; default: replay of the "
        "embedded sample, or whatever the env var says)",
    )
    common.add_argument(
        "--capture-dir",
        type=Path,
        help="capture directory for replay/record, with comtrade/ census/ mofcom/ sub-folders "
        "(sets TRADE_PIPELINE_CAPTURE_DIR; default: data/sample/captures)",
    )
    common.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="level of the run's console log on stderr (default INFO)",
    )
    common.add_argument(
        "--lang",
        default="both",
        choices=LANG_CHOICES,
        help="report editions: zh-TW (…-trade-briefing.md), en (…-trade-briefing.en.md) or both "
        "(default); every edition is verified before it is published",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    briefing = sub.add_parser("briefing", parents=[common], help="materialize one ISO week and print its report path")
    briefing.add_argument("week", help="ISO week, e.g. 2026-W05")
    backfill = sub.add_parser(
        "backfill", parents=[common], help="materialize a range of ISO weeks as ONE run and print every report path"
    )
    backfill.add_argument("first", help="first ISO week, e.g. 2026-W02")
    backfill.add_argument("last", help="last ISO week (inclusive), e.g. 2026-W14")
    backfill.add_argument(
        "--no-history",
        action="store_true",
        help="do not add the comparison weeks (上週 of the first week, 去年同週 of each week) that "
        "the warehouse lacks ahead of the range; by default they join the same run",
    )
    verify = sub.add_parser(
        "verify",
        help="re-check published reports figure by figure against the warehouse; "
        "exit 1 listing every mismatch (slot, place, printed, expected)",
    )
    verify.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="report files (default: every report under the site's Narrator/trade_briefing/)",
    )
    site = sub.add_parser(
        "site",
        help="build the site folder (reports, charts, Extractor files) into HTML and print the path of its index.html",
    )
    site.add_argument("--source", type=Path, help="site folder of markdown (default: the Site resource's, data/site)")
    site.add_argument("--out", type=Path, help="output folder, replaced as a whole (default: data/site_html)")
    return parser


def build_html_site(source: Path | None, out: Path | None) -> Path:
    """`trade-pipeline site`: build the HTML site; warn about links that lead nowhere; return its index.html."""
    from trade_pipeline.core.paths import data_dir
    from trade_pipeline.core.site import Site
    from trade_pipeline.site_html.build import SiteBuildError, build_site

    try:
        result = build_site(source or Site().root_dir(), out or data_dir() / "site_html")
    except (SiteBuildError, OSError) as exc:  # no site yet, a folder that is not a built site, a disk error
        raise CliError(str(exc)) from exc
    for page, target in result.broken_links:
        _say(f"warning: {page}: link to {target} leads to no page or file of the site")
    _say(f"site: {len(result.pages)} pages, {len(result.assets)} files copied → {result.out_dir}")
    return result.index


def prepare_environment(mode: str | None, capture_dir: Path | None, environ: dict[str, str] | None = None) -> Path:
    """Set DAGSTER_HOME and the env vars dagster.yaml and the clients read; return DAGSTER_HOME.

    Must run before the instance is created. Existing values win, except that --mode/--capture-dir override.
    """
    env = os.environ if environ is None else environ
    home = Path(env.get("DAGSTER_HOME") or PROJECT_ROOT).expanduser().resolve()
    if not home.is_dir():
        raise CliError(f"DAGSTER_HOME={home} is not a directory")
    env["DAGSTER_HOME"] = str(home)
    storage_root = home / "data" / "dagster"
    env.setdefault(STORAGE_ENV, str(storage_root / "storage"))
    env.setdefault(COMPUTE_LOGS_ENV, str(storage_root / "compute_logs"))
    if mode:
        env[MODE_ENV] = mode
    if capture_dir is not None:
        resolved = capture_dir.expanduser().resolve()
        if not resolved.is_dir() and env.get(MODE_ENV, "replay") == "replay":
            raise CliError(f"--capture-dir {resolved} does not exist (replay mode reads captures from it)")
        env[CAPTURE_DIR_ENV] = str(resolved)
    return home


@dataclass
class Plan:
    """What one invocation materializes: ``partition_keys`` (the run's range) and the weeks whose reports it prints
    (``iso_weeks``; the same weeks unless history weeks were added ahead of them, ``history_keys``)."""

    partition_keys: list[str]
    iso_weeks: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    history_keys: list[str] = field(default_factory=list)


def plan_weeks(first: str, last: str | None = None) -> Plan:
    """Validate ISO week labels against the weekly partitions and build the run tags (one run, single or range)."""
    from trade_pipeline.core.partitions import iso_week_label, iso_week_range, weekly_partitions

    try:
        keys = iso_week_range(first, last or first)
    except ValueError as exc:
        span = first if last is None else f"{first} .. {last}"
        raise UsageError(f"bad ISO week range {span}: {exc} (expected e.g. 2026-W05)") from exc
    missing = [k for k in keys if not weekly_partitions.has_partition_key(k)]
    if missing:
        first_key, last_key = weekly_partitions.get_first_partition_key(), weekly_partitions.get_last_partition_key()
        raise UsageError(
            f"week(s) {', '.join(iso_week_label(k) for k in missing)} outside the weekly partitions "
            f"({iso_week_label(first_key)} .. {iso_week_label(last_key)})"
        )
    if len(keys) == 1:
        tags = {"dagster/partition": keys[0]}
    else:
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
    return Plan(keys, [iso_week_label(k) for k in keys], tags)


def comparison_keys(keys: list[str]) -> set[str]:
    """The partitions the reports of ``keys`` compare against and that are outside ``keys``: 上週 of the first week
    and 去年同週 of every week, where those are weekly partitions (weeks before the first partition have none)."""
    from trade_pipeline.core.partitions import previous_partition_key, same_week_last_year_key, weekly_partitions

    wanted = {previous_partition_key(keys[0]), *(same_week_last_year_key(k) for k in keys)}
    return {k for k in wanted if k and k not in keys and weekly_partitions.has_partition_key(k)}


def with_history(plan: Plan, stored: Callable[[list[str]], set[str]]) -> Plan:
    """Widen a backfill so one run also materializes the comparison weeks its reports need and the warehouse does not
    hold yet (``stored(keys)`` says which it holds): the range grows back to the earliest of them, as one contiguous
    run, so 上週 and 去年同週 are filled on a fresh warehouse too. Their reports are written as well; only the
    requested weeks are printed."""
    from trade_pipeline.core.partitions import iso_week_label, iso_week_range

    needed = comparison_keys(plan.partition_keys)
    missing = sorted(needed - stored(sorted(needed))) if needed else []
    if not missing or missing[0] > plan.partition_keys[0]:
        return plan
    keys = iso_week_range(iso_week_label(missing[0]), iso_week_label(plan.partition_keys[-1]))
    history = [k for k in keys if k < plan.partition_keys[0]]
    tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
    return Plan(keys, plan.iso_weeks, tags, history)


def history_tables() -> tuple[str, ...]:
    """The tables a report reads in other weeks (上週 = previous partition, 去年同週 = same ISO week a year earlier)."""
    from trade_pipeline.defs.trade_briefing.inputs import LAST_YEAR_TABLES, PREVIOUS_TABLES

    return tuple(sorted(set(PREVIOUS_TABLES) | set(LAST_YEAR_TABLES)))


def warehouse_weeks(keys: list[str]) -> set[str]:
    """Which of ``keys`` the warehouse already holds in every table a report compares against."""
    from trade_pipeline.core.warehouse import Warehouse

    warehouse = Warehouse()
    with warehouse.session(read_only=True):
        held = [warehouse.stored_weeks(t, keys) for t in history_tables()]
    return set.intersection(*held)


# --------------------------------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------------------------------
class ProgressWatcher(threading.Thread):
    """Reports, while the run executes, which weeks each asset has materialized (read from the instance's event log).

    The run is single-run over the range, so each asset step materializes all its weeks at once; the briefing's
    materializations are reported per week as they land.
    """

    def __init__(self, instance, invocation: str, plan: Plan):  # noqa: ANN001 - DagsterInstance, imported lazily
        super().__init__(name="trade-pipeline-progress", daemon=True)
        self.instance, self.invocation, self.plan = instance, invocation, plan
        self.stop_event = threading.Event()
        self.run_id: str | None = None
        self._cursor: str | None = None

    def run(self) -> None:
        while not self.stop_event.wait(PROGRESS_POLL_S):
            self.poll()

    def poll(self) -> None:
        from dagster import DagsterEventType, RunsFilter

        try:
            if self.run_id is None:
                records = self.instance.get_run_records(RunsFilter(tags={INVOCATION_TAG: self.invocation}), limit=1)
                if not records:
                    return
                self.run_id = records[0].dagster_run.run_id
                _say(f"run {self.run_id} started ({self.span()})")
            conn = self.instance.get_records_for_run(
                self.run_id, cursor=self._cursor, of_type={DagsterEventType.ASSET_MATERIALIZATION}, limit=1000
            )
        except Exception as exc:  # progress is cosmetic: never let it break the run
            _say(f"(progress unavailable: {type(exc).__name__}: {exc})")
            self.stop_event.set()
            return
        self._cursor = conn.cursor
        by_asset: dict[str, list[str]] = {}
        for record in conn.records:
            mat = record.event_log_entry.asset_materialization
            if mat is None:
                continue
            asset = mat.asset_key.to_user_string()
            by_asset.setdefault(asset, []).append(mat.partition or "")
        from trade_pipeline.core.partitions import iso_week_label

        for asset, keys in by_asset.items():
            weeks = ", ".join(iso_week_label(k) for k in sorted(keys) if k)
            if asset == REPORT_ASSET:
                for key in sorted(keys):
                    done = self.plan.partition_keys.index(key) + 1 if key in self.plan.partition_keys else "?"
                    _say(
                        f"week {iso_week_label(key)} ({key}) briefing rendered [{done}/{len(self.plan.partition_keys)}]"
                    )
            else:
                _say(f"{asset}: materialized {weeks}")

    def span(self) -> str:
        from trade_pipeline.core.partitions import iso_week_label

        weeks = [iso_week_label(k) for k in self.plan.partition_keys]
        return weeks[0] if len(weeks) == 1 else f"{weeks[0]}..{weeks[-1]}, {len(weeks)} weeks as one run"


_QUALIFIED_CLASS = re.compile(r"^(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*: )")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error_cause(error) -> str:  # noqa: ANN001 - SerializableErrorInfo
    """The message that names the cause: the first error of the chain that is not one of Dagster's wrappers
    ("Error occurred while executing op …"), class name without its module, on one line."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.cause or getattr(error, "context", None)
    own = [e for e in chain if not (e.cls_name or "").startswith("Dagster")] or chain[-1:]
    if not own:
        return "unknown error"
    return _one_line(_QUALIFIED_CLASS.sub("", own[0].message.strip()))


def _failure_summary(result) -> str:  # noqa: ANN001 - JobExecutionResult
    """One line: each distinct cause once, after the steps it failed (the source, file or request is in the
    message of the error the layers raise)."""
    causes: dict[str, list[str]] = {}
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            causes.setdefault(_error_cause(error) if error else "unknown error", []).append(event.step_key)
    if not causes:  # a failure outside any step (resource or run set-up)
        for event in result.all_events:
            data = event.event_specific_data
            error = getattr(data, "error", None)
            if event.is_run_failure and error is not None:
                causes.setdefault(_error_cause(error), []).append("run")
    if not causes:
        return "the run failed (see its events in `dagster dev`)"
    return "; ".join(f"{', '.join(steps)}: {cause}" for cause, steps in causes.items())


def _materialized_partitions(instance, run_id: str, asset: str) -> set[str]:  # noqa: ANN001 - DagsterInstance
    from dagster import DagsterEventType

    conn = instance.get_records_for_run(run_id, of_type={DagsterEventType.ASSET_MATERIALIZATION}, limit=100_000)
    out = set()
    for record in conn.records:
        mat = record.event_log_entry.asset_materialization
        if mat is not None and mat.asset_key.to_user_string() == asset and mat.partition:
            out.add(mat.partition)
    return out


INIT_LOCK_NAME = ".trade-pipeline-instance-init.lock"


@contextlib.contextmanager
def instance_init_lock():  # noqa: ANN201 - a context manager
    """Serialize the creation of the Dagster instance between `trade-pipeline` processes sharing a storage directory.

    The first process to open a fresh instance creates its SQLite run and schedule storage and stamps their alembic
    revision. Dagster does not guard that step against a second process doing the same at the same moment (two
    `trade-pipeline briefing` commands started together on a fresh clone: one dies with "UNIQUE constraint failed:
    alembic_version.version_num"). An exclusive flock on a file in the storage directory, held only while the
    instance is created, makes the second process wait a fraction of a second instead. Without fcntl (Windows) the
    lock is a no-op.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    # prepare_environment always sets STORAGE_ENV; the fallback is the same default it would have chosen.
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT)
    storage = Path(os.environ.get(STORAGE_ENV) or home / "data" / "dagster" / "storage")
    storage.mkdir(parents=True, exist_ok=True)
    with open(storage / INIT_LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_instance():  # noqa: ANN201 - DagsterInstance, imported lazily
    """The instance at $DAGSTER_HOME, created under `instance_init_lock` (safe when several processes start at once)."""
    from dagster import DagsterInstance

    with instance_init_lock():
        return DagsterInstance.get()


def require_writable(directory: Path, what: str) -> None:
    """Create ``directory`` if needed and prove a file can be written in it; else a one-line CliError naming it.

    Checked before the run starts, so a read-only data dir is one clear message instead of failures half-way
    through (and nothing already there is touched).
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".trade-pipeline-write-probe-"):
            pass
    except OSError as exc:
        raise CliError(
            f"{what} {directory} is not writable ({exc.strerror or exc}); point "
            f"TRADE_PIPELINE_DATA_DIR (and DAGSTER_HOME, or {STORAGE_ENV}/{COMPUTE_LOGS_ENV}) at a "
            f"writable directory"
        ) from exc


def preflight() -> None:
    """Every directory this run writes is writable (run storage, compute logs, the data dir with the warehouse,
    the site and the cache), and an existing warehouse file can be opened for writing."""
    from trade_pipeline.core.paths import data_dir

    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT)
    require_writable(
        Path(os.environ.get(STORAGE_ENV) or home / "data" / "dagster" / "storage"), "the Dagster run storage"
    )
    require_writable(
        Path(os.environ.get(COMPUTE_LOGS_ENV) or home / "data" / "dagster" / "compute_logs"),
        "the Dagster compute-log directory",
    )
    data = data_dir()
    require_writable(data, "the data dir (warehouse, site, HTTP cache)")
    warehouse = data / "warehouse.duckdb"
    if warehouse.exists():
        try:
            with open(warehouse, "r+b"):
                pass
        except OSError as exc:
            raise CliError(f"the warehouse {warehouse} cannot be opened for writing ({exc.strerror or exc})") from exc


def run_weeks(plan: Plan, log_level: str, lang: str = "both") -> list[Path]:
    """Execute the job for the plan's weeks in this process, recorded in the instance; return the report paths."""
    from dagster import execute_job
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from trade_pipeline.core.site import Site

    recon_job = ReconstructableRepository.for_module(
        DEFINITIONS_MODULE, DEFINITIONS_ATTRIBUTE, working_directory=str(PROJECT_ROOT)
    ).get_reconstructable_job(JOB_NAME)
    invocation = uuid.uuid4().hex
    from trade_pipeline.defs.operations.run_health import cli_run_tags, fail_dead_runs

    # pid + host: a later process (or the daemon's run monitoring) can tell when this one died without reporting
    tags = {
        **plan.tags,
        **WAREHOUSE_TAG,
        "trade_pipeline/launched_by": "cli",
        INVOCATION_TAG: invocation,
        **cli_run_tags(),
    }
    run_config = {
        "loggers": {"console": {"config": {"log_level": log_level}}},
        "ops": {REPORT_ASSET: {"config": {"lang": lang}}},
    }

    with open_instance() as instance:
        # A run left STARTED by a process that is gone would block the daemon's queue for good: fail it first.
        fail_dead_runs(instance, say=_say)
        watcher = ProgressWatcher(instance, invocation, plan)
        watcher.start()
        try:
            result = execute_job(recon_job, instance=instance, tags=tags, run_config=run_config)
        finally:
            watcher.stop_event.set()
            watcher.join(timeout=5)
        watcher.poll()  # whatever landed after the last poll
        run_id = result.run_id
        if not result.success:
            raise CliError(f"run {run_id} failed ({watcher.span()}): {_failure_summary(result)}")
        # A report file may be left over from an earlier run: trust this run's materializations, then the files.
        rendered = _materialized_partitions(instance, run_id, REPORT_ASSET)
        missing_weeks = [k for k in plan.partition_keys if k not in rendered]
        if missing_weeks:
            raise CliError(
                f"run {run_id} succeeded but did not materialize {REPORT_ASSET} for {', '.join(missing_weeks)}"
            )

    site = Site()
    paths = [site.path(report_relpath(week, tag)) for week in plan.iso_weeks for tag in EDITION_TAGS[lang]]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise CliError(f"run {run_id} succeeded but these reports are missing: {', '.join(absent)}")
    _say(f"run {run_id} succeeded: {len(paths)} report(s)")
    return paths


def verify_reports(paths: list[Path]) -> int:
    """`trade-pipeline verify`: every figure of the given (or every published) report, in place, against the
    warehouse as it is now. Prints one line per mismatch on stdout; exit 0 when all verify, 1 otherwise."""
    from trade_pipeline.core.site import Site
    from trade_pipeline.core.warehouse import Warehouse
    from trade_pipeline.defs.trade_briefing.publish import verify_published

    site = Site()
    outcomes = verify_published(Warehouse(), site.root_dir(), [p.resolve() for p in paths] or None)
    if not outcomes:
        raise CliError(f"no published reports under {site.root_dir()} (run `trade-pipeline briefing WEEK` first)")
    bad = 0
    for o in outcomes:
        for m in o.mismatches:
            print(m)
        bad += len(o.mismatches)
        _say(
            f"{o.report}: {o.figures} figures, {o.claims} printed facts checked, "
            f"{'OK' if o.passed else f'{len(o.mismatches)} mismatch(es)'}"
        )
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "verify":
        try:
            return verify_reports(args.paths)
        except CliError as exc:
            _say(f"error: {exc}")
            return 1
    if args.command == "site":
        try:
            print(build_html_site(args.source, args.out))
        except CliError as exc:
            _say(f"error: {exc}")
            return 1
        return 0
    try:
        prepare_environment(args.mode, args.capture_dir)
        plan = plan_weeks(args.week) if args.command == "briefing" else plan_weeks(args.first, args.last)
        preflight()
        if args.command == "backfill" and not args.no_history:
            plan = with_history(plan, warehouse_weeks)
            if plan.history_keys:
                from trade_pipeline.core.partitions import iso_week_label

                _say(
                    f"also materializing {iso_week_label(plan.history_keys[0])}..{iso_week_label(plan.history_keys[-1])}"
                    f" ({len(plan.history_keys)} weeks) ahead of the range, in the same run: the reports compare "
                    f"against them (上週 / 去年同週) and the warehouse does not hold them yet (--no-history skips this)"
                )
        paths = run_weeks(plan, args.log_level, args.lang)
    except CliError as exc:
        _say(f"error: {_one_line(str(exc))}")
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except Exception as exc:  # outside the run (instance set-up, storage): one line; --log-level DEBUG re-raises
        if args.log_level == "DEBUG":
            raise
        _say(f"error: {type(exc).__name__}: {_one_line(str(exc))} (rerun with --log-level DEBUG for the traceback)")
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
