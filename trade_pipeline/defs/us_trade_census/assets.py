"""Assets of the us_trade_census layer: US Census monthly HS2 flows → YTD balances, country detail, revisions.

Point in time: a week's partition asks only for months released by the end of that week (release_calendar), so a
backfill of an old week never sees later-released months. Weeks run in ascending order, so last week's partition
is already stored when this week's revisions are computed.
"""

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)
from dagster_pandera import pandera_schema_to_dagster_type

from trade_pipeline.core import contract, quarantine
from trade_pipeline.core.partitions import as_of_instant, iso_week_label, previous_partition_key, weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.table_assets import table_asset
from trade_pipeline.core.warehouse import PartitionCache, Warehouse
from trade_pipeline.core.week_metadata import add_week_metadata, week_rows
from trade_pipeline.defs.us_trade_census import checks as invariants
from trade_pipeline.defs.us_trade_census import extractor, release_calendar
from trade_pipeline.defs.us_trade_census.metrics import (
    MOM_MATERIAL_USD,
    MOM_THRESHOLD_PCT,
    WeekDiagnostics,
    build_country_detail,
    build_monthly_flows,
    build_release_status,
    build_revisions,
    build_trade_balance,
)
from trade_pipeline.defs.us_trade_census.resources import PARTNERS, CensusTradeClient
from trade_pipeline.defs.us_trade_census.wire import REPLY_SCHEMA_FOR_UI

GROUP = "us_trade_census"
OWNERS = ["team:trade-intel"]
KINDS = {"python", "duckdb", "polars"}
T_MONTHLY, T_STATUS = contract.CENSUS_MONTHLY_FLOWS, contract.CENSUS_RELEASE_STATUS
T_BALANCE, T_DETAIL, T_REVISIONS = (
    contract.CENSUS_TRADE_BALANCE,
    contract.CENSUS_COUNTRY_DETAIL,
    contract.CENSUS_REVISIONS,
)
T_COVERAGE = contract.CENSUS_COVERAGE
LIST_LIMIT = 50  # entries shown per list in check metadata

CHECK_EXPECTED = "census_expected_series_present"
CHECK_MOM = "census_mom_within_30pct"
CHECK_FETCH = "census_fetch_complete"
CHECK_TOTALS = invariants.MONTHLY_HS2_SUM.name
CHECK_VALID = "census_reply_rows_valid"
#: The parse boundary's declared rules (pandera, polars backend) as the UI shows them (dagster-pandera).
REPLY_SCHEMA_METADATA = {"census_reply_schema": pandera_schema_to_dagster_type(REPLY_SCHEMA_FOR_UI).metadata["schema"]}


def _drop_week(df: pl.DataFrame) -> pl.DataFrame:
    return df.drop("week_start") if "week_start" in df.columns else df


def _quarantine(warehouse: Warehouse, items: dict[str, list[quarantine.Quarantined]]) -> None:
    """Each week's quarantined reply rows into this asset's staging table (empty weeks too: a clean re-run clears
    them); the quarantined_rows asset (defs/data_quality) collects every source's."""
    quarantine.write_staging(warehouse, T_MONTHLY, {k: quarantine.frame(v, T_MONTHLY) for k, v in items.items()})


def column_schema(df: pl.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, str(dtype)) for name, dtype in df.schema.items()])


def _list(items: list[str]) -> MetadataValue:
    shown = items[:LIST_LIMIT] + ([f"... and {len(items) - LIST_LIMIT} more"] if len(items) > LIST_LIMIT else [])
    return MetadataValue.json(shown)


def _status(warehouse: Warehouse, key: str, cache: PartitionCache | None = None) -> dict:
    df = cache.get(T_STATUS, key) if cache is not None else warehouse.read_partition(T_STATUS, key)
    if df.is_empty():
        raise RuntimeError(
            f"[census] no census_release_status row for week {key}: materialize census_monthly_flows "
            f"for that week first"
        )
    row = df.row(0, named=True)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


