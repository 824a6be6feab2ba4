"""Assets of the bilateral_trade_flows layer (UN Comtrade, annual, per weekly as-of partition).

comtrade_partner_flows ─┬─ partner_rankings ─┐
                        ├─ trade_balances ───┤
                        └─ market_concentration ─┼─ bilateral_extractor_files
comtrade_commodity_flows ── commodity_structure ─┘

The `[REVIEW_NEEDED]` rules are WARN asset checks declared on the assets (check_specs); the same findings are
written into each row's `review_flags`, so the report carries them too.
"""

from collections.abc import Iterable

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

from trade_pipeline.core import contract, quarantine
from trade_pipeline.core.partitions import previous_partition_key, weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.table_assets import table_asset
from trade_pipeline.core.warehouse import PartitionCache, Warehouse
from trade_pipeline.core.week_metadata import add_week_metadata, week_rows
from trade_pipeline.defs.bilateral_trade_flows import checks as rules
from trade_pipeline.defs.bilateral_trade_flows import extractor, metrics
from trade_pipeline.defs.bilateral_trade_flows.codes import ALL_REPORTERS, TAIWAN_ISO_CODE
from trade_pipeline.defs.bilateral_trade_flows.fetch import (
    FLOWS,
    GROUP_COLS,
    REQUEST_SCHEMA,
    RequestLog,
    _guarded,
    expected_flags,
    fetch_partner_week,
    released_pairs,
    select_years,
    unreadable_item,
)
from trade_pipeline.defs.bilateral_trade_flows.parse import (
    commodity_frame,
    commodity_frame_and_quarantine,
    commodity_rows,
    quarantined,
)
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.bilateral_trade_flows.validate import check_replies, schema_metadata

GROUP = "bilateral_trade_flows"
KINDS = {"duckdb", "python"}
OWNERS = ["team:trade-intel"]
WARN = AssetCheckSeverity.WARN

T_PARTNER_FLOWS = contract.COMTRADE_PARTNER_FLOWS
T_COMMODITY_FLOWS = contract.COMTRADE_COMMODITY_FLOWS
T_REQUESTS = contract.COMTRADE_REQUESTS
T_COMMODITY_REQUESTS = contract.COMTRADE_COMMODITY_REQUESTS
T_AVAILABILITY = contract.COMTRADE_AVAILABILITY
T_RANKINGS = contract.PARTNER_RANKINGS
T_BALANCES = contract.TRADE_BALANCES
T_CONCENTRATION = contract.MARKET_CONCENTRATION
T_COMMODITY = contract.COMMODITY_STRUCTURE


def _schema(df: pl.DataFrame) -> TableSchema:
    return TableSchema(columns=[TableColumn(name=n, type=str(t)) for n, t in df.schema.items()])


def _result(frames: dict[str, pl.DataFrame], main: str, checks: list[AssetCheckResult], **facts) -> MaterializeResult:
    main_df = frames[main]
    meta = {
        "dagster/row_count": sum(f.height for f in frames.values() if f is not None),
        "dagster/column_schema": _schema(main_df),
    }
    meta.update({f"rows/{k}": v.height for k, v in frames.items()})
    meta.update({k: (MetadataValue.json(v) if isinstance(v, (dict, list)) else v) for k, v in facts.items()})
    return MaterializeResult(metadata=meta, check_results=checks)


def _check(name: str, problems: list[dict], description: str, asset_key: str | None = None) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=name,
        passed=not problems,
        severity=WARN,
        description=description if problems else "ok",
        metadata={"problem_count": len(problems), "problems": MetadataValue.json(problems[:50])},
    )


def _rows_with_flag(df: pl.DataFrame, flag: str, cols: Iterable[str]) -> list[dict]:
    return rules.rows_with_flag(df, flag, cols)


def _spec(asset_name: str, name: str, description: str) -> AssetCheckSpec:
    return AssetCheckSpec(name=name, asset=asset_name, description=description, blocking=False)


def _invariant(asset_name: str, name: str, description: str) -> AssetCheckSpec:
    """A blocking ERROR check: fails only for violating rows that carry no QUALITY flag (checks.invariant_result)."""
    return AssetCheckSpec(
        name=name,
        asset=asset_name,
        blocking=True,
        description=description + " — blocking for violations without a quality flag; flagged "
        "violations are listed and let the week publish",
    )


