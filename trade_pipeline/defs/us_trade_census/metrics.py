"""From normalized Census records to the layer's tables (pure functions, polars in, polars out).

One rule for every year-to-date figure: the sum of the stored monthly values from January through the month
(the API's own *_VAL_YR is kept as ``api_ytd_usd`` and only used to flag disagreement), so the monthly table, the
balance and the country detail can never print the same YTD two ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from trade_pipeline.core.hs_chapters import hs2_name_zh
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

MONTHLY_SCHEMA = {
    "cty_code": pl.Utf8, "cty_name": pl.Utf8, "cty_name_zh": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32,
    "month": pl.Int32, "hs2": pl.Utf8, "hs2_desc": pl.Utf8, "hs2_desc_zh": pl.Utf8, "value_usd": pl.Float64,
    "ytd_usd": pl.Float64, "api_ytd_usd": pl.Float64, "mom_pct": pl.Float64, "yoy_pct": pl.Float64,
    "request_id": pl.Utf8, "fetched_at": pl.Utf8, "review_flags": pl.Utf8,
}


@dataclass
class WeekDiagnostics:
    """What the asset checks report for one week."""

    latest: tuple[int, int]
    requests: int = 0
    failed_requests: list[str] = field(default_factory=list)
    no_data_requests: list[str] = field(default_factory=list)
    missing_series: list[str] = field(default_factory=list)       # "5830 import 2025-10 TOTAL"
    mom_flags: list[str] = field(default_factory=list)
    total_mismatches: list[str] = field(default_factory=list)


def expected_months(latest: tuple[int, int]) -> list[tuple[int, int]]:
    """Months a week must hold: all of the previous year and the latest year through the latest month."""
    out, cur = [], (latest[0] - 1, 1)
    while cur <= latest:
        out.append(cur)
        cur = next_month(*cur)
    return out


def _join_flags(*cols: pl.Expr) -> pl.Expr:
    return pl.concat_list(cols).list.drop_nulls().list.unique(maintain_order=True).list.join(";")


def _flag(cond: pl.Expr, code: str) -> pl.Expr:
    return pl.when(cond).then(pl.lit(code)).otherwise(pl.lit(None, dtype=pl.Utf8))


def records_frame(fetches: list[CensusFetch], latest: tuple[int, int]) -> pl.DataFrame:
    rows = []
    for f in fetches:
        for r in f.records:
            if (r.year, r.month) > latest:
                continue  # point in time: never keep a month released after the week, even if the API returned it
            rows.append({"cty_code": r.cty_code, "cty_name": r.cty_name, "flow": r.flow, "year": r.year,
                         "month": r.month, "hs2": r.hs2, "hs2_desc": r.hs2_desc, "value_usd": r.value_usd,
                         "api_ytd_usd": r.ytd_usd, "request_id": f.request_id, "fetched_at": f.fetched_at,
                         "wire_flags": ";".join(r.flags)})
    schema = {"cty_code": pl.Utf8, "cty_name": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32, "month": pl.Int32,
              "hs2": pl.Utf8, "hs2_desc": pl.Utf8, "value_usd": pl.Float64, "api_ytd_usd": pl.Float64,
              "request_id": pl.Utf8, "fetched_at": pl.Utf8, "wire_flags": pl.Utf8}
    # first occurrence wins when the API repeats a row
    return pl.DataFrame(rows, schema=schema).unique(subset=KEY, keep="first", maintain_order=True)


def build_monthly_flows(fetches: list[CensusFetch], latest: tuple[int, int]) -> tuple[pl.DataFrame, WeekDiagnostics]:
    """census_monthly_flows rows for one week, plus what the checks need to know."""
    diag = WeekDiagnostics(latest=latest, requests=len(fetches))
    failed = {(f.request.flow, f.request.level, f.request.year) for f in fetches if f.status == "failed"}
    diag.failed_requests = [f"{f.request.label()}: {f.error[:300]}" for f in fetches if f.status == "failed"]
    diag.no_data_requests = [f.request.label() for f in fetches if f.status == "no_data"]
    df = records_frame(fetches, latest)

    # A country-total request that failed: derive totals from the HS2 chapters, flagged, so balances still exist.
    derived = []
    for flow, level, year in sorted(failed):
        if level != "TOTAL":
            continue
        sub = df.filter((pl.col("flow") == flow) & (pl.col("year") == year) & (pl.col("hs2") != "TOTAL"))
        if sub.height:
            derived.append(sub.group_by(["cty_code", "cty_name", "flow", "year", "month"]).agg(
                pl.col("value_usd").sum(), pl.col("request_id").first(), pl.col("fetched_at").first()
            ).with_columns(hs2=pl.lit("TOTAL"), hs2_desc=pl.lit("TOTAL (derived from HS2 chapters)"),
                           api_ytd_usd=pl.lit(None, dtype=pl.Float64),
                           wire_flags=pl.lit("total_derived_from_hs2")).select(df.columns))
    if derived:
        df = pl.concat([df, *derived])

    if df.is_empty():
        return pl.DataFrame(schema=MONTHLY_SCHEMA), _missing(diag, df, latest)

    df = df.sort(KEY)
    # YTD = running sum of the monthly values within (partner, flow, chapter, year).
    df = df.with_columns(ytd_usd=pl.col("value_usd").fill_null(0).cum_sum().over(["cty_code", "flow", "hs2", "year"]))
    # MoM against the previous calendar month (December of the year before for January), YoY against the same month.
    prev = df.select(*SERIES, "year", "month", pl.col("value_usd").alias("prev_value"))
    df = df.with_columns(
        prev_year=pl.when(pl.col("month") == 1).then(pl.col("year") - 1).otherwise(pl.col("year")),
        prev_month=pl.when(pl.col("month") == 1).then(12).otherwise(pl.col("month") - 1).cast(pl.Int32),
        ly_year=pl.col("year") - 1,
    )
    df = df.join(prev, left_on=[*SERIES, "prev_year", "prev_month"], right_on=[*SERIES, "year", "month"], how="left")
    df = df.join(prev.rename({"prev_value": "ly_value"}), left_on=[*SERIES, "ly_year", "month"],
                 right_on=[*SERIES, "year", "month"], how="left")
    pct = lambda cur, base: pl.when(base.is_not_null() & (base != 0) & cur.is_not_null()).then(
        (cur - base) / base.abs() * 100.0).otherwise(None)
    df = df.with_columns(mom_pct=pct(pl.col("value_usd"), pl.col("prev_value")),
                         yoy_pct=pct(pl.col("value_usd"), pl.col("ly_value")))

    # Totals vs the sum of their chapters, per partner × flow × month.
    sums = df.filter(pl.col("hs2") != "TOTAL").group_by(["cty_code", "flow", "year", "month"]).agg(
        hs2_sum=pl.col("value_usd").sum(), hs2_rows=pl.len())
    df = df.join(sums, on=["cty_code", "flow", "year", "month"], how="left")
    tol = pl.max_horizontal(pl.lit(TOTAL_TOLERANCE_ABS_USD), pl.col("value_usd").abs() * TOTAL_TOLERANCE_REL)
    total_bad = (pl.col("hs2") == "TOTAL") & pl.col("hs2_rows").is_not_null() & pl.col("value_usd").is_not_null() & (
        (pl.col("value_usd") - pl.col("hs2_sum")).abs() > tol)
    mom_bad = pl.col("mom_pct").abs().gt(MOM_THRESHOLD_PCT) & (
        (pl.col("hs2") == "TOTAL") | (pl.max_horizontal(pl.col("value_usd"), pl.col("prev_value")) >= MOM_MATERIAL_USD))
    ytd_bad = pl.col("api_ytd_usd").is_not_null() & ((pl.col("api_ytd_usd") - pl.col("ytd_usd")).abs() > pl.max_horizontal(
        pl.lit(YTD_TOLERANCE_ABS_USD), pl.col("api_ytd_usd").abs() * TOTAL_TOLERANCE_REL))
    hs2_failed = pl.lit(False)
    for flow, level, year in failed:
        if level == "HS2":
            hs2_failed = hs2_failed | ((pl.col("flow") == flow) & (pl.col("year") == year))
    name_expected = pl.col("cty_code").replace_strict({k: v[0] for k, v in PARTNERS.items()}, default=None)
    df = df.with_columns(
        cty_name=pl.when(pl.col("cty_name") == "").then(name_expected).otherwise(pl.col("cty_name")),
        review_flags=_join_flags(
            pl.when(pl.col("wire_flags") == "").then(None).otherwise(pl.col("wire_flags")),
            _flag(mom_bad, "mom_gt_30pct"),
            _flag(total_bad, "total_ne_hs2_sum"),
            _flag(ytd_bad, "ytd_mismatch"),
            _flag((pl.col("hs2") == "TOTAL") & hs2_failed, "hs2_fetch_failed"),
            _flag(name_expected.is_not_null() & (pl.col("cty_name") != "") & (pl.col("cty_name") != name_expected),
                  "cty_name_unexpected"),
        ),
    )
    df = df.with_columns(
        cty_name_zh=pl.col("cty_code").replace_strict({k: v[1] for k, v in PARTNERS.items()}, default=pl.col("cty_code")),
        hs2_desc_zh=pl.col("hs2").map_elements(hs2_name_zh, return_dtype=pl.Utf8),
    )
    # country totals first: check metadata lists are truncated, and totals are the headline moves
    mom_rows = df.filter(mom_bad).sort(pl.col("hs2") != "TOTAL", *KEY)
    for row in mom_rows.select("cty_code", "flow", "year", "month", "hs2", "mom_pct").iter_rows():
        diag.mom_flags.append(f"{row[0]} {row[1]} {row[2]}-{row[3]:02d} {row[4]} MoM {row[5]:+.1f}%")
    for row in df.filter(total_bad).select("cty_code", "flow", "year", "month", "value_usd", "hs2_sum").iter_rows():
        diag.total_mismatches.append(f"{row[0]} {row[1]} {row[2]}-{row[3]:02d} total {row[4]:,.0f} vs HS2 sum {row[5]:,.0f}")
    out = df.select(list(MONTHLY_SCHEMA)).cast(MONTHLY_SCHEMA).sort(KEY)
    return out, _missing(diag, out, latest)


def _missing(diag: WeekDiagnostics, df: pl.DataFrame, latest: tuple[int, int]) -> WeekDiagnostics:
    """Expected partner × flow × month series (total and HS2) with no value."""
    have_total = set(df.filter((pl.col("hs2") == "TOTAL") & pl.col("value_usd").is_not_null())
                     .select("cty_code", "flow", "year", "month").iter_rows()) if df.height else set()
    have_hs2 = set(df.filter(pl.col("hs2") != "TOTAL").select("cty_code", "flow", "year", "month")
                   .unique().iter_rows()) if df.height else set()
    for code in PARTNERS:
        for flow in FLOWS:
            for year, month in expected_months(latest):
                if (code, flow, year, month) not in have_total:
                    diag.missing_series.append(f"{code} {flow} {year}-{month:02d} TOTAL")
                if (code, flow, year, month) not in have_hs2:
                    diag.missing_series.append(f"{code} {flow} {year}-{month:02d} HS2")
    return diag


BALANCE_SCHEMA = {
    "cty_code": pl.Utf8, "cty_name": pl.Utf8, "cty_name_zh": pl.Utf8, "year": pl.Int32, "through_month": pl.Int32,
    "hs2": pl.Utf8, "hs2_desc": pl.Utf8, "hs2_desc_zh": pl.Utf8, "export_ytd_usd": pl.Float64,
    "import_ytd_usd": pl.Float64, "balance_usd": pl.Float64, "balance_label": pl.Utf8,
    "share_of_deficit_pct": pl.Float64, "export_prev_ytd_usd": pl.Float64, "import_prev_ytd_usd": pl.Float64,
    "prev_year_balance_usd": pl.Float64, "export_yoy_pct": pl.Float64, "import_yoy_pct": pl.Float64,
    "review_flags": pl.Utf8,
}


def _ytd_through(monthly: pl.DataFrame, year: int, through: int) -> pl.DataFrame:
    """partner × flow × hs2 sums of monthly values, January..through (one YTD rule), with the rows' flags."""
    return monthly.filter((pl.col("year") == year) & (pl.col("month") <= through)).group_by(
        ["cty_code", "flow", "hs2"]).agg(
        ytd=pl.col("value_usd").fill_null(0).sum(),
        months=pl.col("month").n_unique(),
        flags=pl.col("review_flags").filter(pl.col("review_flags") != "").str.join(";"),
    )