@table_asset(
    side_tables={
        T_STATUS: "One row per week: the newest Census month released by the as-of day, the months available, the "
        "next release, and the week's missing series and failed requests.",
        T_COVERAGE: "Every expected partner × flow × month × level (TOTAL / HS2) of the week: answered, derived "
        "(total summed from chapters) or missing, with the rows received and why (review_flags).",
    },
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    description=(
        "US Census monthly exports (ALL_VAL_MO) and general imports (GEN_VAL_MO) for China, Taiwan, Korea, Japan and "
        "Germany by HS2 chapter plus country totals (hs2='TOTAL'), the previous year and the latest year through the "
        "newest month released by the week's end; YTD, MoM, YoY and review flags. Every reply row is validated "
        "against its request (census_reply_schema); rejected rows are quarantined and their groups flagged. Also "
        "writes census_release_status and census_series_coverage (every expected series: answered or missing, why)."
    ),
    metadata=REPLY_SCHEMA_METADATA,
    check_specs=[
        AssetCheckSpec(
            CHECK_EXPECTED,
            asset="census_monthly_flows",
            description="Every expected partner × flow × month has a country total and HS2 chapters.",
        ),
        AssetCheckSpec(
            CHECK_MOM,
            asset="census_monthly_flows",
            description=f"No country total (or chapter ≥ USD {MOM_MATERIAL_USD / 1e6:.0f} M) moves more than "
            f"{MOM_THRESHOLD_PCT:.0f} % month on month.",
        ),
        AssetCheckSpec(
            CHECK_FETCH,
            asset="census_monthly_flows",
            description="Every planned Census request succeeded (no partial failure).",
        ),
        AssetCheckSpec(
            CHECK_VALID,
            asset="census_monthly_flows",
            description="Every row of every reply passed census_reply_schema (rejected rows are in "
            "quarantined_rows and their groups flagged).",
        ),
        *invariants.specs("census_monthly_flows"),
    ],
)
def census_monthly_flows(
    context: AssetExecutionContext, census: CensusTradeClient, warehouse: Warehouse
) -> MaterializeResult:
    return _census_monthly_flows(context, census, warehouse)