def _read(warehouse: Warehouse, table: str, key: str, cache: PartitionCache | None = None) -> pl.DataFrame:
    df = cache.get(table, key) if cache is not None else warehouse.read_partition(table, key)
    return df.drop("week_start") if "week_start" in df.columns else df


def _availability_frame(week, key: str) -> pl.DataFrame:  # noqa: ANN001 - fetch.PartnerWeek
    """getDa rows of the week with whether each reporter-year was released by the as-of instant and selected."""
    released = released_pairs(week.availability, key)
    years = week.years
    pairs = week.availability.select("reporter_code", "year").iter_rows()
    flags = [((r, y) in released, y in years.get(r, [])) for r, y in pairs]
    return week.availability.with_columns(
        pl.Series("released_by_as_of", [a for a, _ in flags], dtype=pl.Boolean),
        pl.Series("selected", [b for _, b in flags], dtype=pl.Boolean),
    )


# ---------------------------------------------------------------------------------------------------------------------
@table_asset(
    side_tables={
        T_REQUESTS: "One row per Comtrade request of the week (reporter × flow × year): status ok/empty/truncated/failed/"
        "not_released, rows, the reply's count, request id, error.",
        T_AVAILABILITY: "Comtrade data availability (getDa) of the week's candidate years: when each reporter-year "
        "was first released, whether it was released by the as-of instant and selected.",
    },
    name=T_PARTNER_FLOWS,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    description="UN Comtrade all-partner TOTAL rows per reporter × flow × year (latest released year and the one "
    "before, as of the week's end), plus Taiwan (158) built from partners' mirror reports on 490. "
    "Also writes comtrade_requests (per-request status) and comtrade_data_availability (getDa). "
    "Every wire row passes the declared pandera wire schema first (metadata 'wire_schema'); refused rows "
    "go to quarantine_staging_comtrade_partner_flows (→ quarantined_rows) and flag their group.",
    metadata={"wire_schema": schema_metadata()},
    check_specs=[
        _spec(T_PARTNER_FLOWS, "no_zero_records", "[REVIEW_NEEDED] a requested reporter/flow/year returned no rows"),
        _spec(T_PARTNER_FLOWS, "no_partial_http_failure", "[REVIEW_NEEDED] some Comtrade requests failed"),
        _spec(T_PARTNER_FLOWS, "no_truncation", "[REVIEW_NEEDED] a response hit the record cap (count == cap)"),
        _spec(
            T_PARTNER_FLOWS,
            "no_quarantined_rows",
            "[REVIEW_NEEDED] wire rows refused by the wire schema (see quarantined_rows); their groups are flagged",
        ),
        _invariant(T_PARTNER_FLOWS, "partners_within_world", "partner rows sum to no more than the World row"),
    ],
)
def comtrade_partner_flows(
    context: AssetExecutionContext, comtrade: ComtradeClient, warehouse: Warehouse
) -> MaterializeResult:
    return _comtrade_partner_flows(context, comtrade, warehouse)


