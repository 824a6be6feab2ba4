"""From validated Census records to the layer's tables (pure functions, polars in, polars out).

One rule for every year-to-date figure: the sum of the stored monthly values from January through the month
(the API's own *_VAL_YR is kept as ``api_ytd_usd`` and only used to flag disagreement), so the monthly table, the
balance and the country detail can never print the same YTD two ways.

Incomplete input is never computed as complete. The layer knows what a week must hold (``expected_months`` × the
five partners × both flows × country total and HS2 chapters) and records it cell by cell in ``coverage``
(census_series_coverage): answered, derived, or missing with the reason. A sum over a month that is missing or NULL
(suppressed, quarantined) is NULL, never a smaller number, and every row computed from such a month carries the
reason as a QUALITY flag; a chapter absent from an *answered* HS2 reply had no trade that month (0). Flags are
carried along the lineage declared in ``core.contract.LINEAGE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from trade_pipeline.core import contract, quarantine
from trade_pipeline.core.hs_chapters import hs2_name_en, hs2_name_zh
from trade_pipeline.defs.us_trade_census.release_calendar import next_month
from trade_pipeline.defs.us_trade_census.resources import FLOWS, PARTNERS, CensusFetch

MOM_THRESHOLD_PCT = 30.0
# |MoM| above the threshold is flagged for country totals and for chapters that matter (either month ≥ USD 100 M);
# small chapters swing by more than 30 % every month and would bury the signal.
MOM_MATERIAL_USD = 100_000_000.0
# Totals vs sum of HS2 chapters: Census HS2 chapters add up to the total exactly; allow rounding noise only.
TOTAL_TOLERANCE_ABS_USD = 1_000_000.0
TOTAL_TOLERANCE_REL = 0.001
YTD_TOLERANCE_ABS_USD = 1_000_000.0
TOP_N_CHAPTERS = 10
KEY = ["cty_code", "flow", "year", "month", "hs2"]
SERIES = ["cty_code", "flow", "hs2"]
CELL = ["cty_code", "flow", "year", "month", "level"]
LEVELS = ("TOTAL", "HS2")
QUALITY_CODES = sorted(code for code, f in contract.FLAGS.items() if f.kind == contract.QUALITY)

MONTHLY_SCHEMA = {
    "cty_code": pl.Utf8,
    "cty_name": pl.Utf8,
    "cty_name_zh": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "month": pl.Int32,
    "hs2": pl.Utf8,
    "hs2_desc": pl.Utf8,
    "hs2_desc_zh": pl.Utf8,
    "value_usd": pl.Float64,
    "ytd_usd": pl.Float64,
    "api_ytd_usd": pl.Float64,
    "mom_pct": pl.Float64,
    "yoy_pct": pl.Float64,
    "request_id": pl.Utf8,
    "fetched_at": pl.Utf8,
    "review_flags": pl.Utf8,
}
COVERAGE_SCHEMA = {
    "cty_code": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "month": pl.Int32,
    "level": pl.Utf8,
    "status": pl.Utf8,
    "rows": pl.Int32,
    "review_flags": pl.Utf8,
}


@dataclass
class WeekDiagnostics:
    """What the asset checks report for one week, and the week's expected-series coverage."""

    latest: tuple[int, int]
    requests: int = 0
    failed_requests: list[str] = field(default_factory=list)
    no_data_requests: list[str] = field(default_factory=list)
    missing_series: list[str] = field(default_factory=list)  # "5830 import 2025-10 TOTAL"
    mom_flags: list[str] = field(default_factory=list)
    total_mismatches: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # "export/HS2/… row 7 rejected: reason"
    merged_duplicates: int = 0
    coverage: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=COVERAGE_SCHEMA))
    quarantine: list[quarantine.Quarantined] = field(default_factory=list)


def expected_months(latest: tuple[int, int]) -> list[tuple[int, int]]:
    """Months a week must hold: all of the previous year and the latest year through the latest month."""
    out, cur = [], (latest[0] - 1, 1)
    while cur <= latest:
        out.append(cur)
        cur = next_month(*cur)
    return out


def _flag(cond: pl.Expr, code: str) -> pl.Expr:
    return pl.when(cond).then(pl.lit(code)).otherwise(pl.lit(None, dtype=pl.Utf8))


def _codes(col: str | pl.Expr) -> pl.Expr:
    """';'-joined flags → list of codes (blanks dropped)."""
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != ""))


def _quality(col: str | pl.Expr) -> pl.Expr:
    """The QUALITY codes of a ';'-joined flag column, as a list (they propagate; NOTICE codes stay on their row)."""
    return _codes(col).list.eval(pl.element().filter(pl.element().is_in(QUALITY_CODES)))


_EMPTY = pl.lit([], dtype=pl.List(pl.Utf8))


def _joined(*lists: pl.Expr) -> pl.Expr:
    """Lists of codes → one sorted, de-duplicated ';'-joined string ('' when none)."""
    lists = tuple(x.fill_null(_EMPTY) for x in lists)
    return (
        pl.concat_list(lists)
        .list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))
        .list.unique()
        .list.sort()
        .list.join(";")
    )


def _level(hs2: pl.Expr) -> pl.Expr:
    return pl.when(hs2 == "TOTAL").then(pl.lit("TOTAL")).otherwise(pl.lit("HS2"))


