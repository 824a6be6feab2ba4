"""Weekly schedule: every Monday morning, materialize the whole graph for the ISO week that just ended.

Why not ``build_schedule_from_partitioned_job``: ``weekly_partitions`` has ``end_offset=1`` (the running week is a
partition too, so sensors can refresh it), and a partitioned schedule always targets the *newest* partition — on
Monday 2026-02-02 that is the week that has just started (2026-02-02), not the finished one (2026-01-26). A plain
schedule on the same job picks the previous week explicitly; each tick's run_key is the partition key, so a
re-evaluated tick never launches the same week twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from trade_pipeline.core.partitions import iso_week_label, previous_partition_key, weekly_partitions

# Monday 06:00 UTC: the week closed at Sunday 23:59:59 UTC, six hours of slack for late publications.
SCHEDULE_CRON = "0 6 * * 1"
SCHEDULE_TIMEZONE = "UTC"
# Runs that write the warehouse carry this tag; dagster.yaml limits it to one run at a time.
WAREHOUSE_TAG = {"trade_pipeline/warehouse": "write"}


def finished_week_key(at: datetime) -> str:
    """Partition key (Monday) of the last ISO week that ended before ``at``."""
    day = at.astimezone(UTC).date()
    this_monday = date.fromordinal(day.toordinal() - day.weekday()).isoformat()
    return previous_partition_key(this_monday)


@schedule(
    name="weekly_briefing_schedule",
    job_name="weekly_briefing_job",
    cron_schedule=SCHEDULE_CRON,
    execution_timezone=SCHEDULE_TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Monday 06:00 UTC: materialize every layer and the briefing for the ISO week that just ended "
        "(tick on 2026-02-02 → partition 2026-01-26, report 2026-W05). Stopped by default: turn it on where the "
        "sources are reachable (TRADE_PIPELINE_HTTP_MODE=live or record); the embedded sample only covers 2026-W01..W08."
    ),
    tags=WAREHOUSE_TAG,
)
def weekly_briefing_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    scheduled = context.scheduled_execution_time or datetime.now(UTC)
    key = finished_week_key(scheduled)
    if not weekly_partitions.has_partition_key(key):
        return SkipReason(
            f"week {key} is outside the weekly partitions (first week {weekly_partitions.start:%Y-%m-%d})"
        )
    return RunRequest(
        run_key=key,
        partition_key=key,
        tags={**WAREHOUSE_TAG, "trade_pipeline/iso_week": iso_week_label(key)},
    )


SCHEDULES = [weekly_briefing_schedule]