def _comtrade_partner_flows(
    context: AssetExecutionContext, comtrade: ComtradeClient, warehouse: Warehouse
) -> MaterializeResult:
    all_requests, flows_total, facts, weeks = [], [], {}, {}
    for key in sorted(context.partition_keys):  # fetch every week first: no warehouse lock held while fetching
        week = fetch_partner_week(comtrade, key)
        weeks[key] = (week, _availability_frame(week, key))
        all_requests.append(week.requests.with_columns(week=pl.lit(key)))
        flows_total.append(week.flows)
        facts[key] = {str(r): y for r, y in week.years.items()}
        context.log.info(
            f"{key}: {week.flows.height} rows; years {facts[key]}; "
            f"{comtrade.http.stats.network_requests} network calls so far "
            f"({comtrade.endpoint_label()} endpoint)"
        )
    with warehouse.session():  # each table's weeks: delete + insert in one transaction
        warehouse.replace_partitions(T_PARTNER_FLOWS, {k: week.flows for k, (week, _) in weeks.items()})
        warehouse.replace_partitions(T_REQUESTS, {k: week.requests for k, (week, _) in weeks.items()})
        warehouse.replace_partitions(T_AVAILABILITY, {k: availability for k, (_, availability) in weeks.items()})
        quarantine.write_staging(
            warehouse,
            T_PARTNER_FLOWS,
            {k: quarantine.frame(week.quarantined, T_PARTNER_FLOWS) for k, (week, _) in weeks.items()},
        )
    for key, (week, _) in weeks.items():
        for item in week.quarantined[:20]:
            context.log.warning(f"{key}: quarantined {item.action} ({item.reason_code}) {item.reason} — {item.request}")
    requests = pl.concat(all_requests) if all_requests else pl.DataFrame(schema=REQUEST_SCHEMA)
    cols = ["week", "kind", "reporter_code", "flow", "year", "status", "error"]
    checks = [
        _check(
            "no_zero_records",
            rules.requests_with_status(requests, ["empty", "not_released"], cols),
            "requested reporter/flow/year without rows (or no year released)",
        ),
        _check(
            "no_partial_http_failure",
            rules.requests_with_status(requests, ["failed"], cols),
            "Comtrade requests failed",
        ),
        _check(
            "no_truncation",
            rules.requests_with_status(requests, ["truncated"], cols),
            "responses reached the record cap; rows kept and flagged 'truncated'",
        ),
    ]
    refused = [
        {
            "week": k,
            "reason_code": q.reason_code,
            "action": q.action,
            "reason": q.reason,
            "group": dict(q.group),
            "request": q.request,
        }
        for k, (week, _) in weeks.items()
        for q in week.quarantined
    ]
    checks.append(
        _check(
            "no_quarantined_rows",
            [r for r in refused if r["action"] != "collapsed"],
            "wire rows refused; their reporter/flow/year groups carry 'quarantined_rows'",
        )
    )
    over = []
    for k, (week, _) in weeks.items():
        bad = metrics.partners_vs_world(week.flows).filter(pl.col("exceeds"))
        if bad.height:
            over.append(
                week.flows.join(
                    bad.select(*GROUP_COLS, "partners_usd", "world_usd").cast(
                        {c: week.flows.schema[c] for c in GROUP_COLS}
                    ),
                    on=GROUP_COLS,
                ).with_columns(week=pl.lit(k))
            )
    over_df = pl.concat(over) if over else pl.DataFrame(schema={"week": pl.Utf8, "review_flags": pl.Utf8})
    checks.append(
        rules.invariant_result(
            "partners_within_world",
            over_df,
            pl.lit(True),
            ["week", "reporter_code", "flow", "year", "partners_usd", "world_usd"],
            "partners sum to more than World",
        )
    )
    flows = pl.concat(flows_total) if flows_total else pl.DataFrame()
    add_week_metadata(
        context,
        week_rows(
            {k: w.flows for k, (w, _) in weeks.items()},
            T_PARTNER_FLOWS,
            **{
                T_REQUESTS: {k: w.requests for k, (w, _) in weeks.items()},
                T_AVAILABILITY: {k: a for k, (_, a) in weeks.items()},
            },
        ),
    )
    return _result(
        {T_PARTNER_FLOWS: flows, T_REQUESTS: requests},
        T_PARTNER_FLOWS,
        checks,
        quarantined_by_week={k: len(week.quarantined) for k, (week, _) in weeks.items()},
        years_by_week=facts,
        endpoint=comtrade.endpoint_label(),
        network_requests=comtrade.http.stats.network_requests,
        cold_week_requests=comtrade.requests_per_cold_week(len(ALL_REPORTERS)),
    )


@table_asset(
    side_tables={
        T_COMMODITY_REQUESTS: "One row per Comtrade HS2 request of the week (reporter × flow × year): status, rows, "
        "request id, error."
    },
    name=T_COMMODITY_FLOWS,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[T_PARTNER_FLOWS],
    description="UN Comtrade HS2 chapter totals against World per reporter × flow × year, for the years the week's "
    "comtrade_partner_flows selected (490 stands for Taiwan's own filing). Rows pass the same wire "
    "schema; refused rows go to quarantine_staging_comtrade_commodity_flows and flag their group.",
    metadata={"wire_schema": schema_metadata()},
    check_specs=[
        _spec(T_COMMODITY_FLOWS, "no_partial_http_failure", "[REVIEW_NEEDED] some HS2 requests failed"),
        _spec(T_COMMODITY_FLOWS, "no_truncation", "[REVIEW_NEEDED] an HS2 response hit the record cap"),
    ],
)
def comtrade_commodity_flows(
    context: AssetExecutionContext, comtrade: ComtradeClient, warehouse: Warehouse
) -> MaterializeResult:
    return _comtrade_commodity_flows(context, comtrade, warehouse)