def build_trade_balance(monthly: pl.DataFrame, latest: tuple[int, int]) -> pl.DataFrame:
    """census_trade_balance: partner × HS2 (+ TOTAL), exports − imports, Jan..latest month of the latest year."""
    year, through = latest
    if monthly.is_empty():
        return pl.DataFrame(schema=BALANCE_SCHEMA)
    cur, prev = _ytd_through(monthly, year, through), _ytd_through(monthly, year - 1, through)

    def side(frame: pl.DataFrame, flow: str, prefix: str) -> pl.DataFrame:
        return frame.filter(pl.col("flow") == flow).select(
            "cty_code", "hs2", pl.col("ytd").alias(f"{prefix}_usd"), pl.col("months").alias(f"{prefix}_months"),
            pl.col("flags").alias(f"{prefix}_flags"))

    keys = monthly.filter(pl.col("year") == year).select("cty_code", "hs2").unique()
    df = keys
    for frame, flow, prefix in ((cur, "export", "export_ytd"), (cur, "import", "import_ytd"),
                                (prev, "export", "export_prev_ytd"), (prev, "import", "import_prev_ytd")):
        df = df.join(side(frame, flow, prefix), on=["cty_code", "hs2"], how="left")
    # A chapter absent from one flow's reply had no trade that way: zero, not missing.
    money = ["export_ytd_usd", "import_ytd_usd", "export_prev_ytd_usd", "import_prev_ytd_usd"]
    df = df.with_columns([pl.col(c).fill_null(0.0) for c in money])
    df = df.with_columns(balance_usd=pl.col("export_ytd_usd") - pl.col("import_ytd_usd"),
                         prev_year_balance_usd=pl.col("export_prev_ytd_usd") - pl.col("import_prev_ytd_usd"))
    total_bal = df.filter(pl.col("hs2") == "TOTAL").select("cty_code", pl.col("balance_usd").alias("total_balance"))
    df = df.join(total_bal, on="cty_code", how="left")
    pct = lambda cur, base: pl.when(base != 0).then((cur - base) / base.abs() * 100.0).otherwise(None)
    incomplete = pl.lit(False)
    for prefix in ("export_ytd", "import_ytd"):
        # a partner's total with fewer months than expected means a month is missing from the YTD
        incomplete = incomplete | ((pl.col("hs2") == "TOTAL") & (pl.col(f"{prefix}_months").fill_null(0) < through))
    desc = monthly.filter(pl.col("year") == year).group_by("hs2").agg(pl.col("hs2_desc").first(),
                                                                        pl.col("hs2_desc_zh").first())
    names = monthly.group_by("cty_code").agg(pl.col("cty_name").first(), pl.col("cty_name_zh").first())
    df = df.join(desc, on="hs2", how="left").join(names, on="cty_code", how="left").with_columns(
        year=pl.lit(year, dtype=pl.Int32), through_month=pl.lit(through, dtype=pl.Int32),
        balance_label=pl.when(pl.col("balance_usd") < 0).then(pl.lit("逆差")).when(pl.col("balance_usd") > 0)
        .then(pl.lit("順差")).otherwise(pl.lit("平衡")),
        share_of_deficit_pct=pl.when((pl.col("hs2") != "TOTAL") & (pl.col("balance_usd") < 0) & (pl.col("total_balance") < 0))
        .then(pl.col("balance_usd") / pl.col("total_balance") * 100.0).otherwise(None),
        export_yoy_pct=pct(pl.col("export_ytd_usd"), pl.col("export_prev_ytd_usd")),
        import_yoy_pct=pct(pl.col("import_ytd_usd"), pl.col("import_prev_ytd_usd")),
        review_flags=pl.concat_str(
            pl.col("export_ytd_flags").fill_null(""), pl.col("import_ytd_flags").fill_null(""),
            pl.when(incomplete).then(pl.lit("ytd_month_missing")).otherwise(pl.lit("")), separator=";",
        ),
    )
    # MoM spikes are month-level news, not a doubt about a year-to-date sum: do not carry them here.
    df = df.with_columns(review_flags=pl.col("review_flags").str.split(";").list.eval(
        pl.element().filter((pl.element() != "mom_gt_30pct") & (pl.element() != ""))).list.unique().list.sort()
        .list.join(";"))
    return df.select(list(BALANCE_SCHEMA)).cast(BALANCE_SCHEMA).sort(["cty_code", "balance_usd"])