def _census_monthly_flows(
    context: AssetExecutionContext, census: CensusTradeClient, warehouse: Warehouse
) -> MaterializeResult:
    weeks: dict[str, WeekDiagnostics] = {}
    rows = 0
    last_df = pl.DataFrame()
    frames: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}
    for key in sorted(context.partition_keys):  # fetch every week first: no warehouse lock held while fetching
        as_of = as_of_instant(key).date()
        latest = census.latest_released_month(as_of)
        context.log.info(f"[census] week {key}: data through {latest[0]}-{latest[1]:02d} (as of {as_of})")
        fetches = census.fetch_week(latest, log=context.log)
        # A request repeated by another week gets the same fetch object (one per answer and run), so weeks with the
        # same answers and release month share one build, keyed by the fetches themselves (SourceHttp.per_run).
        monthly, diag = census.http.per_run(build_monthly_flows, tuple(fetches), latest)
        next_y, next_m, next_date = release_calendar.next_release(as_of)
        status = build_release_status(
            as_of.isoformat(),
            latest,
            release_calendar.release_date(*latest).isoformat(),
            (next_y, next_m, next_date.isoformat()),
            diag,
        )
        frames[key] = (monthly, status)
        weeks[key] = diag
        last_df = monthly
    with warehouse.session():  # each table's weeks: delete + insert in one transaction
        rows += warehouse.replace_partitions(T_MONTHLY, {k: monthly for k, (monthly, _) in frames.items()})
        warehouse.replace_partitions(T_STATUS, {k: status for k, (_, status) in frames.items()})
        warehouse.replace_partitions(T_COVERAGE, {k: d.coverage for k, d in weeks.items()})
        _quarantine(warehouse, {k: d.quarantine for k, d in weeks.items()})
        checked = invariants.evaluate(warehouse, "census_monthly_flows", list(weeks))

    def per_week(attr: str) -> dict[str, list[str]]:
        return {k: getattr(d, attr) for k, d in weeks.items() if getattr(d, attr)}

    def check(name: str, attr: str, what: str) -> AssetCheckResult:
        found = per_week(attr)
        return AssetCheckResult(
            check_name=name,
            passed=not found,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "weeks_checked": MetadataValue.json(sorted(weeks)),
                "weeks_with_findings": MetadataValue.json(sorted(found)),
                what: _list([f"{k}: {item}" for k, items in sorted(found.items()) for item in items]),
            },
        )

    checks = [
        check(CHECK_EXPECTED, "missing_series", "missing"),
        check(CHECK_MOM, "mom_flags", "moves"),
        check(CHECK_FETCH, "failed_requests", "failed_requests"),
        check(CHECK_VALID, "quarantined", "quarantined_rows"),
        *checked,
    ]
    latest_key = max(weeks)
    add_week_metadata(
        context,
        week_rows(
            {k: m for k, (m, _) in frames.items()},
            **{T_STATUS: {k: s for k, (_, s) in frames.items()}, T_COVERAGE: {k: d.coverage for k, d in weeks.items()}},
        ),
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "dagster/column_schema": column_schema(last_df),
            "weeks": MetadataValue.json(sorted(weeks)),
            "data_through": MetadataValue.json({k: f"{d.latest[0]}-{d.latest[1]:02d}" for k, d in weeks.items()}),
            "requests": sum(d.requests for d in weeks.values()),
            "failed_requests": sum(len(d.failed_requests) for d in weeks.values()),
            "quarantined_rows": sum(len(d.quarantined) for d in weeks.values()),
            "merged_duplicate_rows": sum(d.merged_duplicates for d in weeks.values()),
            "flagged_rows_latest_week": int(last_df.filter(pl.col("review_flags") != "").height),
            "latest_week": latest_key,
            "replaying_embedded_sample": census.uses_embedded_sample(),
        },
        check_results=checks,
    )


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[census_monthly_flows],
    description=(
        "US trade balance (exports − imports, Census valuation) per partner and HS2 chapter (+ TOTAL), year to date "
        "through the latest released month, with the previous year's same period and each deficit chapter's share "
        "of the partner's summed chapter deficits. A figure over a missing or NULL month is NULL and flagged."
    ),
    check_specs=invariants.specs("census_trade_balance"),
)
def census_trade_balance(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session():
        return _census_trade_balance(context, warehouse)


def _census_trade_balance(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    rows, facts, last = 0, {}, pl.DataFrame()
    written: dict[str, pl.DataFrame] = {}
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_STATUS, T_MONTHLY, T_COVERAGE], keys)
    for key in keys:
        status = _status(warehouse, key, cache)
        monthly = cache.get(T_MONTHLY, key)
        coverage = cache.get(T_COVERAGE, key)
        balance = build_trade_balance(
            _drop_week(monthly),
            (status["latest_year"], status["latest_month"]),
            _drop_week(coverage) if coverage.height else None,
        )
        written[key] = balance
        rows += balance.height
        last = balance
        facts[key] = {
            r["cty_code"]: None if r["balance_usd"] is None else round(r["balance_usd"])
            for r in balance.filter(pl.col("hs2") == "TOTAL").iter_rows(named=True)
        }
    warehouse.replace_partitions(T_BALANCE, written)  # the weeks in one transaction
    add_week_metadata(context, week_rows(written))
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "dagster/column_schema": column_schema(last),
            "total_balance_usd_by_week": MetadataValue.json(facts),
        },
        check_results=invariants.evaluate(warehouse, "census_trade_balance", keys),
    )


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[census_trade_balance],
    description="Top 10 HS2 chapters per partner and direction (exports, imports), year to date, with shares and YoY.",
    check_specs=invariants.specs("census_country_detail"),
)
def census_country_detail(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session():
        return _census_country_detail(context, warehouse)


def _census_country_detail(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    rows, last, tops = 0, pl.DataFrame(), {}
    written: dict[str, pl.DataFrame] = {}
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_BALANCE], keys)
    for key in keys:
        balance = cache.get(T_BALANCE, key)
        detail = build_country_detail(balance.drop("week_start") if "week_start" in balance.columns else balance)
        written[key] = detail
        rows += detail.height
        last = detail
        tops[key] = {
            f"{r['cty_code']}/{r['flow']}": r["hs2"] for r in detail.filter(pl.col("rank") == 1).iter_rows(named=True)
        }
    warehouse.replace_partitions(T_DETAIL, written)  # the weeks in one transaction
    add_week_metadata(context, week_rows(written))
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "dagster/column_schema": column_schema(last),
            "top_chapter_by_week": MetadataValue.json(tops),
        },
        check_results=invariants.evaluate(warehouse, "census_country_detail", keys),
    )


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[census_monthly_flows],
    description=(
        "Census values revised since last week's partition: partner × flow × month × HS2 rows whose value differs "
        "from the previous week's census_monthly_flows (empty when last week was never materialized)."
    ),
)
def census_revisions(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session():
        return _census_revisions(context, warehouse)


def _census_revisions(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    rows, last, per_week, no_baseline = 0, pl.DataFrame(), {}, []
    written: dict[str, pl.DataFrame] = {}
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_MONTHLY], sorted({*keys, *(previous_partition_key(k) for k in keys)}))
    for key in keys:
        prev_key = previous_partition_key(key)
        current = cache.get(T_MONTHLY, key)
        previous = cache.get(T_MONTHLY, prev_key)
        if previous.is_empty():
            no_baseline.append(key)
        revisions = build_revisions(current, previous, prev_key)
        written[key] = revisions
        rows += revisions.height
        per_week[key] = revisions.height
        last = revisions
    warehouse.replace_partitions(T_REVISIONS, written)  # the weeks in one transaction
    add_week_metadata(context, week_rows(written))
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "dagster/column_schema": column_schema(last),
            "revisions_by_week": MetadataValue.json(per_week),
            "weeks_without_previous_partition": MetadataValue.json(no_baseline),
        }
    )


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "markdown"},
    owners=OWNERS,
    deps=[census_monthly_flows, census_trade_balance, census_country_detail, census_revisions],
    description=(
        "Extractor markdown under Extractor/us_trade_census/{monthly_export,monthly_import,trade_balance,"
        "country_detail}/us-{export,import,balance,detail}-<cty>-<data year>.md, one set per partner. A file written "
        "by a later week is never overwritten by a backfill of an earlier week."
    ),
)
def census_extractor_files(context: AssetExecutionContext, warehouse: Warehouse, site: Site) -> MaterializeResult:
    with warehouse.session(read_only=True):  # reads only
        return _census_extractor_files(context, warehouse, site)