def records_frame(fetches: list[CensusFetch], latest: tuple[int, int]) -> pl.DataFrame:
    """Validated records of every fetch, plus one NULL row for each cell whose reply row was rejected (its value
    failed, or two copies disagreed) so the cell is known-missing, flagged, never silently absent."""
    rows = []
    for f in fetches:
        # a rejected row that is not a cell of the request (another partner, month, level…): the reply did not answer
        # the request cleanly, so every row it delivered is flagged
        foreign = _answers_something_else(f)
        have = {(r.cty_code, r.flow, r.year, r.month, r.hs2) for r in f.records}
        for r in f.records:
            if (r.year, r.month) > latest:
                continue  # point in time: never keep a month released after the week (the boundary rejects them)
            rows.append(
                {
                    "cty_code": r.cty_code,
                    "cty_name": r.cty_name,
                    "flow": r.flow,
                    "year": r.year,
                    "month": r.month,
                    "hs2": r.hs2,
                    "hs2_desc": r.hs2_desc,
                    "value_usd": r.value_usd,
                    "api_ytd_usd": r.ytd_usd,
                    "request_id": f.request_id,
                    "fetched_at": f.fetched_at,
                    "wire_flags": ";".join(r.flags + (["quarantined_rows"] if foreign else [])),
                }
            )
        for cell in sorted(
            {r.cell for r in f.rejected if r.cell is not None and r.action != quarantine.COLLAPSED} - have
        ):
            cty, flow, year, month, hs2 = cell
            if (year, month) > latest:
                continue
            rows.append(
                {
                    "cty_code": cty,
                    "cty_name": PARTNERS.get(cty, ("", ""))[0],
                    "flow": flow,
                    "year": year,
                    "month": month,
                    "hs2": hs2,
                    "hs2_desc": "TOTAL" if hs2 == "TOTAL" else hs2_name_en(hs2),
                    "value_usd": None,
                    "api_ytd_usd": None,
                    "request_id": f.request_id,
                    "fetched_at": f.fetched_at,
                    "wire_flags": "quarantined_rows",
                }
            )
    schema = {
        "cty_code": pl.Utf8,
        "cty_name": pl.Utf8,
        "flow": pl.Utf8,
        "year": pl.Int32,
        "month": pl.Int32,
        "hs2": pl.Utf8,
        "hs2_desc": pl.Utf8,
        "value_usd": pl.Float64,
        "api_ytd_usd": pl.Float64,
        "request_id": pl.Utf8,
        "fetched_at": pl.Utf8,
        "wire_flags": pl.Utf8,
    }
    # each cell comes from exactly one request (the boundary rejects rows of other years/levels/flows)
    return pl.DataFrame(rows, schema=schema).unique(subset=KEY, keep="first", maintain_order=True)


def _answers_something_else(f: CensusFetch) -> bool:
    """Did the reply hold rows that are not cells of its request (or could it not be read at all)?"""
    return bool(f.unreadable_body) or any(r.cell is None for r in f.rejected)


def quarantine_items(fetches: list[CensusFetch]) -> list[quarantine.Quarantined]:
    """The rows of a week's replies the boundary did not use as they came (and unreadable replies), for the
    quarantine. Group: the monthly cell when the row is a cell the request asked for; otherwise the request's
    census_series_coverage cells (flow × level × year), every one of which is then flagged."""
    items = []
    for f in fetches:
        request = f.request_key or f.request.label()
        cells = {"flow": f.request.flow, "level": f.request.level, "year": f.request.year}
        if f.unreadable_body:
            items.append(
                quarantine.Quarantined(
                    source="census",
                    request=request,
                    row=f.unreadable_body,
                    reason_code="reply_unreadable",
                    reason=f.error[:500],
                    group_table=contract.CENSUS_COVERAGE,
                    group=cells,
                    request_id=f.request_id,
                    fetched_at=f.fetched_at,
                )
            )
        for r in f.rejected:
            table, group = (
                (contract.CENSUS_MONTHLY_FLOWS, dict(zip(KEY, r.cell)))
                if r.cell is not None
                else (contract.CENSUS_COVERAGE, cells)
            )
            items.append(
                quarantine.Quarantined(
                    source="census",
                    request=request,
                    row=r.row,
                    reason_code=r.reason_code,
                    reason=r.reason,
                    group_table=table,
                    group=group,
                    action=r.action,
                    row_index=r.row_index,
                    request_id=f.request_id,
                    fetched_at=f.fetched_at,
                )
            )
    return items


def _expected_cells(latest: tuple[int, int], partners: list[str]) -> pl.DataFrame:
    months = expected_months(latest)
    return pl.DataFrame(
        [(c, fl, y, m, lv) for c in partners for fl in FLOWS for (y, m) in months for lv in LEVELS],
        schema={"cty_code": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32, "month": pl.Int32, "level": pl.Utf8},
        orient="row",
    )