def _comtrade_commodity_flows(
    context: AssetExecutionContext, comtrade: ComtradeClient, warehouse: Warehouse
) -> MaterializeResult:
    frames, logs, out = [], [], {}
    keys = sorted(context.partition_keys)
    with warehouse.session(read_only=True):
        cache = warehouse.partition_cache([T_AVAILABILITY], keys)
        availabilities = {key: _read(warehouse, T_AVAILABILITY, key, cache) for key in keys}
    for key in keys:  # fetch outside the session: no warehouse lock held while fetching
        availability = availabilities[key]
        released = (
            {(r["reporter_code"], r["year"]) for r in availability.iter_rows(named=True) if r["released_by_as_of"]}
            if not availability.is_empty()
            else set()
        )
        log, rows, replies, items = RequestLog(), [], [], []
        for reporter in ALL_REPORTERS:
            years = select_years(released, reporter)
            if not years:
                continue
            replies += [
                (reporter, years, r)
                for r in _guarded(
                    log,
                    "hs2_world",
                    reporter,
                    years,
                    comtrade.endpoint_label(),
                    lambda reporter=reporter, years=years: comtrade.hs2_world(reporter, FLOWS, years),
                )
            ]
        check_replies([r for _, _, r in replies], T_COMMODITY_FLOWS)  # one schema pass over every new reply
        for reporter, years, result in replies:
            refused = [] if result.failed else quarantined(result, T_COMMODITY_FLOWS)
            refused += unreadable_item(result, reporter, T_COMMODITY_FLOWS)
            parsed = [] if result.failed else commodity_rows(result)
            log.record(result, reporter, years, parsed, flow_key="flow", quarantined=refused)
            rows += parsed
            items += refused
        frame, duplicates = commodity_frame_and_quarantine(rows)
        items += duplicates
        frame = quarantine.flag_groups(
            frame, quarantine.flagged_group_keys(items, T_COMMODITY_FLOWS, GROUP_COLS), GROUP_COLS
        )
        out[key] = (frame, log.frame(), items)
        frames.append(frame)
        logs.append(log.frame().with_columns(week=pl.lit(key)))
    with warehouse.session():  # each table's weeks: delete + insert in one transaction
        warehouse.replace_partitions(T_COMMODITY_FLOWS, {k: frame for k, (frame, _, _) in out.items()})
        warehouse.replace_partitions(T_COMMODITY_REQUESTS, {k: log_frame for k, (_, log_frame, _) in out.items()})
        quarantine.write_staging(
            warehouse,
            T_COMMODITY_FLOWS,
            {k: quarantine.frame(items, T_COMMODITY_FLOWS) for k, (_, _, items) in out.items()},
        )
    requests = pl.concat(logs) if logs else pl.DataFrame(schema=REQUEST_SCHEMA)
    cols = ["week", "reporter_code", "flow", "year", "status", "error"]
    checks = [
        _check(
            "no_partial_http_failure", rules.requests_with_status(requests, ["failed"], cols), "HS2 requests failed"
        ),
        _check(
            "no_truncation",
            rules.requests_with_status(requests, ["truncated"], cols),
            "HS2 responses reached the record cap",
        ),
    ]
    add_week_metadata(
        context,
        week_rows(
            {k: f for k, (f, _, _) in out.items()},
            T_COMMODITY_FLOWS,
            **{T_COMMODITY_REQUESTS: {k: lf for k, (_, lf, _) in out.items()}},
        ),
    )
    return _result({T_COMMODITY_FLOWS: pl.concat(frames) if frames else pl.DataFrame()}, T_COMMODITY_FLOWS, checks)