def _census_extractor_files(context: AssetExecutionContext, warehouse: Warehouse, site: Site) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_STATUS], keys)
    statuses = {key: _status(warehouse, key, cache) for key in keys}
    # Pass 1 decides, week by week in ascending order, exactly what writing every week would do: a file is kept when
    # the copy on disk was written by a later week, otherwise the week writes it (and the copy is then that week's).
    # Only the last write of each file survives, so pass 2 renders just those — one render per file, not per week.
    on_disk: dict[str, str | None] = {}  # path -> as-of week of the copy on disk, as the weeks go
    final: dict[str, tuple[str, str, str]] = {}  # path -> (week, partner, view) whose render stays on disk
    written, kept = [], []
    for key in keys:
        year = statuses[key]["latest_year"]
        for cty in PARTNERS:
            for view in EXTRACTOR_VIEWS:
                rel = extractor.relative_path(view, cty, year)
                if rel not in on_disk:
                    target = site.path(rel)
                    on_disk[rel] = (
                        extractor.existing_as_of(target.read_text(encoding="utf-8")) if target.exists() else None
                    )
                newer = on_disk[rel]
                if newer and newer > key:
                    kept.append(f"{rel} (kept: written by week {newer})")
                    continue
                on_disk[rel] = key  # the file carries its partition's as-of marker
                final[rel] = (key, cty, view)
                written.append(rel)
    by_week: dict[str, list[tuple[str, str, str]]] = {}
    for rel, (key, cty, view) in final.items():
        by_week.setdefault(key, []).append((rel, cty, view))
    for key, files in sorted(by_week.items()):
        status, label = statuses[key], iso_week_label(key)
        monthly = warehouse.read_partition(T_MONTHLY, key)
        balance = warehouse.read_partition(T_BALANCE, key)
        detail = warehouse.read_partition(T_DETAIL, key)
        revisions = warehouse.read_partition(T_REVISIONS, key)
        for rel, cty, view in files:
            site.write(rel, _render_view(view, cty, status, label, key, monthly, balance, detail, revisions))
    # each week's snapshot is one file per partner and view (written now, or kept as a later week wrote it)
    add_week_metadata(
        context,
        {
            k: {"dagster/row_count": len(PARTNERS) * len(EXTRACTOR_VIEWS), "files_written": len(by_week.get(k, []))}
            for k in keys
        },
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(written),
            "files": _list(sorted(set(written))),
            "dagster/column_schema": EXTRACTOR_FILES_SCHEMA,
            "kept_newer_files": _list(kept),
        }
    )


EXTRACTOR_VIEWS = tuple(contract.CENSUS_VIEWS)


def _render_view(
    view: str,
    cty: str,
    status: dict,
    label: str,
    key: str,
    monthly: pl.DataFrame,
    balance: pl.DataFrame,
    detail: pl.DataFrame,
    revisions: pl.DataFrame,
) -> str:
    if view == "monthly_export":
        return extractor.render_monthly(monthly, cty, "export", status, label, key)
    if view == "monthly_import":
        return extractor.render_monthly(monthly, cty, "import", status, label, key)
    if view == "trade_balance":
        return extractor.render_balance(balance, monthly, cty, status, label, key)
    return extractor.render_detail(detail, revisions, cty, status, label, key, balance)


#: What the Extractor asset produces, one row per file written (the UI's column schema of a file-producing asset).
EXTRACTOR_FILES_SCHEMA = TableSchema(
    columns=[
        TableColumn(
            "path",
            "VARCHAR",
            description="site-relative path, Extractor/us_trade_census/<view>/us-<view>-<cty>-<year>.md",
        ),
        TableColumn("as_of_partition", "DATE", description="the week whose snapshot wrote the file"),
    ]
)

ASSETS = [census_monthly_flows, census_trade_balance, census_country_detail, census_revisions, census_extractor_files]