def build_coverage(
    df: pl.DataFrame,
    latest: tuple[int, int],
    fetches: list[CensusFetch] | None = None,
    partners: list[str] | None = None,
) -> pl.DataFrame:
    """census_series_coverage: every expected partner × flow × month × level (TOTAL / HS2) with its status.

    'answered' (rows present; a TOTAL whose value is NULL counts as present: its own row says why), 'derived' (a
    total summed from chapters because its request failed), 'missing' with the reason: the request failed
    (hs2_fetch_failed / partial_fetch) or it was answered without this series (series_missing). A cell of a request
    whose reply had rejected rows also carries quarantined_rows. Without ``fetches`` (tables rebuilt from stored
    rows), presence alone decides and a gap is series_missing.
    """
    partners = partners if partners is not None else (sorted(set(df["cty_code"])) if df.height else [])
    cells = _expected_cells(latest, partners)
    present = (
        df.with_columns(level=_level(pl.col("hs2")))
        .group_by(CELL)
        .agg(
            rows=pl.len().cast(pl.Int32),
            derived=pl.col("wire_flags" if "wire_flags" in df.columns else "review_flags")
            .str.contains("total_derived_from_hs2")
            .any(),
        )
    )
    failed, rejected = set(), set()
    for f in fetches or []:
        k = (f.request.flow, f.request.level, f.request.year)
        if f.status == "failed":
            failed.add(k)
        if _answers_something_else(f):
            rejected.add(k)

    def requests(keys: set, code: str) -> pl.Expr:
        cond = pl.lit(False)
        for flow, level, year in keys:
            cond = cond | ((pl.col("flow") == flow) & (pl.col("level") == level) & (pl.col("year") == year))
        return _flag(cond, code)

    cov = cells.join(present, on=CELL, how="left").with_columns(rows=pl.col("rows").fill_null(0))
    missing = pl.col("rows") == 0
    fail_code = pl.when(pl.col("level") == "HS2").then(pl.lit("hs2_fetch_failed")).otherwise(pl.lit("partial_fetch"))
    cov = cov.with_columns(
        status=pl.when(missing)
        .then(pl.lit("missing"))
        .when(pl.col("derived"))
        .then(pl.lit("derived"))
        .otherwise(pl.lit("answered")),
        review_flags=_joined(
            pl.concat_list(
                pl.when(missing).then(
                    pl.when(requests(failed, "x").is_not_null()).then(fail_code).otherwise(pl.lit("series_missing"))
                ),
                _flag(pl.col("derived").fill_null(False), "total_derived_from_hs2"),
                requests(rejected, "quarantined_rows"),
            )
        ),
    )
    return cov.select(list(COVERAGE_SCHEMA)).cast(COVERAGE_SCHEMA).sort(CELL)


def _gaps(coverage: pl.DataFrame) -> pl.DataFrame:
    """Missing cells: (cty, flow, year, month, level) with the reason codes as a list."""
    return coverage.filter(pl.col("status") == "missing").select(*CELL, gap_flags=_quality("review_flags"))