def _week_inputs(warehouse: Warehouse, key: str, cache: PartitionCache | None = None) -> tuple[pl.DataFrame, dict]:
    flows = _read(warehouse, T_PARTNER_FLOWS, key, cache)
    requests = _read(warehouse, T_REQUESTS, key, cache)
    return flows, (expected_flags(requests) if not requests.is_empty() else {})


@asset(
    name=T_RANKINGS,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[T_PARTNER_FLOWS],
    description="Top-20 partners per reporter × flow × single year with shares of the non-aggregate partner total, "
    "YoY of value/share/rank; Taiwan (158) from mirror statistics.",
    check_specs=[
        _spec(T_RANKINGS, "unique_ranks", "[REVIEW_NEEDED] duplicate ranks within a reporter/flow/year"),
        _spec(T_RANKINGS, "yoy_within_50pct", "[REVIEW_NEEDED] a partner's value moved more than 50 % year on year"),
        _spec(T_RANKINGS, "truncated_rows_flagged", "every ranking from a truncated response carries the flag"),
        _invariant(T_RANKINGS, "shares_within_0_100", "every partner share is within 0–100 %"),
    ],
)
def partner_rankings(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session():
        return _partner_rankings(context, warehouse)


def _partner_rankings(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    out, frames = [], {}
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_PARTNER_FLOWS, T_REQUESTS], keys)
    for key in keys:
        flows, expected = _week_inputs(warehouse, key, cache)
        ranked = (
            metrics.rankings(flows, expected) if not flows.is_empty() else pl.DataFrame(schema=metrics.RANKING_SCHEMA)
        )
        ranked = rules.flag_where(ranked, rules.share_out_of_range("share_pct"), "share_out_of_range")
        frames[key] = ranked
        out.append(ranked.with_columns(week=pl.lit(key)))
    warehouse.replace_partitions(T_RANKINGS, frames)
    df = pl.concat(out) if out else pl.DataFrame(schema=metrics.RANKING_SCHEMA)
    dup = rules.duplicate_ranks(df)
    cols = ["week", "reporter_code", "flow", "year", "rank", "partner_code", "yoy_pct"]
    checks = [
        _check("unique_ranks", dup, "duplicate ranks"),
        _check("yoy_within_50pct", _rows_with_flag(df, "yoy_gt_50pct", cols), "partners with |YoY| > 50 %"),
        _check(
            "truncated_rows_flagged",
            _unflagged_truncation(warehouse, df, keys, cache),
            "rows built from truncated responses without the flag",
        ),
        rules.invariant_result(
            "shares_within_0_100",
            df,
            rules.share_out_of_range("share_pct"),
            cols + ["share_pct"],
            "a share is outside 0–100 %",
        ),
    ]
    add_week_metadata(context, week_rows(frames, T_RANKINGS))
    return _result({T_RANKINGS: df}, T_RANKINGS, checks)


def _unflagged_truncation(
    warehouse: Warehouse, df: pl.DataFrame, keys: list[str], cache: PartitionCache | None = None
) -> list[dict]:
    """Rows whose inputs were truncated but whose review_flags lack 'truncated' (must be empty)."""
    problems = []
    for key in keys:
        flows = _read(warehouse, T_PARTNER_FLOWS, key, cache)
        if flows.is_empty():
            continue
        tainted = {
            (r["reporter_code"], r["flow"], r["year"])
            for r in flows.filter(pl.col("review_flags").fill_null("").str.contains("truncated")).iter_rows(named=True)
        }
        for r in df.filter(pl.col("week") == key).iter_rows(named=True):
            if (r["reporter_code"], r["flow"], r["year"]) in tainted and "truncated" not in (r["review_flags"] or ""):
                problems.append(
                    {"week": key, "reporter_code": r["reporter_code"], "flow": r["flow"], "year": r["year"]}
                )
    return problems


