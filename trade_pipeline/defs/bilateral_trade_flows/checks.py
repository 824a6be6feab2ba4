"""Asset checks of the bilateral_trade_flows layer: the `[REVIEW_NEEDED]` rules.

Every rule is declared on its asset with ``check_specs`` (WARN severity, visible in the UI) and evaluated inside the
materialization (see assets.py), because it needs the rows the asset just computed. The functions below are the
rules themselves: each takes the frame the asset wrote (with a ``week`` column) and returns the offending rows
(empty = pass), so they can be tested on crafted inputs. There are no standalone checks to register.

| rule                                   | asset / check                                              |
|----------------------------------------|------------------------------------------------------------|
| zero records for a reporter/flow/year  | comtrade_partner_flows.no_zero_records, market_concentration.no_missing_groups |
| partial HTTP failure                   | comtrade_partner_flows / comtrade_commodity_flows .no_partial_http_failure, market_concentration.no_missing_groups |
| truncation (count == cap)              | *.no_truncation, market_concentration / commodity_structure .no_truncated_metric, partner_rankings.truncated_rows_flagged |
| abs(YoY) > 50 %                        | partner_rankings.yoy_within_50pct, market_concentration.yoy_within_50pct |
| a reporter's two years differ > 2x     | market_concentration.years_within_2x                       |
| HHI outside 0-10,000                   | market_concentration.hhi_in_range                          |
| duplicate ranks                        | partner_rankings.unique_ranks                              |
| balance != export - import             | trade_balances.balance_equals_export_minus_import          |
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from trade_pipeline.core import contract

HHI_MAX = contract.HHI_MAX
HHI_TOLERANCE = 1e-6  # float rounding of a sum of squared shares; the same tolerance as the row flag
BALANCE_TOLERANCE_USD = 0.005

CHECKS: list = []


def _select(df: pl.DataFrame, cols: Iterable[str]) -> list[dict]:
    cols = [c for c in dict.fromkeys(cols) if c in df.columns]
    return [dict(r) for r in df.select(cols).iter_rows(named=True)]


def rows_with_flag(df: pl.DataFrame, flag: str, cols: Iterable[str]) -> list[dict]:
    """Rows whose ``review_flags`` (';'-joined codes) contain ``flag`` exactly."""
    if df.is_empty():
        return []
    hit = df.filter(pl.col("review_flags").fill_null("").str.split(";").list.contains(flag))
    return _select(hit, cols)


def requests_with_status(requests: pl.DataFrame, statuses: Iterable[str], cols: Iterable[str]) -> list[dict]:
    """Request-log rows (comtrade_requests) in one of ``statuses`` ('failed', 'truncated', 'empty', ...)."""
    if requests.is_empty():
        return []
    return _select(requests.filter(pl.col("status").is_in(list(statuses))), cols)


def duplicate_ranks(rankings: pl.DataFrame) -> list[dict]:
    """(week, reporter, flow, year, rank) that occur more than once."""
    if rankings.is_empty():
        return []
    keys = [c for c in ("week", "reporter_code", "flow", "year", "rank") if c in rankings.columns]
    return rankings.group_by(keys).len().filter(pl.col("len") > 1).sort(keys).to_dicts()


def hhi_out_of_range(conc: pl.DataFrame, cols: Iterable[str]) -> list[dict]:
    if conc.is_empty():
        return []
    bad = conc.filter((pl.col("hhi") < -HHI_TOLERANCE) | (pl.col("hhi") > HHI_MAX + HHI_TOLERANCE))
    return _select(bad, cols)


def balance_mismatches(bal: pl.DataFrame, cols: Iterable[str]) -> list[dict]:
    """Rows where balance_usd != export_usd - import_usd (or any of them is missing)."""
    if bal.is_empty():
        return []
    diff = (pl.col("balance_usd") - (pl.col("export_usd") - pl.col("import_usd"))).abs()
    return _select(bal.filter((diff > BALANCE_TOLERANCE_USD) | diff.is_null()), cols)


def balance_mismatch_mask(bal: pl.DataFrame) -> pl.Series:
    diff = (bal["balance_usd"] - (bal["export_usd"] - bal["import_usd"])).abs()
    return (diff > BALANCE_TOLERANCE_USD).fill_null(True)


# ---------------------------------------------------------------------------------------------------------------------
# Invariants (issue 12): what must hold on every stored row. The asset flags each violating row with a QUALITY flag
# before writing (``flag_where``); the BLOCKING check then fails only for violating rows that carry no QUALITY flag —
# a safety net: an unflagged impossible figure never reaches the report, a flagged one lets the week publish.
#
# | invariant                                   | asset / blocking check                        | flag on violators     |
# |---------------------------------------------|-----------------------------------------------|-----------------------|
# | partner rows <= World (tolerance)           | comtrade_partner_flows.partners_within_world  | partners_exceed_world |
# | balance = exports − imports                 | trade_balances.balance_is_exports_minus_imports | balance_mismatch    |
# | shares within 0–100 %                       | partner_rankings / commodity_structure .shares_within_0_100 | share_out_of_range |
# | HHI within [10,000 / partner_count, 10,000] | market_concentration.hhi_within_bounds        | hhi_out_of_range      |
# | top-3 share within 0–100 %                  | market_concentration.top3_share_within_100    | share_out_of_range    |
# ---------------------------------------------------------------------------------------------------------------------
SHARE_TOLERANCE_PCT = 1e-6
QUALITY_CODES = sorted(c for c, f in contract.FLAGS.items() if f.kind == contract.QUALITY)


def has_quality_flag() -> pl.Expr:
    """Per row: does ``review_flags`` hold a QUALITY flag (an unregistered code counts as one)?"""
    codes = pl.col("review_flags").fill_null("").str.split(";").list.eval(pl.element().filter(pl.element() != ""))
    return codes.list.eval(
        ~pl.element().is_in([c for c, f in contract.FLAGS.items() if f.kind == contract.NOTICE])
    ).list.any()


def flag_where(df: pl.DataFrame, mask: pl.Expr, code: str) -> pl.DataFrame:
    """``df`` with ``code`` added to ``review_flags`` where ``mask`` holds (flags kept sorted and unique)."""
    if df.is_empty():
        return df
    raw = pl.concat_str(
        [pl.col("review_flags").fill_null(""), pl.when(mask.fill_null(False)).then(pl.lit(code)).otherwise(pl.lit(""))],
        separator=";",
    )
    return df.with_columns(
        raw.str.split(";")
        .list.eval(pl.element().filter(pl.element() != "").unique().sort())
        .list.join(";")
        .alias("review_flags")
    )


def share_out_of_range(column: str) -> pl.Expr:
    v = pl.col(column)
    return v.is_not_null() & (v.is_nan() | (v < -SHARE_TOLERANCE_PCT) | (v > 100 + SHARE_TOLERANCE_PCT))


def balance_wrong() -> pl.Expr:
    diff = (pl.col("balance_usd") - (pl.col("export_usd") - pl.col("import_usd"))).abs()
    both_null = pl.col("balance_usd").is_null() & (pl.col("export_usd").is_null() | pl.col("import_usd").is_null())
    return ~both_null & ((diff > BALANCE_TOLERANCE_USD) | diff.is_null() | diff.is_nan())


def hhi_out_of_bounds() -> pl.Expr:
    """HHI outside [10,000 / n, 10,000] (n = partner_count); an HHI with no partner, or NaN, is out too."""
    hhi, n = pl.col("hhi"), pl.col("partner_count")
    lower = pl.when(n > 0).then(HHI_MAX / n.cast(pl.Float64))
    return hhi.is_not_null() & (
        hhi.is_nan() | (hhi > HHI_MAX + HHI_TOLERANCE) | lower.is_null() | (hhi < lower - HHI_TOLERANCE)
    )


def invariant_result(name: str, df: pl.DataFrame, violated: pl.Expr, cols: Iterable[str], words: str):
    """The blocking check's result: violations split into flagged (allowed to publish) and unflagged (blocking)."""
    from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

    if df.is_empty():
        hit = df
    else:
        hit = df.filter(violated.fill_null(False))
    unflagged = hit.filter(~has_quality_flag()) if hit.height else hit
    return AssetCheckResult(
        check_name=name,
        passed=unflagged.is_empty(),
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"{unflagged.height} rows where {words} carry no quality flag"
            if unflagged.height
            else f"ok ({hit.height} violating rows, all flagged [REVIEW_NEEDED])"
            if hit.height
            else "ok"
        ),
        metadata={
            "violations": hit.height,
            "unflagged": unflagged.height,
            "unflagged_rows": MetadataValue.json(_select(unflagged.head(50), cols)),
            "flagged_rows": MetadataValue.json(_select(hit.head(50), list(cols) + ["review_flags"])),
        },
    )