def build_monthly_flows(fetches: list[CensusFetch], latest: tuple[int, int]) -> tuple[pl.DataFrame, WeekDiagnostics]:
    """census_monthly_flows rows for one week, plus what the checks need to know (coverage, quarantine)."""
    diag = WeekDiagnostics(latest=latest, requests=len(fetches))
    failed = {(f.request.flow, f.request.level, f.request.year) for f in fetches if f.status == "failed"}
    diag.failed_requests = [f"{f.request.label()}: {f.error[:300]}" for f in fetches if f.status == "failed"]
    diag.no_data_requests = [f.request.label() for f in fetches if f.status == "no_data"]
    diag.quarantine = quarantine_items(fetches)
    diag.quarantined = [
        f"{q.request_id or q.request} row {'-' if q.row_index is None else q.row_index + 1} "
        f"{q.action} ({q.reason_code}): {q.reason[:200]}"
        for q in diag.quarantine
    ]
    diag.merged_duplicates = sum(f.merged_duplicates for f in fetches)
    df = records_frame(fetches, latest)

    # A country-total request that failed: derive totals from the HS2 chapters, flagged, so balances still exist.
    # A derived total over a NULL chapter is NULL (a smaller sum would look complete).
    derived = []
    for flow, level, year in sorted(failed):
        if level != "TOTAL":
            continue
        sub = df.filter((pl.col("flow") == flow) & (pl.col("year") == year) & (pl.col("hs2") != "TOTAL"))
        if sub.height:
            derived.append(
                sub.group_by(["cty_code", "cty_name", "flow", "year", "month"])
                .agg(
                    pl.when(pl.col("value_usd").null_count() == 0).then(pl.col("value_usd").sum()).alias("value_usd"),
                    pl.col("request_id").first(),
                    pl.col("fetched_at").first(),
                    _joined(
                        _quality("wire_flags").list.explode(keep_nulls=False, empty_as_null=False).implode(),
                        pl.lit(["total_derived_from_hs2"]),
                    )
                    .first()
                    .alias("wire_flags"),
                )
                .with_columns(
                    hs2=pl.lit("TOTAL"),
                    hs2_desc=pl.lit("TOTAL (derived from HS2 chapters)"),
                    api_ytd_usd=pl.lit(None, dtype=pl.Float64),
                )
                .select(df.columns)
            )
    if derived:
        df = pl.concat([df, *derived])

    coverage = build_coverage(df, latest, fetches, list(PARTNERS))
    diag.coverage = coverage
    if df.is_empty():
        return pl.DataFrame(schema=MONTHLY_SCHEMA), _missing(diag, coverage, df)

    df = df.sort(KEY).with_columns(level=_level(pl.col("hs2")))
    df = _with_ytd(df, coverage, value="value_usd", out="ytd_usd")
    # MoM against the previous calendar month (December of the year before for January), YoY against the same month.
    prev = df.select(*SERIES, "year", "month", pl.col("value_usd").alias("prev_value"))
    df = df.with_columns(
        prev_year=pl.when(pl.col("month") == 1).then(pl.col("year") - 1).otherwise(pl.col("year")),
        prev_month=pl.when(pl.col("month") == 1).then(12).otherwise(pl.col("month") - 1).cast(pl.Int32),
        ly_year=pl.col("year") - 1,
    )
    df = df.join(prev, left_on=[*SERIES, "prev_year", "prev_month"], right_on=[*SERIES, "year", "month"], how="left")
    df = df.join(
        prev.rename({"prev_value": "ly_value"}),
        left_on=[*SERIES, "ly_year", "month"],
        right_on=[*SERIES, "year", "month"],
        how="left",
    )
    # a comparison month that was expected but is missing (or NULL) withholds the change, flagged
    expected = pl.DataFrame(expected_months(latest), schema={"y": pl.Int32, "m": pl.Int32}, orient="row")
    gaps = _gaps(coverage).select(*CELL, pl.lit(True).alias("gap"))
    for y, m, name in (("prev_year", "prev_month", "mom_base_missing"), ("ly_year", "month", "yoy_base_missing")):
        df = df.join(
            gaps.rename({"year": y, "month": m, "gap": f"{name}_gap"})
            if m != "month"
            else gaps.rename({"year": y, "gap": f"{name}_gap"}),
            on=["cty_code", "flow", y, m, "level"],
            how="left",
        )
        is_expected = pl.struct(pl.col(y).alias("y"), pl.col(m).alias("m")).is_in(expected.to_struct().implode())
        base_null = pl.col("prev_value" if name.startswith("mom") else "ly_value").is_null() & (
            pl.col("level") == "TOTAL"
        )
        df = df.with_columns((is_expected & (pl.col(f"{name}_gap").fill_null(False) | base_null)).alias(name))
    pct = lambda cur, base: (  # noqa: E731 — a one-line formula shared by the expressions below
        pl.when(base.is_not_null() & (base != 0) & cur.is_not_null())
        .then(  # noqa: E731
            (cur - base) / base.abs() * 100.0
        )
        .otherwise(None)
    )
    df = df.with_columns(
        mom_pct=pct(pl.col("value_usd"), pl.col("prev_value")), yoy_pct=pct(pl.col("value_usd"), pl.col("ly_value"))
    )

    # Totals vs the sum of their chapters, per partner × flow × month (only where every chapter value is known).
    sums = (
        df.filter(pl.col("hs2") != "TOTAL")
        .group_by(["cty_code", "flow", "year", "month"])
        .agg(hs2_sum=pl.col("value_usd").sum(), hs2_rows=pl.len(), hs2_nulls=pl.col("value_usd").null_count())
    )
    df = df.join(sums, on=["cty_code", "flow", "year", "month"], how="left")
    # chapters missing for the month: the total cannot be checked against them (the reason goes on the total)
    hs2_gap = (
        _gaps(coverage)
        .filter(pl.col("level") == "HS2")
        .select("cty_code", "flow", "year", "month", pl.col("gap_flags").alias("hs2_gap_flags"))
    )
    df = df.join(hs2_gap, on=["cty_code", "flow", "year", "month"], how="left")
    tol = pl.max_horizontal(pl.lit(TOTAL_TOLERANCE_ABS_USD), pl.col("value_usd").abs() * TOTAL_TOLERANCE_REL)
    total_bad = (
        (pl.col("hs2") == "TOTAL")
        & pl.col("hs2_rows").is_not_null()
        & (pl.col("hs2_nulls") == 0)
        & pl.col("value_usd").is_not_null()
        & ((pl.col("value_usd") - pl.col("hs2_sum")).abs() > tol)
    )
    mom_bad = pl.col("mom_pct").abs().gt(MOM_THRESHOLD_PCT) & (
        (pl.col("hs2") == "TOTAL") | (pl.max_horizontal(pl.col("value_usd"), pl.col("prev_value")) >= MOM_MATERIAL_USD)
    )
    ytd_bad = (
        pl.col("api_ytd_usd").is_not_null()
        & pl.col("ytd_usd").is_not_null()
        & (
            (pl.col("api_ytd_usd") - pl.col("ytd_usd")).abs()
            > pl.max_horizontal(pl.lit(YTD_TOLERANCE_ABS_USD), pl.col("api_ytd_usd").abs() * TOTAL_TOLERANCE_REL)
        )
    )
    name_expected = pl.col("cty_code").replace_strict({k: v[0] for k, v in PARTNERS.items()}, default=None)
    df = df.with_columns(
        cty_name=pl.when(pl.col("cty_name") == "").then(name_expected).otherwise(pl.col("cty_name")),
        review_flags=_joined(
            _codes("wire_flags"),
            pl.col("ytd_flags"),
            pl.when(pl.col("hs2") == "TOTAL").then(pl.col("hs2_gap_flags")),
            pl.concat_list(
                _flag(mom_bad, "mom_gt_30pct"),
                _flag(total_bad, "total_ne_hs2_sum"),
                _flag(ytd_bad, "ytd_mismatch"),
                _flag(pl.col("mom_base_missing") | pl.col("yoy_base_missing"), "base_month_missing"),
                _flag(
                    name_expected.is_not_null() & (pl.col("cty_name") != "") & (pl.col("cty_name") != name_expected),
                    "cty_name_unexpected",
                ),
            ),
        ),
    )
    df = _carry_month_flags(df)
    df = df.with_columns(
        cty_name_zh=pl.col("cty_code").replace_strict(
            {k: v[1] for k, v in PARTNERS.items()}, default=pl.col("cty_code")
        ),
        hs2_desc_zh=pl.col("hs2").map_elements(hs2_name_zh, return_dtype=pl.Utf8),
    )
    # country totals first: check metadata lists are truncated, and totals are the headline moves
    mom_rows = df.filter(mom_bad).sort(pl.col("hs2") != "TOTAL", *KEY)
    for row in mom_rows.select("cty_code", "flow", "year", "month", "hs2", "mom_pct").iter_rows():
        diag.mom_flags.append(f"{row[0]} {row[1]} {row[2]}-{row[3]:02d} {row[4]} MoM {row[5]:+.1f}%")
    for row in df.filter(total_bad).select("cty_code", "flow", "year", "month", "value_usd", "hs2_sum").iter_rows():
        diag.total_mismatches.append(
            f"{row[0]} {row[1]} {row[2]}-{row[3]:02d} total {row[4]:,.0f} vs HS2 sum {row[5]:,.0f}"
        )
    out = df.select(list(MONTHLY_SCHEMA)).cast(MONTHLY_SCHEMA).sort(KEY)
    return out, _missing(diag, coverage, out)