@asset(
    name=T_BALANCES,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[T_PARTNER_FLOWS],
    description="Export − import per reporter × partner × single year (順差/逆差/平衡), partner 0 = overall balance.",
    check_specs=[
        _invariant(T_BALANCES, "balance_equals_export_minus_import", "balance = exports − imports"),
        _spec(T_BALANCES, "both_flows_present", "[REVIEW_NEEDED] a balance built while one flow is missing"),
    ],
)
def trade_balances(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session():
        return _trade_balances(context, warehouse)


def _trade_balances(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    out, frames = [], {}
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_PARTNER_FLOWS, T_REQUESTS], keys)
    for key in keys:
        flows, expected = _week_inputs(warehouse, key, cache)
        bal = metrics.balances(flows, expected) if not flows.is_empty() else pl.DataFrame(schema=metrics.BALANCE_SCHEMA)
        # cannot happen by construction; if it does, flag, never hide
        bal = rules.flag_where(bal, rules.balance_wrong(), "balance_mismatch")
        frames[key] = bal
        out.append(bal.with_columns(week=pl.lit(key)))
    warehouse.replace_partitions(T_BALANCES, frames)
    df = pl.concat(out) if out else pl.DataFrame(schema=metrics.BALANCE_SCHEMA)
    cols = ["week", "reporter_code", "partner_code", "year", "export_usd", "import_usd", "balance_usd"]
    missing = (
        [
            r
            for r in df.filter(
                pl.col("is_world") & pl.col("review_flags").str.contains("zero_records|partial_http_failure")
            )
            .select(cols)
            .iter_rows(named=True)
        ]
        if df.height
        else []
    )
    checks = [
        rules.invariant_result(
            "balance_equals_export_minus_import",
            df,
            rules.balance_wrong(),
            cols,
            "balance differs from export − import",
        ),
        _check("both_flows_present", missing, "reporter-years with a flow missing"),
    ]
    add_week_metadata(context, week_rows(frames, T_BALANCES))
    return _result({T_BALANCES: df}, T_BALANCES, checks)


@asset(
    name=T_CONCENTRATION,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[T_PARTNER_FLOWS],
    description="HHI (0–10,000, Σ share² over non-aggregate partners), level 低/中/高, top-3 share, partner count "
    "per reporter × flow × single year, vs the previous year and last week's partition. Taiwan = 158 "
    "(mirror statistics), 490 = Taiwan's own filing.",
    check_specs=[
        _invariant(T_CONCENTRATION, "hhi_in_range", "HHI within [10,000 / partner_count, 10,000]"),
        _invariant(T_CONCENTRATION, "top3_share_within_100", "top-3 share within 0–100 %"),
        _spec(T_CONCENTRATION, "yoy_within_50pct", "[REVIEW_NEEDED] a total moved more than 50 % year on year"),
        _spec(T_CONCENTRATION, "years_within_2x", "[REVIEW_NEEDED] a reporter's two years differ by more than 2×"),
        _spec(T_CONCENTRATION, "no_truncated_metric", "[REVIEW_NEEDED] a metric computed from truncated data"),
        _spec(T_CONCENTRATION, "no_missing_groups", "[REVIEW_NEEDED] a requested reporter/flow/year has no metric"),
        _spec(T_CONCENTRATION, "taiwan_mirror_present", "Taiwan (158) appears with the mirror label"),
    ],
)
def market_concentration(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session():  # weeks in ascending order: last week's partition is stored before it is read
        return _market_concentration(context, warehouse)


def _market_concentration(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    out = []
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_PARTNER_FLOWS, T_REQUESTS], keys)
    for key in keys:
        flows, expected = _week_inputs(warehouse, key, cache)
        # not prefetched: last week's partition of this very table may be the one this loop just wrote
        prev = _read(warehouse, T_CONCENTRATION, previous_partition_key(key))
        conc = (
            metrics.concentration(flows, prev, expected)
            if not flows.is_empty() or expected
            else pl.DataFrame(schema=metrics.CONCENTRATION_SCHEMA)
        )
        conc = rules.flag_where(conc, rules.hhi_out_of_bounds(), "hhi_out_of_range")
        conc = rules.flag_where(conc, rules.share_out_of_range("top3_share_pct"), "share_out_of_range")
        warehouse.replace_partition(T_CONCENTRATION, key, conc)
        out.append(conc.with_columns(week=pl.lit(key)))
        add_week_metadata(context, week_rows({key: conc}, T_CONCENTRATION))
    df = pl.concat(out) if out else pl.DataFrame(schema=metrics.CONCENTRATION_SCHEMA)
    cols = ["week", "reporter_code", "flow", "year", "hhi", "total_yoy_pct", "review_flags"]
    taiwan = df.filter((pl.col("reporter_code") == TAIWAN_ISO_CODE) & pl.col("is_mirror")) if df.height else df
    weeks_without_taiwan = [
        {"week": k}
        for k in sorted(context.partition_keys)
        if taiwan.is_empty() or taiwan.filter(pl.col("week") == k).is_empty()
    ]
    checks = [
        rules.invariant_result(
            "hhi_in_range",
            df,
            rules.hhi_out_of_bounds(),
            cols + ["partner_count"],
            "HHI is outside [10,000 / partner_count, 10,000]",
        ),
        rules.invariant_result(
            "top3_share_within_100",
            df,
            rules.share_out_of_range("top3_share_pct"),
            cols + ["top3_share_pct"],
            "the top-3 share is outside 0–100 %",
        ),
        _check("yoy_within_50pct", _rows_with_flag(df, "yoy_gt_50pct", cols), "totals with |YoY| > 50 %"),
        _check("years_within_2x", _rows_with_flag(df, "years_differ_2x", cols), "two years differ > 2×"),
        _check(
            "no_truncated_metric",
            _rows_with_flag(df, "truncated", cols),
            "metrics computed from truncated responses (flagged [REVIEW_NEEDED])",
        ),
        _check(
            "no_missing_groups",
            _rows_with_flag(df, "zero_records", cols) + _rows_with_flag(df, "partial_http_failure", cols),
            "requested groups without data",
        ),
        _check("taiwan_mirror_present", weeks_without_taiwan, "weeks without a Taiwan mirror row"),
    ]
    return _result({T_CONCENTRATION: df}, T_CONCENTRATION, checks)


