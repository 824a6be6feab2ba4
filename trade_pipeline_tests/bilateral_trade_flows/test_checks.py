"""The [REVIEW_NEEDED] rules on crafted frames, and the two "by construction" rules (duplicate ranks, balance ≠
export − import) wired into their assets: a corrupted metric makes the WARN check fail and the row carry a flag."""

from __future__ import annotations

import polars as pl
from dagster import AssetCheckSeverity

from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows import checks, metrics
from trade_pipeline.defs.bilateral_trade_flows.assets import ASSETS
from trade_pipeline.defs.bilateral_trade_flows.parse import partner_flow_rows, partner_flows_frame
from trade_pipeline.defs.bilateral_trade_flows.resources import FetchResult

from .conftest import FastComtradeClient, run_layer

WEEK = "2026-01-26"


def test_every_rule_is_a_declared_warn_check() -> None:
    specs = {(s.asset_key.to_user_string(), s.name) for a in ASSETS for s in a.check_specs}
    assert {
        ("comtrade_partner_flows", "no_zero_records"),
        ("comtrade_partner_flows", "no_partial_http_failure"),
        ("comtrade_partner_flows", "no_truncation"),
        ("comtrade_commodity_flows", "no_partial_http_failure"),
        ("comtrade_commodity_flows", "no_truncation"),
        ("partner_rankings", "unique_ranks"),
        ("partner_rankings", "yoy_within_50pct"),
        ("partner_rankings", "truncated_rows_flagged"),
        ("trade_balances", "balance_equals_export_minus_import"),
        ("market_concentration", "hhi_in_range"),
        ("market_concentration", "yoy_within_50pct"),
        ("market_concentration", "years_within_2x"),
        ("market_concentration", "no_truncated_metric"),
        ("market_concentration", "no_missing_groups"),
    } <= specs
    for a in ASSETS:
        for s in a.check_specs:
            # findings never stop the graph; invariants block, but only for violations without a quality flag
            assert s.blocking == ((s.asset_key.to_user_string(), s.name) in INVARIANTS), s.name


INVARIANTS = {
    ("comtrade_partner_flows", "partners_within_world"),
    ("partner_rankings", "shares_within_0_100"),
    ("trade_balances", "balance_equals_export_minus_import"),
    ("market_concentration", "hhi_in_range"),
    ("market_concentration", "top3_share_within_100"),
    ("commodity_structure", "shares_within_0_100"),
}


def test_duplicate_ranks_rule() -> None:
    ranks = pl.DataFrame(
        {
            "week": [WEEK] * 4,
            "reporter_code": [156] * 4,
            "flow": ["X", "X", "X", "M"],
            "year": [2024] * 4,
            "rank": [1, 2, 2, 2],
        }
    )
    assert checks.duplicate_ranks(ranks) == [
        {"week": WEEK, "reporter_code": 156, "flow": "X", "year": 2024, "rank": 2, "len": 2}
    ]
    assert checks.duplicate_ranks(ranks.filter(pl.col("flow") == "M")) == []


def test_balance_rule() -> None:
    bal = pl.DataFrame(
        {
            "reporter_code": [1, 2, 3],
            "export_usd": [10.0, 10.0, None],
            "import_usd": [4.0, 4.0, 1.0],
            "balance_usd": [6.0, 6.5, 1.0],
        }
    )
    assert [r["reporter_code"] for r in checks.balance_mismatches(bal, ["reporter_code"])] == [2, 3]
    assert checks.balance_mismatch_mask(bal).to_list() == [False, True, True]


def test_invariants_block_only_unflagged_violations() -> None:
    conc = pl.DataFrame(
        {
            "k": [1, 2, 3, 4, 5, 6],
            "hhi": [2500.0, 9_000.0, 10_000.5, 3000.0, 2000.0, None],
            "partner_count": [4, 1, 5, 3, 0, 0],
            "top3_share_pct": [80.0, 100.0, 101.0, 60.0, 50.0, None],
            "review_flags": ["", "", "", "truncated", "yoy_gt_50pct", ""],
        }
    )
    # HHI >= 10,000/n: row 2 (n=1 → 10,000) and 4 (n=3 → 3,333) violate; 3 is above 10,000; 5 has no partner
    assert conc.filter(checks.hhi_out_of_bounds())["k"].to_list() == [2, 3, 4, 5]
    result = checks.invariant_result("hhi_in_range", conc, checks.hhi_out_of_bounds(), ["k"], "HHI out of bounds")
    # row 4 carries a QUALITY flag (allowed); 2, 3 and 5 carry none or only a NOTICE: they block
    assert not result.passed and result.severity == AssetCheckSeverity.ERROR
    assert [r["k"] for r in result.metadata["unflagged_rows"].value] == [2, 3, 5]
    flagged = checks.flag_where(conc, checks.hhi_out_of_bounds(), "hhi_out_of_range")
    assert checks.invariant_result("hhi_in_range", flagged, checks.hhi_out_of_bounds(), ["k"], "x").passed
    assert flagged["review_flags"].to_list()[:5] == [
        "",
        "hhi_out_of_range",
        "hhi_out_of_range",
        "hhi_out_of_range;truncated",
        "hhi_out_of_range;yoy_gt_50pct",
    ]
    assert conc.filter(checks.share_out_of_range("top3_share_pct"))["k"].to_list() == [3]