#: Flags about a row's comparison columns, not its value: they do not travel to the months that sum this one.
_NOT_ABOUT_THE_VALUE = ("base_month_missing",)


def _carry_month_flags(df: pl.DataFrame) -> pl.DataFrame:
    """A row's ytd_usd sums the earlier months of its series and year, its mom_pct / yoy_pct use the previous month
    and the same month last year: the QUALITY flags of those rows go on this row too (census_monthly_flows has no
    self-lineage in contract.LINEAGE; the layer carries them)."""
    own = df.select(
        *SERIES,
        "year",
        "month",
        own=_quality("review_flags").list.eval(pl.element().filter(~pl.element().is_in(_NOT_ABOUT_THE_VALUE))),
    )
    firsts = own.explode("own").drop_nulls("own").group_by(*SERIES, "year", "own").agg(first=pl.col("month").min())
    prior = (
        df.select(*SERIES, "year", "month")
        .join(firsts, on=[*SERIES, "year"], how="inner")
        .filter(pl.col("first") < pl.col("month"))
        .group_by(*SERIES, "year", "month")
        .agg(prior=pl.col("own").unique())
    )
    df = df.join(prior, on=[*SERIES, "year", "month"], how="left")
    for y, m, name in (("prev_year", "prev_month", "prev_flags"), ("ly_year", "month", "ly_flags")):
        base = (
            own.rename({"year": y, "own": name}) if m == "month" else own.rename({"year": y, "month": m, "own": name})
        )
        df = df.join(base, on=[*SERIES, y, m], how="left")
    return df.with_columns(
        review_flags=_joined(_codes("review_flags"), pl.col("prior"), pl.col("prev_flags"), pl.col("ly_flags"))
    )


def _with_ytd(df: pl.DataFrame, coverage: pl.DataFrame, value: str, out: str) -> pl.DataFrame:
    """Running January..month sum per series and year; NULL from the first month that is missing (coverage) or NULL
    (suppressed, quarantined) on, with the reasons in ``ytd_flags`` (plus ytd_month_missing)."""
    gaps = (
        _gaps(coverage)
        .group_by("cty_code", "flow", "year", "level")
        .agg(
            first_gap=pl.col("month").min(),
            gap_flags=pl.col("gap_flags").list.explode(keep_nulls=False, empty_as_null=False).unique(),
        )
    )
    df = df.join(gaps, on=["cty_code", "flow", "year", "level"], how="left")
    group = ["cty_code", "flow", "hs2", "year"]
    df = df.with_columns(
        first_null=pl.when(pl.col(value).is_null()).then(pl.col("month")).otherwise(None).min().over(group)
    )
    broken = (pl.col("month") >= pl.col("first_gap")).fill_null(False) | (
        pl.col("month") >= pl.col("first_null")
    ).fill_null(False)
    return df.with_columns(
        pl.when(broken).then(None).otherwise(pl.col(value).fill_null(0).cum_sum().over(group)).alias(out),
        ytd_flags=pl.concat_list(
            pl.when((pl.col("month") >= pl.col("first_gap")).fill_null(False))
            .then(pl.col("gap_flags"))
            .otherwise(_EMPTY),
            pl.when(broken).then(pl.lit(["ytd_month_missing"])).otherwise(_EMPTY),
        ),
    ).drop("first_gap", "gap_flags", "first_null")


def _missing(diag: WeekDiagnostics, coverage: pl.DataFrame, df: pl.DataFrame) -> WeekDiagnostics:
    """Expected partner × flow × month series (total and HS2) with no value."""
    null_totals = (
        set(
            df.filter((pl.col("hs2") == "TOTAL") & pl.col("value_usd").is_null())
            .select("cty_code", "flow", "year", "month")
            .iter_rows()
        )
        if df.height
        else set()
    )
    for cty, flow, year, month, level, status in coverage.select(*CELL, "status").iter_rows():
        if status == "missing" or (level == "TOTAL" and (cty, flow, year, month) in null_totals):
            diag.missing_series.append(f"{cty} {flow} {year}-{month:02d} {level}")
    return diag