@asset(
    name=T_COMMODITY,
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    deps=[T_COMMODITY_FLOWS],
    description="HS2 chapter structure per reporter × flow × single year: value, share of the chapters' sum, rank, YoY.",
    check_specs=[
        _spec(T_COMMODITY, "shares_sum_to_100", "[REVIEW_NEEDED] chapter shares of a group do not sum to 100 %"),
        _spec(T_COMMODITY, "no_truncated_metric", "[REVIEW_NEEDED] structure computed from truncated data"),
        _invariant(T_COMMODITY, "shares_within_0_100", "every chapter share is within 0–100 %"),
    ],
)
def commodity_structure(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    with warehouse.session():
        return _commodity_structure(context, warehouse)


def _commodity_structure(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    out, frames = [], {}
    keys = sorted(context.partition_keys)
    cache = warehouse.partition_cache([T_COMMODITY_FLOWS], keys)
    for key in keys:
        comm = metrics.commodity_structure(
            _read(warehouse, T_COMMODITY_FLOWS, key, cache).pipe(
                lambda d: d if not d.is_empty() else pl.DataFrame(schema=commodity_frame([]).schema)
            )
        )
        comm = rules.flag_where(comm, rules.share_out_of_range("share_pct"), "share_out_of_range")
        frames[key] = comm
        out.append(comm.with_columns(week=pl.lit(key)))
    warehouse.replace_partitions(T_COMMODITY, frames)
    df = pl.concat(out) if out else pl.DataFrame(schema=metrics.COMMODITY_SCHEMA)
    sums = (
        (
            df.group_by(["week", "reporter_code", "flow", "year"])
            .agg(pl.col("share_pct").sum().alias("s"))
            .filter((pl.col("s") - 100).abs() > 0.01)
            .to_dicts()
        )
        if df.height
        else []
    )
    checks = [
        _check("shares_sum_to_100", sums, "shares do not sum to 100 %"),
        _check(
            "no_truncated_metric",
            _rows_with_flag(df, "truncated", ["week", "reporter_code", "flow", "year"]),
            "HS2 structure from truncated responses",
        ),
        rules.invariant_result(
            "shares_within_0_100",
            df,
            rules.share_out_of_range("share_pct"),
            ["week", "reporter_code", "flow", "year", "hs2", "share_pct"],
            "a chapter share is outside 0–100 %",
        ),
    ]
    add_week_metadata(context, week_rows(frames, T_COMMODITY))
    return _result({T_COMMODITY: df}, T_COMMODITY, checks)


@asset(
    name="bilateral_extractor_files",
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"markdown"},
    owners=OWNERS,
    deps=[T_RANKINGS, T_BALANCES, T_CONCENTRATION, T_COMMODITY],
    description="Extractor markdown under Extractor/bilateral_trade_flows/{export_flow,import_flow,trade_balance,"
    "market_concentration,commodity_structure}/<reporter>-<view>-<year>.md, rendered from the week's "
    "DuckDB rows (latest week of the run wins on disk).",
)
def bilateral_extractor_files(context: AssetExecutionContext, warehouse: Warehouse, site: Site) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    written: list[str] = []
    final: set[str] = set()
    with warehouse.session(read_only=True):  # reads only
        # Newest week first: a file the run's latest week that has it already wrote is final on disk ("latest week
        # of the run wins"), so older weeks skip it instead of rendering and writing it to be overwritten.
        cache = warehouse.partition_cache([T_RANKINGS, T_CONCENTRATION, T_BALANCES, T_COMMODITY], keys)
        for key in reversed(keys):
            covered: list[str] = []  # the week's files, written now or already final from a later week
            paths = write_extractor_files(warehouse, site, key, skip=final, cache=cache, covered=covered)
            if key == keys[-1]:
                written = paths
            final.update(paths)
            add_week_metadata(context, {key: {"dagster/row_count": len(covered), "files_written": len(paths)}})
    listing = pl.DataFrame({"path": written})
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(written),
            "dagster/column_schema": _schema(listing),
            "files": MetadataValue.json(written[:200]),
        }
    )