DETAIL_SCHEMA = {
    "cty_code": pl.Utf8, "cty_name": pl.Utf8, "cty_name_zh": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32,
    "through_month": pl.Int32, "rank": pl.Int32, "hs2": pl.Utf8, "hs2_desc": pl.Utf8, "hs2_desc_zh": pl.Utf8,
    "value_usd": pl.Float64, "share_pct": pl.Float64, "prev_year_usd": pl.Float64, "yoy_pct": pl.Float64,
    "balance_usd": pl.Float64, "review_flags": pl.Utf8,
}


def build_country_detail(balance: pl.DataFrame, top_n: int = TOP_N_CHAPTERS) -> pl.DataFrame:
    """census_country_detail: the top chapters per partner and direction, latest year to date (from the balance)."""
    if balance.is_empty():
        return pl.DataFrame(schema=DETAIL_SCHEMA)
    parts = []
    for flow, col, prev_col, yoy in (("export", "export_ytd_usd", "export_prev_ytd_usd", "export_yoy_pct"),
                                     ("import", "import_ytd_usd", "import_prev_ytd_usd", "import_yoy_pct")):
        totals = balance.filter(pl.col("hs2") == "TOTAL").select("cty_code", pl.col(col).alias("total"))
        part = balance.filter((pl.col("hs2") != "TOTAL") & (pl.col(col) > 0)).join(totals, on="cty_code", how="left")
        part = part.sort(["cty_code", col, "hs2"], descending=[False, True, False]).with_columns(
            rank=pl.int_range(1, pl.len() + 1).over("cty_code")).filter(pl.col("rank") <= top_n)
        parts.append(part.select(
            "cty_code", "cty_name", "cty_name_zh", pl.lit(flow).alias("flow"), "year", "through_month", "rank", "hs2",
            "hs2_desc", "hs2_desc_zh", pl.col(col).alias("value_usd"),
            pl.when(pl.col("total") > 0).then(pl.col(col) / pl.col("total") * 100.0).otherwise(None).alias("share_pct"),
            pl.col(prev_col).alias("prev_year_usd"), pl.col(yoy).alias("yoy_pct"), "balance_usd", "review_flags"))
    return pl.concat(parts).cast(DETAIL_SCHEMA).sort(["cty_code", "flow", "rank"])