BALANCE_SCHEMA = {
    "cty_code": pl.Utf8,
    "cty_name": pl.Utf8,
    "cty_name_zh": pl.Utf8,
    "year": pl.Int32,
    "through_month": pl.Int32,
    "hs2": pl.Utf8,
    "hs2_desc": pl.Utf8,
    "hs2_desc_zh": pl.Utf8,
    "export_ytd_usd": pl.Float64,
    "import_ytd_usd": pl.Float64,
    "balance_usd": pl.Float64,
    "balance_label": pl.Utf8,
    "share_of_deficit_pct": pl.Float64,
    "export_prev_ytd_usd": pl.Float64,
    "import_prev_ytd_usd": pl.Float64,
    "prev_year_balance_usd": pl.Float64,
    "export_yoy_pct": pl.Float64,
    "import_yoy_pct": pl.Float64,
    "deficit_chapters_usd": pl.Float64,
    "share_of_net_deficit_pct": pl.Float64,
    "review_flags": pl.Utf8,
}


def _ytd_grid(
    monthly: pl.DataFrame, coverage: pl.DataFrame, keys: pl.DataFrame, year: int, through: int
) -> pl.DataFrame:
    """partner × hs2 × flow year-to-date sums over January..through of ``year`` (one YTD rule), with the QUALITY
    flags of every month they include. A month that is missing (coverage) or NULL makes the sum NULL; a chapter
    absent from an answered HS2 month had no trade (0)."""
    months = pl.DataFrame({"month": list(range(1, through + 1))}, schema={"month": pl.Int32})
    flows = pl.DataFrame({"flow": list(FLOWS)})
    grid = (
        keys.join(flows, how="cross")
        .join(months, how="cross")
        .with_columns(year=pl.lit(year, dtype=pl.Int32), level=_level(pl.col("hs2")))
    )
    rows = monthly.filter(pl.col("year") == year).select(
        "cty_code", "flow", "month", "hs2", "value_usd", row_flags=_quality("review_flags"), present=pl.lit(True)
    )
    cells = coverage.filter(pl.col("year") == year).select(
        "cty_code",
        "flow",
        "month",
        "level",
        cov_missing=pl.col("status") == "missing",
        cov_flags=_quality("review_flags"),
    )
    grid = grid.join(rows, on=["cty_code", "flow", "month", "hs2"], how="left").join(
        cells, on=["cty_code", "flow", "month", "level"], how="left"
    )
    known = pl.col("cov_missing").is_not_null() & ~pl.col("cov_missing")
    grid = grid.with_columns(
        value=pl.when(pl.col("present").fill_null(False))
        .then(pl.col("value_usd"))
        .when(known & (pl.col("level") == "HS2"))
        .then(pl.lit(0.0))
        .otherwise(None)
    )
    return grid.group_by("cty_code", "hs2", "flow").agg(
        ytd=pl.when(pl.col("value").null_count() == 0).then(pl.col("value").sum()),
        flags=pl.concat_list(
            pl.col("row_flags").fill_null([]),
            pl.col("cov_flags").fill_null([]),
            pl.when(pl.col("value").is_null())
            .then(pl.lit(["ytd_month_missing"]))
            .otherwise(pl.lit([], dtype=pl.List(pl.Utf8))),
        )
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique(),
    )


