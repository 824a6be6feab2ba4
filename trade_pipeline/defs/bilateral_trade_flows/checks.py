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
    cols = [c for c in cols if c in df.columns]
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