def write_extractor_files(
    warehouse: Warehouse,
    site: Site,
    key: str,
    skip: set[str] | frozenset[str] = frozenset(),
    cache: PartitionCache | None = None,
    covered: list[str] | None = None,
) -> list[str]:
    """Write the week's Extractor files (except the site-relative paths in ``skip``); return the paths written.
    ``covered`` receives every path of the week, skipped or not."""
    ranks = _read(warehouse, T_RANKINGS, key, cache)
    conc = _read(warehouse, T_CONCENTRATION, key, cache)
    bal = _read(warehouse, T_BALANCES, key, cache)
    comm = _read(warehouse, T_COMMODITY, key, cache)
    written = []

    def put(path: str, render) -> None:  # noqa: ANN001 - () -> str, called only when the file is written
        if covered is not None:
            covered.append(path)
        if path in skip:
            return
        site.write(path, render())
        written.append(path)

    if not ranks.is_empty():
        for (reporter, flow, year), g in ranks.group_by(["reporter_code", "flow", "year"]):
            view = "export_flow" if flow == "X" else "import_flow"

            def flow_doc(reporter=reporter, flow=flow, year=year, g=g) -> str:
                c = conc.filter(
                    (pl.col("reporter_code") == reporter) & (pl.col("flow") == flow) & (pl.col("year") == year)
                )
                return extractor.render_flow(key, reporter, flow, year, g, c.row(0, named=True) if c.height else None)

            put(contract.comtrade_extractor_path(view, reporter, year), flow_doc)
    if not conc.is_empty():
        for (reporter, year), g in conc.group_by(["reporter_code", "year"]):
            put(
                contract.comtrade_extractor_path("market_concentration", reporter, year),
                lambda reporter=reporter, year=year, g=g: extractor.render_concentration(key, reporter, year, g),
            )
    if not bal.is_empty():
        for (reporter, year), g in bal.group_by(["reporter_code", "year"]):
            put(
                contract.comtrade_extractor_path("trade_balance", reporter, year),
                lambda reporter=reporter, year=year, g=g: extractor.render_balance(key, reporter, year, g),
            )
    if not comm.is_empty():
        for (reporter, year), g in comm.group_by(["reporter_code", "year"]):
            put(
                contract.comtrade_extractor_path("commodity_structure", reporter, year),
                lambda reporter=reporter, year=year, g=g: extractor.render_commodity(key, reporter, year, g),
            )
    return sorted(written)


ASSETS = [
    comtrade_partner_flows,
    comtrade_commodity_flows,
    partner_rankings,
    trade_balances,
    market_concentration,
    commodity_structure,
    bilateral_extractor_files,
]