def build_trade_balance(
    monthly: pl.DataFrame, latest: tuple[int, int], coverage: pl.DataFrame | None = None
) -> pl.DataFrame:
    """census_trade_balance: partner × HS2 (+ TOTAL), exports − imports, Jan..latest month of the latest year.

    Every expected partner has a TOTAL row (NULLs and flags when its data are missing). A figure over a missing or
    NULL month is NULL and flagged. ``share_of_deficit_pct`` of a deficit chapter is its deficit over the sum of the
    partner's chapter deficits (surplus chapters do not offset), so a partner's shares add up to 100 %; when any
    chapter balance is unknown the denominator is, and every share of the partner is withheld (NULL, flagged).
    ``share_of_net_deficit_pct``: the chapter's balance over the partner's TOTAL balance (what "HS84 is 82 % of the
    US deficit with Taiwan" means; can exceed 100 % and sums over 100 % when surplus chapters exist), NULL when either
    is unknown or the partner has no deficit.
    """
    year, through = latest
    if coverage is None:  # rebuilt from stored rows only: presence decides
        coverage = build_coverage(monthly, latest)
    partners = sorted(set(coverage["cty_code"]) | (set(monthly["cty_code"]) if monthly.height else set()))
    if not partners:
        return pl.DataFrame(schema=BALANCE_SCHEMA)
    chapters = (
        monthly.filter((pl.col("year") == year) & (pl.col("hs2") != "TOTAL")).select("cty_code", "hs2").unique()
        if monthly.height
        else pl.DataFrame(schema={"cty_code": pl.Utf8, "hs2": pl.Utf8})
    )
    keys = pl.concat([pl.DataFrame({"cty_code": partners, "hs2": ["TOTAL"] * len(partners)}), chapters]).unique()
    df = keys
    for yr, prefix in ((year, ""), (year - 1, "_prev")):
        g = _ytd_grid(monthly, coverage, keys, yr, through)
        for flow in FLOWS:
            df = df.join(
                g.filter(pl.col("flow") == flow).select(
                    "cty_code",
                    "hs2",
                    pl.col("ytd").alias(f"{flow}{prefix}_ytd_usd"),
                    pl.col("flags").alias(f"{flow}{prefix}_flags"),
                ),
                on=["cty_code", "hs2"],
                how="left",
            )
    df = df.with_columns(
        balance_usd=pl.col("export_ytd_usd") - pl.col("import_ytd_usd"),
        prev_year_balance_usd=pl.col("export_prev_ytd_usd") - pl.col("import_prev_ytd_usd"),
    )
    # shares over the partner's summed chapter deficits; any unknown chapter balance withholds them all
    chapter = pl.col("hs2") != "TOTAL"
    df = df.with_columns(
        gross_deficit=pl.col("balance_usd").filter(chapter & (pl.col("balance_usd") < 0)).sum().over("cty_code"),
        unknown_chapters=(chapter & pl.col("balance_usd").is_null()).sum().over("cty_code"),
        # the shares' lineage: every chapter of the partner in the latest year, and its total
        chapter_flags=pl.concat_list(pl.col("export_flags").fill_null(_EMPTY), pl.col("import_flags").fill_null(_EMPTY))
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique()
        .implode()
        .over("cty_code"),
        total_balance=pl.col("balance_usd").filter(~chapter).first().over("cty_code"),
    )
    pct = lambda cur, base: (  # noqa: E731 — a one-line formula shared by the expressions below
        pl.when(base.is_not_null() & (base != 0) & cur.is_not_null())
        .then(  # noqa: E731
            (cur - base) / base.abs() * 100.0
        )
        .otherwise(None)
    )
    desc = (
        monthly.filter(pl.col("year") == year)
        .group_by("hs2")
        .agg(pl.col("hs2_desc").first(), pl.col("hs2_desc_zh").first())
    )
    df = df.join(desc, on="hs2", how="left").with_columns(
        cty_name=pl.col("cty_code").replace_strict({k: v[0] for k, v in PARTNERS.items()}, default=None),
        cty_name_zh=pl.col("cty_code").replace_strict(
            {k: v[1] for k, v in PARTNERS.items()}, default=pl.col("cty_code")
        ),
    )
    names = monthly.group_by("cty_code").agg(pl.col("cty_name").first().alias("seen_name"))
    df = df.join(names, on="cty_code", how="left").with_columns(
        cty_name=pl.coalesce("seen_name", "cty_name", "cty_code"),
        hs2_desc=pl.coalesce("hs2_desc", pl.when(pl.col("hs2") == "TOTAL").then(pl.lit("TOTAL"))),
        hs2_desc_zh=pl.coalesce("hs2_desc_zh", pl.col("hs2").map_elements(hs2_name_zh, return_dtype=pl.Utf8)),
        year=pl.lit(year, dtype=pl.Int32),
        through_month=pl.lit(through, dtype=pl.Int32),
        balance_label=pl.when(pl.col("balance_usd") < 0)
        .then(pl.lit("逆差"))
        .when(pl.col("balance_usd") > 0)
        .then(pl.lit("順差"))
        .when(pl.col("balance_usd") == 0)
        .then(pl.lit("平衡")),
        share_of_deficit_pct=pl.when(
            chapter & (pl.col("unknown_chapters") == 0) & (pl.col("balance_usd") < 0) & (pl.col("gross_deficit") < 0)
        )
        .then(pl.col("balance_usd") / pl.col("gross_deficit") * 100.0)
        .otherwise(None),
        export_yoy_pct=pct(pl.col("export_ytd_usd"), pl.col("export_prev_ytd_usd")),
        import_yoy_pct=pct(pl.col("import_ytd_usd"), pl.col("import_prev_ytd_usd")),
        # the shares' denominator, on every chapter row of the partner (NULL when a chapter balance is unknown)
        deficit_chapters_usd=pl.when(chapter & (pl.col("unknown_chapters") == 0)).then(pl.col("gross_deficit")),
        share_of_net_deficit_pct=pl.when(chapter & (pl.col("total_balance") < 0)).then(
            pl.col("balance_usd") / pl.col("total_balance") * 100.0
        ),
        review_flags=_joined(
            pl.col("export_flags"),
            pl.col("import_flags"),
            pl.col("export_prev_flags"),
            pl.col("import_prev_flags"),
            pl.when(chapter).then(pl.col("chapter_flags")),
        ),
    )
    return df.select(list(BALANCE_SCHEMA)).cast(BALANCE_SCHEMA).sort(["cty_code", "balance_usd"], nulls_last=True)


DETAIL_SCHEMA = {
    "cty_code": pl.Utf8,
    "cty_name": pl.Utf8,
    "cty_name_zh": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "through_month": pl.Int32,
    "rank": pl.Int32,
    "hs2": pl.Utf8,
    "hs2_desc": pl.Utf8,
    "hs2_desc_zh": pl.Utf8,
    "value_usd": pl.Float64,
    "share_pct": pl.Float64,
    "prev_year_usd": pl.Float64,
    "yoy_pct": pl.Float64,
    "balance_usd": pl.Float64,
    "review_flags": pl.Utf8,
}


