"""Assets of the policy_exposure layer: controlled items → HS 2022 subheadings → how much trade each measure touches.

controlled_hs_map ─────────────────────────────┐
comtrade_partner_flows (availability) ─┐       │
                                       ├─ policy_exposure_inputs ─┬─ policy_trade_exposure (+ watch list)
census release calendar ───────────────┘       mofcom_controls ───┘

``policy_exposure_inputs`` sends the new requests through the source clients (same HTTP layer: live/record/replay,
response cache, retries, the Comtrade keyed-call quota guard) and writes the normalized rows
(``comtrade_cn_hs6_exports``, ``census_hs6_imports``) with one request-log row per request
(``policy_exposure_requests``: status, rows kept, rows rejected at the parse boundary with their reasons).
Point in time: China's latest Comtrade year released by the week's as-of instant (the week's
``comtrade_data_availability`` rows), the newest Census month released by the week's end (release calendar).
"""

import json

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

from trade_pipeline.core import contract
from trade_pipeline.core.partitions import as_of_instant, iso_week_label, weekly_partitions
from trade_pipeline.core.table_assets import table_asset
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.core.week_metadata import add_week_metadata, week_rows
from trade_pipeline.defs.bilateral_trade_flows.fetch import released_pairs, select_years
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.policy_exposure import exposure as rules
from trade_pipeline.defs.policy_exposure.mapping import MAP_COLUMNS, all_codes, load_map
from trade_pipeline.defs.us_trade_census.resources import CensusAuthError, CensusTradeClient

GROUP = "policy_exposure"
OWNERS = ["team:trade-intel"]
CHECK_EXPOSURE = "exposure_figures_complete"


def _schema(columns: dict[str, pl.DataType]) -> TableSchema:
    return TableSchema(columns=[TableColumn(n, str(t)) for n, t in columns.items()])


