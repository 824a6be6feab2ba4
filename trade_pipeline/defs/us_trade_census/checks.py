"""Invariants of the us_trade_census tables, checked on the STORED rows (SQL over DuckDB), independently of the code
that built them: the safety net under the builders' own flags.

- HS2 chapters add up to the country total (rounding tolerance), month by month and year to date;
- a year to date is the sum of its months, and NULL when one of them is missing or NULL;
- balance = exports − imports;
- shares lie within 0–100 %, and a partner's deficit shares (and a direction's top-chapter shares) add up to ≤ 100 %.

A violating row must carry a QUALITY flag (the report then marks it ``[REVIEW_NEEDED]``). The checks are declared
blocking: a violation on a row WITHOUT such a flag fails with ERROR severity and stops everything downstream (an
unflagged wrong figure must never reach the report); violations on flagged rows only are a WARN finding and the week
publishes. The checks run inside the asset that writes the table and are returned with its materialization.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from trade_pipeline.core import contract
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.us_trade_census.metrics import (
    TOTAL_TOLERANCE_ABS_USD,
    TOTAL_TOLERANCE_REL,
    YTD_TOLERANCE_ABS_USD,
)

LIST_LIMIT = 50
SHARE_TOLERANCE_PCT = 0.01  # float noise on a sum of shares
MONEY_TOLERANCE_USD = 1.0  # float noise on a difference of two stored sums

_WEEKS = "week_start IN (SELECT unnest(?::DATE[]))"


@dataclass(frozen=True)
class Invariant:
    """``sql`` returns the violating rows of the given weeks (every ``?`` = the weeks list, bound) as
    (week_start, row, problem, review_flags): ``row`` names the row, ``review_flags`` are its flags."""

    name: str
    asset: str
    tables: tuple[str, ...]
    description: str
    sql: str

    def spec(self) -> AssetCheckSpec:
        return AssetCheckSpec(self.name, asset=self.asset, blocking=True, description=self.description)


_TOL = f"greatest({TOTAL_TOLERANCE_ABS_USD}, abs({{v}}) * {TOTAL_TOLERANCE_REL})"

MONTHLY_HS2_SUM = Invariant(
    "census_totals_match_hs2",
    "census_monthly_flows",
    (contract.CENSUS_MONTHLY_FLOWS,),
    f"Each country total equals the sum of its HS2 chapters within max(USD {TOTAL_TOLERANCE_ABS_USD / 1e6:.0f} M, "
    f"{TOTAL_TOLERANCE_REL:.1%}) where every chapter value is known; a violating total must be flagged (blocking "
    "otherwise).",
    f"""
    WITH ch AS (
        SELECT week_start, cty_code, flow, year, month, sum(value_usd) AS s, count(*) - count(value_usd) AS nulls
        FROM {contract.CENSUS_MONTHLY_FLOWS} WHERE {_WEEKS} AND hs2 <> 'TOTAL' GROUP BY ALL)
    SELECT t.week_start, concat_ws(' ', t.cty_code, t.flow, t.year || '-' || lpad(t.month::VARCHAR, 2, '0'), 'TOTAL'),
           'total ' || round(t.value_usd)::BIGINT || ' vs chapters ' || round(ch.s)::BIGINT, t.review_flags
    FROM {contract.CENSUS_MONTHLY_FLOWS} t JOIN ch USING (week_start, cty_code, flow, year, month)
    WHERE t.hs2 = 'TOTAL' AND t.value_usd IS NOT NULL AND ch.nulls = 0
      AND abs(t.value_usd - ch.s) > {_TOL.format(v="t.value_usd")}
    """,
)

# The months a year to date needs: every month of the year through this one; each must be present in the coverage
# (or, for chapters, answered: an absent chapter row of an answered month is 0) and not NULL.
MONTHLY_YTD = Invariant(
    "census_ytd_is_sum_of_months",
    "census_monthly_flows",
    (contract.CENSUS_MONTHLY_FLOWS, contract.CENSUS_COVERAGE),
    "Each row's ytd_usd is the sum of its series' values from January through its month, and NULL when one of those "
    "months is missing or NULL (never a smaller number); a violating row must be flagged (blocking otherwise).",
    f"""
    WITH m AS (
        SELECT * , CASE WHEN hs2 = 'TOTAL' THEN 'TOTAL' ELSE 'HS2' END AS level
        FROM {contract.CENSUS_MONTHLY_FLOWS} WHERE {_WEEKS}),
    s AS (
        SELECT a.week_start, a.cty_code, a.flow, a.hs2, a.year, a.month, any_value(a.ytd_usd) AS ytd,
               any_value(a.review_flags) AS flags, sum(b.value_usd) AS total, count(*) - count(b.value_usd) AS nulls
        FROM m a JOIN m b ON a.week_start = b.week_start AND a.cty_code = b.cty_code AND a.flow = b.flow
             AND a.hs2 = b.hs2 AND a.year = b.year AND b.month <= a.month
        GROUP BY ALL),
    g AS (
        SELECT a.week_start, a.cty_code, a.flow, a.hs2, a.year, a.month, count(c.month) AS gaps
        FROM m a LEFT JOIN {contract.CENSUS_COVERAGE} c ON c.week_start = a.week_start AND c.cty_code = a.cty_code
             AND c.flow = a.flow AND c.year = a.year AND c.level = a.level AND c.month <= a.month
             AND c.status = 'missing'
        GROUP BY ALL)
    SELECT s.week_start, concat_ws(' ', s.cty_code, s.flow, s.year || '-' || lpad(s.month::VARCHAR, 2, '0'), s.hs2),
           CASE WHEN g.gaps > 0 OR s.nulls > 0 THEN 'year to date printed over a missing or NULL month'
                ELSE 'ytd ' || round(s.ytd)::BIGINT || ' vs sum of months ' || round(s.total)::BIGINT END,
           s.flags
    FROM s JOIN g USING (week_start, cty_code, flow, hs2, year, month)
    WHERE s.ytd IS NOT NULL AND (g.gaps > 0 OR s.nulls > 0 OR abs(s.ytd - s.total) > {YTD_TOLERANCE_ABS_USD})
    """,
)

BALANCE_ARITHMETIC = Invariant(
    "census_balance_is_exports_minus_imports",
    "census_trade_balance",
    (contract.CENSUS_TRADE_BALANCE,),
    "balance_usd = export_ytd_usd − import_ytd_usd and prev_year_balance_usd likewise (NULL when a side is NULL), "
    "share_of_net_deficit_pct = balance / the partner's total balance; a violating row must be flagged (blocking "
    "otherwise).",
    f"""
    SELECT week_start, cty_code || ' ' || hs2, 'balance is not exports minus imports', review_flags
    FROM {contract.CENSUS_TRADE_BALANCE} WHERE {_WEEKS} AND (
        (balance_usd IS NULL) <> (export_ytd_usd IS NULL OR import_ytd_usd IS NULL)
        OR abs(balance_usd - (export_ytd_usd - import_ytd_usd)) > {MONEY_TOLERANCE_USD}
        OR (prev_year_balance_usd IS NULL) <> (export_prev_ytd_usd IS NULL OR import_prev_ytd_usd IS NULL)
        OR abs(prev_year_balance_usd - (export_prev_ytd_usd - import_prev_ytd_usd)) > {MONEY_TOLERANCE_USD})
    UNION ALL
    SELECT b.week_start, b.cty_code || ' ' || b.hs2, 'share of the net deficit is not balance / total balance',
           b.review_flags
    FROM {contract.CENSUS_TRADE_BALANCE} b JOIN {contract.CENSUS_TRADE_BALANCE} t
         ON t.week_start = b.week_start AND t.cty_code = b.cty_code AND t.hs2 = 'TOTAL'
    WHERE {_WEEKS.replace("week_start", "b.week_start")} AND b.hs2 <> 'TOTAL' AND b.share_of_net_deficit_pct IS NOT NULL
      AND (t.balance_usd IS NULL OR t.balance_usd >= 0 OR b.balance_usd IS NULL
           OR abs(b.share_of_net_deficit_pct - b.balance_usd / t.balance_usd * 100) > {SHARE_TOLERANCE_PCT})
    """,
)

# one (week, partner, hs2, flow, year) year to date against the stored months: sum, NULLs, coverage gaps
_BALANCE_SIDES = " UNION ALL ".join(
    f"SELECT week_start, cty_code, hs2, '{flow}' AS flow, year{'' if cur else ' - 1'} AS yr, through_month, "
    f"{flow}{'' if cur else '_prev'}_ytd_usd AS ytd, review_flags FROM {contract.CENSUS_TRADE_BALANCE} WHERE {_WEEKS}"
    for flow in ("export", "import")
    for cur in (True, False)
)
BALANCE_YTD = Invariant(
    "census_balance_ytd_is_sum_of_months",
    "census_trade_balance",
    (contract.CENSUS_TRADE_BALANCE, contract.CENSUS_MONTHLY_FLOWS, contract.CENSUS_COVERAGE),
    "Each year to date in census_trade_balance is the sum of the stored months January..through_month (an absent "
    "chapter of an answered month is 0), and NULL when a month is missing or NULL — a chapter whose exports were "
    "never fetched is NULL, not 0; a violating row must be flagged (blocking otherwise).",
    f"""
    WITH b AS ({_BALANCE_SIDES}),
    s AS (
        SELECT b.week_start, b.cty_code, b.hs2, b.flow, b.yr, any_value(b.ytd) AS ytd, any_value(b.review_flags) AS f,
               coalesce(sum(m.value_usd), 0) AS total, count(m.month) - count(m.value_usd) AS nulls
        FROM b LEFT JOIN {contract.CENSUS_MONTHLY_FLOWS} m ON m.week_start = b.week_start AND m.cty_code = b.cty_code
             AND m.hs2 = b.hs2 AND m.flow = b.flow AND m.year = b.yr AND m.month <= b.through_month
        GROUP BY ALL),
    g AS (
        SELECT b.week_start, b.cty_code, b.hs2, b.flow, b.yr, b.through_month,
               count(c.month) FILTER (WHERE c.status <> 'missing') AS answered
        FROM b LEFT JOIN {contract.CENSUS_COVERAGE} c ON c.week_start = b.week_start AND c.cty_code = b.cty_code
             AND c.flow = b.flow AND c.year = b.yr AND c.month <= b.through_month
             AND c.level = CASE WHEN b.hs2 = 'TOTAL' THEN 'TOTAL' ELSE 'HS2' END
        GROUP BY ALL)
    SELECT s.week_start, concat_ws(' ', s.cty_code, s.hs2, s.flow, s.yr),
           CASE WHEN g.answered < g.through_month OR s.nulls > 0 THEN 'year to date printed over a missing or NULL month'
                ELSE 'ytd ' || round(s.ytd)::BIGINT || ' vs sum of months ' || round(s.total)::BIGINT END, s.f
    FROM s JOIN g USING (week_start, cty_code, hs2, flow, yr)
    WHERE s.ytd IS NOT NULL
      AND (g.answered < g.through_month OR s.nulls > 0 OR abs(s.ytd - s.total) > {YTD_TOLERANCE_ABS_USD})
    """,
)

BALANCE_HS2_SUM = Invariant(
    "census_balance_chapters_sum_to_total",
    "census_trade_balance",
    (contract.CENSUS_TRADE_BALANCE,),
    "The partner's chapter years to date add up to its TOTAL row (both flows, rounding tolerance) where every chapter "
    "is known; a violating TOTAL row must be flagged (blocking otherwise).",
    f"""
    WITH ch AS (
        SELECT week_start, cty_code, sum(export_ytd_usd) AS ex, sum(import_ytd_usd) AS im,
               count(*) - count(export_ytd_usd) AS ex_nulls, count(*) - count(import_ytd_usd) AS im_nulls
        FROM {contract.CENSUS_TRADE_BALANCE} WHERE {_WEEKS} AND hs2 <> 'TOTAL' GROUP BY ALL)
    SELECT t.week_start, t.cty_code || ' TOTAL', 'chapters do not add up to the total', t.review_flags
    FROM {contract.CENSUS_TRADE_BALANCE} t JOIN ch USING (week_start, cty_code)
    WHERE t.hs2 = 'TOTAL' AND (
        (ch.ex_nulls = 0 AND t.export_ytd_usd IS NOT NULL AND abs(t.export_ytd_usd - ch.ex) > {_TOL.format(v="t.export_ytd_usd")})
        OR (ch.im_nulls = 0 AND t.import_ytd_usd IS NOT NULL AND abs(t.import_ytd_usd - ch.im) > {_TOL.format(v="t.import_ytd_usd")}))
    """,
)

BALANCE_SHARES = Invariant(
    "census_deficit_shares_within_100pct",
    "census_trade_balance",
    (contract.CENSUS_TRADE_BALANCE,),
    "Every share_of_deficit_pct lies within 0–100 % and a partner's deficit shares add up to at most 100 %; a "
    "violating row (every share row of the partner, for a sum) must be flagged (blocking otherwise).",
    f"""
    WITH p AS (
        SELECT week_start, cty_code, sum(share_of_deficit_pct) AS total FROM {contract.CENSUS_TRADE_BALANCE}
        WHERE {_WEEKS} GROUP BY ALL)
    SELECT b.week_start, b.cty_code || ' ' || b.hs2,
           CASE WHEN b.share_of_deficit_pct NOT BETWEEN 0 AND 100 THEN 'share ' || round(b.share_of_deficit_pct, 2) || ' %'
                ELSE 'partner deficit shares sum to ' || round(p.total, 2) || ' %' END, b.review_flags
    FROM {contract.CENSUS_TRADE_BALANCE} b JOIN p USING (week_start, cty_code)
    WHERE {_WEEKS.replace("week_start", "b.week_start")} AND b.share_of_deficit_pct IS NOT NULL
      AND (b.share_of_deficit_pct NOT BETWEEN 0 AND 100 OR p.total > 100 + {SHARE_TOLERANCE_PCT})
    """,
)

DETAIL_SHARES = Invariant(
    "census_detail_shares_within_100pct",
    "census_country_detail",
    (contract.CENSUS_COUNTRY_DETAIL,),
    "Every share_pct lies within 0–100 % and a partner's top-chapter shares in one direction add up to at most "
    "100 %; a violating row must be flagged (blocking otherwise).",
    f"""
    WITH p AS (
        SELECT week_start, cty_code, flow, sum(share_pct) AS total FROM {contract.CENSUS_COUNTRY_DETAIL}
        WHERE {_WEEKS} GROUP BY ALL)
    SELECT d.week_start, d.cty_code || ' ' || d.flow || ' #' || d.rank || ' ' || d.hs2,
           CASE WHEN d.share_pct NOT BETWEEN 0 AND 100 THEN 'share ' || round(d.share_pct, 2) || ' %'
                ELSE 'top-chapter shares sum to ' || round(p.total, 2) || ' %' END, d.review_flags
    FROM {contract.CENSUS_COUNTRY_DETAIL} d JOIN p USING (week_start, cty_code, flow)
    WHERE {_WEEKS.replace("week_start", "d.week_start")} AND d.share_pct IS NOT NULL
      AND (d.share_pct NOT BETWEEN 0 AND 100 OR p.total > 100 + {SHARE_TOLERANCE_PCT})
    """,
)

INVARIANTS: tuple[Invariant, ...] = (
    MONTHLY_HS2_SUM,
    MONTHLY_YTD,
    BALANCE_ARITHMETIC,
    BALANCE_YTD,
    BALANCE_HS2_SUM,
    BALANCE_SHARES,
    DETAIL_SHARES,
)


def specs(asset: str) -> list[AssetCheckSpec]:
    return [inv.spec() for inv in INVARIANTS if inv.asset == asset]


def _flagged(flags: str | None) -> bool:
    return bool(contract.quality_flags(contract.split_flags(flags)))


def evaluate(warehouse: Warehouse, asset: str, weeks: list[str]) -> list[AssetCheckResult]:
    """Run the asset's invariants over the stored rows of ``weeks``."""
    results = []
    for inv in INVARIANTS:
        if inv.asset != asset:
            continue
        if not all(warehouse.has_table(t) for t in inv.tables):
            rows = []
        else:
            rows = warehouse.query(inv.sql, [sorted(weeks)] * inv.sql.count("?")).rows()
        unflagged = [f"{w}: {key}: {problem}" for w, key, problem, flags in rows if not _flagged(flags)]
        flagged = [f"{w}: {key}: {problem} (flagged: {flags})" for w, key, problem, flags in rows if _flagged(flags)]
        results.append(
            AssetCheckResult(
                check_name=inv.name,
                asset_key=inv.asset,
                passed=not rows,
                severity=AssetCheckSeverity.ERROR if unflagged else AssetCheckSeverity.WARN,
                description=(
                    "unflagged violations: the figures would print without [REVIEW_NEEDED]"
                    if unflagged
                    else "violations only on flagged rows"
                    if rows
                    else "holds on every row"
                ),
                metadata={
                    "weeks_checked": MetadataValue.json(sorted(weeks)),
                    "unflagged_violations": len(unflagged),
                    "flagged_violations": len(flagged),
                    "unflagged": MetadataValue.json(_cap(unflagged)),
                    "flagged": MetadataValue.json(_cap(flagged)),
                },
            )
        )
    return results


def _cap(items: list[str]) -> list[str]:
    return items[:LIST_LIMIT] + ([f"... and {len(items) - LIST_LIMIT} more"] if len(items) > LIST_LIMIT else [])


CHECKS: list = []  # every check of this layer is declared on its asset (assets.py) and returned with its materialization