def build_country_detail(balance: pl.DataFrame, top_n: int = TOP_N_CHAPTERS) -> pl.DataFrame:
    """census_country_detail: the top chapters per partner and direction, latest year to date (from the balance).

    Chapters whose YTD is unknown (NULL) cannot be ranked; a direction whose chapters are all unknown has no rows
    (the Extractor file says why, from the balance rows' flags). A rank and a share are computed over every chapter
    of the partner and its total, so each row carries the QUALITY flags of all the partner's balance rows.
    """
    if balance.is_empty():
        return pl.DataFrame(schema=DETAIL_SCHEMA)
    partner_flags = balance.group_by("cty_code").agg(
        partner_flags=_quality("review_flags").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().unique()
    )
    parts = []
    for flow, col, prev_col, yoy in (
        ("export", "export_ytd_usd", "export_prev_ytd_usd", "export_yoy_pct"),
        ("import", "import_ytd_usd", "import_prev_ytd_usd", "import_yoy_pct"),
    ):
        totals = balance.filter(pl.col("hs2") == "TOTAL").select("cty_code", pl.col(col).alias("total"))
        part = balance.filter((pl.col("hs2") != "TOTAL") & (pl.col(col) > 0)).join(totals, on="cty_code", how="left")
        part = part.join(partner_flags, on="cty_code", how="left")
        part = (
            part.sort(["cty_code", col, "hs2"], descending=[False, True, False])
            .with_columns(rank=pl.int_range(1, pl.len() + 1).over("cty_code"))
            .filter(pl.col("rank") <= top_n)
        )
        parts.append(
            part.select(
                "cty_code",
                "cty_name",
                "cty_name_zh",
                pl.lit(flow).alias("flow"),
                "year",
                "through_month",
                "rank",
                "hs2",
                "hs2_desc",
                "hs2_desc_zh",
                pl.col(col).alias("value_usd"),
                pl.when(pl.col("total") > 0)
                .then(pl.col(col) / pl.col("total") * 100.0)
                .otherwise(None)
                .alias("share_pct"),
                pl.col(prev_col).alias("prev_year_usd"),
                pl.col(yoy).alias("yoy_pct"),
                "balance_usd",
                _joined(_codes("review_flags"), pl.col("partner_flags")).alias("review_flags"),
            )
        )
    return pl.concat(parts).cast(DETAIL_SCHEMA).sort(["cty_code", "flow", "rank"])


REVISION_SCHEMA = {
    "cty_code": pl.Utf8,
    "cty_name_zh": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "month": pl.Int32,
    "hs2": pl.Utf8,
    "hs2_desc_zh": pl.Utf8,
    "previous_usd": pl.Float64,
    "revised_usd": pl.Float64,
    "change_usd": pl.Float64,
    "change_pct": pl.Float64,
    "previous_week": pl.Utf8,
    "review_flags": pl.Utf8,
}


def build_revisions(current: pl.DataFrame, previous: pl.DataFrame, previous_week: str) -> pl.DataFrame:
    """Values of months both partitions hold that changed since last week's partition (≥ USD 1)."""
    if current.is_empty() or previous.is_empty():
        return pl.DataFrame(schema=REVISION_SCHEMA)
    prev = previous.select(*KEY, pl.col("value_usd").alias("previous_usd"))
    df = current.select(
        *KEY,
        "cty_name_zh",
        "hs2_desc_zh",
        pl.col("value_usd").alias("revised_usd"),
        _joined(_quality("review_flags")).alias("review_flags"),
    ).join(prev, on=KEY, how="inner")
    df = df.filter(
        pl.col("previous_usd").is_not_null()
        & pl.col("revised_usd").is_not_null()
        & ((pl.col("revised_usd") - pl.col("previous_usd")).abs() >= 1.0)
    )
    df = df.with_columns(
        change_usd=pl.col("revised_usd") - pl.col("previous_usd"),
        change_pct=pl.when(pl.col("previous_usd") != 0)
        .then((pl.col("revised_usd") - pl.col("previous_usd")) / pl.col("previous_usd").abs() * 100)
        .otherwise(None),
        previous_week=pl.lit(previous_week),
    )
    return df.select(list(REVISION_SCHEMA)).cast(REVISION_SCHEMA).sort(KEY)


def build_release_status(
    as_of: str, latest: tuple[int, int], release: str, next_due: tuple[int, int, str], diag: WeekDiagnostics
) -> pl.DataFrame:
    months = expected_months(latest)
    return pl.DataFrame(
        [
            {
                "latest_year": latest[0],
                "latest_month": latest[1],
                "months_available": f"{months[0][0]}-{months[0][1]:02d}..{latest[0]}-{latest[1]:02d}",
                "as_of": as_of,
                "latest_release_date": release,
                "next_year": next_due[0],
                "next_month": next_due[1],
                "next_release_date": next_due[2],
                "requests": diag.requests,
                "failed_requests": len(diag.failed_requests),
                "missing_series": ";".join(diag.missing_series),
                "quarantined_rows": len(diag.quarantined),
                "review_flags": ";".join(
                    f
                    for f, bad in (
                        ("partial_fetch", diag.failed_requests),
                        ("quarantined_rows", diag.quarantined),
                        ("series_missing", diag.missing_series),
                    )
                    if bad
                ),
            }
        ]
    ).with_columns(
        pl.col("as_of").str.to_date(),
        pl.col("latest_release_date").str.to_date(),
        pl.col("next_release_date").str.to_date(),
        pl.col(
            [
                "latest_year",
                "latest_month",
                "next_year",
                "next_month",
                "requests",
                "failed_requests",
                "quarantined_rows",
            ]
        ).cast(pl.Int32),
    )