def _frame(rows: list[dict], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return (pl.DataFrame(rows, schema=columns) if rows else pl.DataFrame(schema=columns)).select(list(columns))


@asset(
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    description="Controlled item → HS 2022 subheading mapping (data: defs/policy_exposure/controlled_hs_map.csv), "
    "one row per item × subheading with its basis (the announcement's own codes, else a named "
    "concordance), loaded per week so the report can join it.",
)
def controlled_hs_map(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
    mapping = load_map()
    keys = sorted(context.partition_keys)
    with warehouse.session():
        warehouse.replace_partitions(contract.CONTROLLED_HS_MAP, {k: mapping for k in keys})
    add_week_metadata(context, week_rows({k: mapping for k in keys}))
    return MaterializeResult(
        metadata={
            "dagster/row_count": mapping.height * len(keys),
            "dagster/column_schema": _schema(MAP_COLUMNS),
            "hs6_codes": len(all_codes(mapping)),
        }
    )


def _request_row(
    source: str,
    kind: str,
    year: int | None,
    first: int | None,
    last: int | None,
    codes: list[str],
    endpoint: str,
    status: str,
    kept: int,
    rejected: list[dict],
    truncated: bool,
    request_id: str,
    request: str,
    error: str,
    fetched_at: str,
) -> dict:
    return {
        "source": source,
        "kind": kind,
        "year": year,
        "first_month": first,
        "last_month": last,
        "codes": ",".join(codes),
        "endpoint": endpoint,
        "status": status,
        "row_count": kept,
        "rejected_count": len(rejected),
        "rejected_rows": json.dumps(rejected, ensure_ascii=False) if rejected else "",
        "truncated": truncated,
        "request_id": request_id,
        "request": request,
        "error": error,
        "fetched_at": fetched_at,
    }


def _fetch_comtrade(comtrade: ComtradeClient, codes: list[str], year: int) -> tuple[list, list]:
    """(rows, request-log rows) of China's HS6 exports in ``year``. The requests are answered once per run (a week
    asking them again gets the same results), and the rows built from those results once per run, keyed by the
    results themselves (``SourceHttp.per_run``): shared by the weeks, read-only."""
    results = tuple(comtrade.hs6_exports(rules.CHINA, codes, year))
    return comtrade.http.per_run(_comtrade_exposure, results, tuple(codes), year)


def _comtrade_exposure(results: tuple, codes: tuple[str, ...], year: int) -> tuple[list, list]:
    rows, log = [], []
    for result in results:
        asked = (
            _param(result.request_key, "cmdCode").split(",") if _param(result.request_key, "cmdCode") else list(codes)
        )
        failed = bool(result.failed)
        kept, rejected = ([], []) if failed else rules.comtrade_rows(result, asked, year)
        flags = (["truncated"] if result.truncated else []) + (["quarantined_rows"] if rejected else [])
        for r in kept:
            r["review_flags"] = contract.join_flags([*contract.split_flags(r["review_flags"]), *flags])
        rows += kept
        status = "failed" if failed else "truncated" if result.truncated else ("ok" if kept else "empty")
        log.append(
            _request_row(
                "comtrade",
                "hs6_exports",
                year,
                None,
                None,
                asked,
                result.endpoint,
                status,
                len(kept),
                rejected,
                not failed and bool(result.truncated),
                "" if failed else result.request_id,
                result.request_key,
                (result.error or "") if failed else "",
                "" if failed else result.fetched_at,
            )
        )
    return rows, log


def _param(request_key: str, name: str) -> str:
    query = request_key.split("?", 1)[1].split(" | ")[0] if "?" in request_key else ""
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == name:
            return v
    return ""


def _fetch_census(census: CensusTradeClient, codes: list[str], year: int, first: int, last: int) -> tuple[list, list]:
    """(rows, request-log rows) of US HS6 imports, months first..last of ``year``: one request, answered once per
    run; the rows built from its fetch once per run, keyed by the fetch itself (``SourceHttp.per_run``)."""
    fetch = census.hs6_imports(codes, year, first, last)
    return census.http.per_run(_census_exposure, fetch, tuple(codes), year, first, last)


def _census_exposure(fetch, codes: tuple[str, ...], year: int, first: int, last: int) -> tuple[list, list]:  # noqa: ANN001
    codes = list(codes)
    failed = fetch.status == "failed"
    kept, rejected = ([], []) if failed else rules.census_rows(fetch, codes)
    if rejected:
        for r in kept:
            r["review_flags"] = contract.join_flags([*contract.split_flags(r["review_flags"]), "quarantined_rows"])
    return kept, [
        _request_row(
            "census",
            "hs6_imports",
            year,
            first,
            last,
            codes,
            "hs",
            fetch.status if fetch.status != "ok" or kept else "empty",
            len(kept),
            rejected,
            False,
            "" if failed else fetch.request_id,
            fetch.request_key,
            fetch.error if failed else "",
            "" if failed else fetch.fetched_at,
        )
    ]


def week_plan(key: str, availability: pl.DataFrame, census: CensusTradeClient) -> tuple[int | None, tuple[int, int]]:
    """(China's latest Comtrade year released by the as-of instant or None, newest Census month released)."""
    released = released_pairs(availability, key) if availability.height else set()
    years = select_years(released, rules.CHINA)
    return (years[-1] if years else None), census.latest_released_month(as_of_instant(key).date())


@table_asset(
    side_tables={
        contract.COMTRADE_CN_HS6_EXPORTS: "UN Comtrade China (156) exports of each controlled HS6 code to World and "
        "the five reporters, China's latest released year.",
        contract.CENSUS_HS6_IMPORTS: "US Census imports of each controlled HS6 code from China and all countries, "
        "monthly, latest year to date and the year before.",
        contract.EXPOSURE_REQUESTS: "One row per exposure request (Comtrade/Census): status, rows, rejected rows "
        "with reasons, truncation, request id, error.",
    },
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    deps=["comtrade_partner_flows", controlled_hs_map],
    description="New requests for the controlled HS6 codes: UN Comtrade China (156) exports to World and the five "
    "reporters (keyed: the whole code list in one call per year; preview: one code per call, capped "
    "replies flagged) and US Census imports at HS6 from China and all countries, monthly, for the "
    "latest year to date and the year before. Writes comtrade_cn_hs6_exports, census_hs6_imports and "
    "policy_exposure_requests.",
)
def policy_exposure_inputs(
    context: AssetExecutionContext, warehouse: Warehouse, comtrade: ComtradeClient, census: CensusTradeClient
) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    codes = all_codes(load_map())
    with warehouse.session(read_only=True):
        availability = warehouse.read_partitions(contract.COMTRADE_AVAILABILITY, keys)
    asked: set[tuple] = set()  # the distinct logical fetches of the step (for the metadata)
    cn_frames, us_frames, log_frames = {}, {}, {}
    for key in keys:  # every request first: no warehouse lock held while fetching
        cn_year, (us_year, us_month) = week_plan(key, availability[key], census)
        cn_rows, us_rows, log = [], [], []
        if cn_year is not None:
            rows, lg = _fetch_comtrade(comtrade, codes, cn_year)
            asked.add(("comtrade", cn_year))
            cn_rows += rows
            log += lg
        else:
            log.append(
                _request_row(
                    "comtrade",
                    "hs6_exports",
                    None,
                    None,
                    None,
                    codes,
                    comtrade.endpoint_label(),
                    "not_released",
                    0,
                    [],
                    False,
                    "",
                    "",
                    "no year released by the as-of instant",
                    "",
                )
            )
        try:
            for year, last in ((us_year, us_month), (us_year - 1, 12)):
                rows, lg = _fetch_census(census, codes, year, 1, last)
                asked.add(("census", year, 1, last))
                us_rows += rows
                log += lg
        except CensusAuthError:
            raise
        cn_frames[key] = _frame(cn_rows, rules.COMTRADE_COLUMNS)
        us_frames[key] = _frame(us_rows, rules.CENSUS_COLUMNS)
        log_frames[key] = _frame(log, rules.REQUEST_COLUMNS)
        context.log.info(
            f"policy_exposure {iso_week_label(key)}: China year {cn_year}, US through "
            f"{us_year}-{us_month:02d}; {len(cn_rows)} Comtrade rows, {len(us_rows)} Census rows"
        )
    with warehouse.session():
        warehouse.replace_partitions(contract.COMTRADE_CN_HS6_EXPORTS, cn_frames)
        warehouse.replace_partitions(contract.CENSUS_HS6_IMPORTS, us_frames)
        warehouse.replace_partitions(contract.EXPOSURE_REQUESTS, log_frames)
    last = log_frames[max(log_frames)]
    add_week_metadata(
        context,
        week_rows(
            {k: cn_frames[k].height + us_frames[k].height for k in cn_frames},
            **{
                contract.COMTRADE_CN_HS6_EXPORTS: cn_frames,
                contract.CENSUS_HS6_IMPORTS: us_frames,
                contract.EXPOSURE_REQUESTS: log_frames,
            },
        ),
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(f.height for f in cn_frames.values()) + sum(f.height for f in us_frames.values()),
            "dagster/column_schema": _schema(rules.COMTRADE_COLUMNS),
            "requests_latest_week": MetadataValue.json(
                {s: int(n) for s, n in last.group_by("status").len().iter_rows()} if last.height else {}
            ),
            "distinct_requests": len(asked),
            "hs6_codes": len(codes),
        }
    )


def _code_status(log: pl.DataFrame, source: str) -> dict[str, set[str]]:
    """Per HS6 code, the flags its requests earned: 'ok', or failed/truncated/quarantined."""
    out: dict[str, set[str]] = {}
    failed = "partial_http_failure" if source == "comtrade" else "partial_fetch"
    for r in log.filter(pl.col("source") == source).iter_rows(named=True) if log.height else []:
        for code in (r["codes"] or "").split(","):
            if not code:
                continue
            flags = out.setdefault(code, set())
            if r["status"] == "failed":
                flags.add(failed)
            elif r["status"] == "truncated":
                flags.add("truncated")
            else:
                flags.add("ok")
            if r["rejected_count"]:
                flags.add("quarantined_rows")
    return out


@table_asset(
    side_tables={
        contract.POLICY_EXPOSURE_WATCHLIST: "The exposure watch list: one row per rule × exposure row that crosses "
        "it (threshold, value, measure, HS6)."
    },
    partitions_def=weekly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    owners=OWNERS,
    deps=[policy_exposure_inputs, controlled_hs_map, "mofcom_controls"],
    description="Per listed measure × controlled HS6 code: China's exports in its latest released year and the "
    "share going to 842, 392, 410, 276, 490 and the rest; US imports of the code year to date, from "
    "China, China's share, and YoY. Also the exposure watch list (policy_exposure_watchlist).",
    check_specs=[
        AssetCheckSpec(
            CHECK_EXPOSURE,
            asset="policy_trade_exposure",
            description="Every exposure figure came from a complete, validated reply.",
        )
    ],
)
def policy_trade_exposure(
    context: AssetExecutionContext, warehouse: Warehouse, census: CensusTradeClient
) -> MaterializeResult:
    keys = sorted(context.partition_keys)
    frames, watch = {}, {}
    with warehouse.session():
        mapping = load_map()
        controls = warehouse.read_partitions(contract.MOFCOM_CONTROLS, keys)
        cn = warehouse.read_partitions(contract.COMTRADE_CN_HS6_EXPORTS, keys)
        us = warehouse.read_partitions(contract.CENSUS_HS6_IMPORTS, keys)
        logs = warehouse.read_partitions(contract.EXPOSURE_REQUESTS, keys)
        for key in keys:
            log = logs[key]
            cn_years = (
                sorted({y for y in log.filter(pl.col("source") == "comtrade")["year"].to_list() if y})
                if log.height
                else []
            )
            us_latest = census.latest_released_month(as_of_instant(key).date())
            frames[key] = rules.exposure_frame(
                controls=controls[key] if controls[key].height else pl.DataFrame(schema={"has_goods": pl.Boolean}),
                mapping=mapping,
                cn=cn[key],
                cn_year=cn_years[-1] if cn_years else None,
                cn_status=_code_status(log, "comtrade"),
                us=us[key],
                us_latest=us_latest,
                us_status=_code_status(log, "census"),
            )
            watch[key] = rules.watchlist_frame(frames[key])
        warehouse.replace_partitions(contract.POLICY_TRADE_EXPOSURE, frames)
        warehouse.replace_partitions(contract.POLICY_EXPOSURE_WATCHLIST, watch)
    flagged = {
        iso_week_label(k): int(
            f.filter(
                pl.col("review_flags")
                .str.split(";")
                .list.eval(pl.element().is_in(contract.quality_flags(contract.FLAGS)))
                .list.any()
            ).height
        )
        for k, f in frames.items()
        if f.height
    }
    bad = {k: v for k, v in flagged.items() if v}
    add_week_metadata(context, week_rows(frames, **{contract.POLICY_EXPOSURE_WATCHLIST: watch}))
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(f.height for f in frames.values()),
            "dagster/column_schema": _schema(rules.EXPOSURE_COLUMNS),
            "rows/policy_exposure_watchlist": sum(f.height for f in watch.values()),
            "quality_flagged_rows": MetadataValue.json(flagged),
        },
        check_results=[
            AssetCheckResult(
                check_name=CHECK_EXPOSURE,
                passed=not bad,
                severity=AssetCheckSeverity.WARN,
                metadata={
                    "weeks_with_flagged_rows": MetadataValue.json(bad),
                    "meaning": "a figure came from a failed, capped or partly rejected reply → [REVIEW_NEEDED]",
                },
            )
        ],
    )


ASSETS = [controlled_hs_map, policy_exposure_inputs, policy_trade_exposure]