REVISION_SCHEMA = {
    "cty_code": pl.Utf8, "cty_name_zh": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32, "month": pl.Int32,
    "hs2": pl.Utf8, "hs2_desc_zh": pl.Utf8, "previous_usd": pl.Float64, "revised_usd": pl.Float64,
    "change_usd": pl.Float64, "change_pct": pl.Float64, "previous_week": pl.Utf8,
}


def build_revisions(current: pl.DataFrame, previous: pl.DataFrame, previous_week: str) -> pl.DataFrame:
    """Values of months both partitions hold that changed since last week's partition (≥ USD 1)."""
    if current.is_empty() or previous.is_empty():
        return pl.DataFrame(schema=REVISION_SCHEMA)
    prev = previous.select(*KEY, pl.col("value_usd").alias("previous_usd"))
    df = current.select(*KEY, "cty_name_zh", "hs2_desc_zh", pl.col("value_usd").alias("revised_usd")).join(
        prev, on=KEY, how="inner")
    df = df.filter(pl.col("previous_usd").is_not_null() & pl.col("revised_usd").is_not_null()
                   & ((pl.col("revised_usd") - pl.col("previous_usd")).abs() >= 1.0))
    df = df.with_columns(change_usd=pl.col("revised_usd") - pl.col("previous_usd"),
                         change_pct=pl.when(pl.col("previous_usd") != 0).then(
                             (pl.col("revised_usd") - pl.col("previous_usd")) / pl.col("previous_usd").abs() * 100)
                         .otherwise(None),
                         previous_week=pl.lit(previous_week))
    return df.select(list(REVISION_SCHEMA)).cast(REVISION_SCHEMA).sort(KEY)


def build_release_status(as_of: str, latest: tuple[int, int], release: str, next_due: tuple[int, int, str],
                         diag: WeekDiagnostics) -> pl.DataFrame:
    months = expected_months(latest)
    return pl.DataFrame([{
        "latest_year": latest[0], "latest_month": latest[1],
        "months_available": f"{months[0][0]}-{months[0][1]:02d}..{latest[0]}-{latest[1]:02d}",
        "as_of": as_of, "latest_release_date": release,
        "next_year": next_due[0], "next_month": next_due[1], "next_release_date": next_due[2],
        "requests": diag.requests, "failed_requests": len(diag.failed_requests),
        "missing_series": ";".join(diag.missing_series),
        "review_flags": ";".join(f for f, bad in (("partial_fetch", diag.failed_requests),
                                                  ("series_missing", diag.missing_series)) if bad),
    }]).with_columns(pl.col("as_of").str.to_date(), pl.col("latest_release_date").str.to_date(),
                     pl.col("next_release_date").str.to_date(),
                     pl.col(["latest_year", "latest_month", "next_year", "next_month", "requests",
                             "failed_requests"]).cast(pl.Int32))