def test_hhi_rule_keeps_rounding_and_catches_real_excursions() -> None:
    conc = pl.DataFrame({"reporter_code": [1, 2, 3, 4], "hhi": [10_000.0 + 1e-9, 10_000.5, -0.1, 0.0]})
    assert [r["reporter_code"] for r in checks.hhi_out_of_range(conc, ["reporter_code"])] == [2, 3]


def test_rows_with_flag_matches_whole_codes_only() -> None:
    df = pl.DataFrame({"k": [1, 2, 3, 4], "review_flags": ["truncated", "count_mismatch;truncated", "", None]})
    assert [r["k"] for r in checks.rows_with_flag(df, "truncated", ["k"])] == [1, 2]
    assert checks.rows_with_flag(df, "trunc", ["k"]) == []


def test_ranks_are_unique_even_for_tied_values() -> None:
    rows = [
        {
            "reporterCode": 156,
            "partnerCode": p,
            "flowCode": "X",
            "refYear": 2024,
            "cmdCode": "TOTAL",
            "customsCode": "C00",
            "motCode": 0,
            "partner2Code": 0,
            "primaryValue": v,
        }
        for p, v in ((392, 50.0), (124, 50.0), (484, 50.0), (704, 80.0))
    ]
    flows = partner_flows_frame(partner_flow_rows(FetchResult("partner_totals", "preview", "k", "id", "", rows, 4)))
    ranks = metrics.rankings(flows)
    assert ranks.sort("rank").select("rank", "partner_code").rows() == [(1, 704), (2, 124), (3, 392), (4, 484)]
    assert checks.duplicate_ranks(ranks) == []


def test_corrupted_metrics_fail_the_warn_checks_and_flag_rows(monkeypatch) -> None:
    real_rankings, real_balances = metrics.rankings, metrics.balances

    def duplicated_rank(flows, extra=None):
        df = real_rankings(flows, extra)
        return df.with_columns(
            rank=pl.when(
                (pl.col("reporter_code") == 842)
                & (pl.col("flow") == "X")
                & (pl.col("year") == 2024)
                & (pl.col("rank") == 2)
            )
            .then(1)
            .otherwise(pl.col("rank"))
            .cast(pl.Int32)
        )

    def wrong_balance(flows, expected=None):
        df = real_balances(flows, expected)
        return df.with_columns(
            balance_usd=pl.when(
                (pl.col("reporter_code") == 392) & (pl.col("partner_code") == 156) & (pl.col("year") == 2024)
            )
            .then(pl.col("balance_usd") + 1e6)
            .otherwise(pl.col("balance_usd"))
        )

    monkeypatch.setattr(metrics, "rankings", duplicated_rank)
    monkeypatch.setattr(metrics, "balances", wrong_balance)
    result = run_layer(WEEK, FastComtradeClient())
    assert result.success
    evals = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}

    dup = evals[("partner_rankings", "unique_ranks")]
    assert not dup.passed and dup.severity == AssetCheckSeverity.WARN
    assert [(p["reporter_code"], p["flow"], p["year"], p["rank"]) for p in dup.metadata["problems"].value] == [
        (842, "X", 2024, 1)
    ]

    # an invariant: the violating row is flagged before it is written, so the blocking check lets the week publish
    bal = evals[("trade_balances", "balance_equals_export_minus_import")]
    assert bal.passed and bal.severity == AssetCheckSeverity.ERROR
    assert bal.metadata["violations"].value == 1 and bal.metadata["unflagged"].value == 0
    assert [(p["reporter_code"], p["partner_code"], p["year"]) for p in bal.metadata["flagged_rows"].value] == [
        (392, 156, 2024)
    ]
    row = (
        Warehouse()
        .query(
            "SELECT review_flags FROM trade_balances WHERE week_start = ?::DATE AND reporter_code = 392 "
            "AND partner_code = 156 AND year = 2024",
            [WEEK],
        )
        .row(0)
    )
    assert "balance_mismatch" in row[0].split(";")  # the row itself says [REVIEW_NEEDED]
