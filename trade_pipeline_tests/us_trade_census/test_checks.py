"""The layer's invariants (checks.py) on stored rows: each one holds on the sample, fails with ERROR (blocking) when a
stored row violates it without a QUALITY flag, and with WARN when the violating row is flagged. A blocking failure
stops everything downstream."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import AssetCheckSeverity, DagsterInstance, materialize

from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.us_trade_census import checks, metrics
from trade_pipeline.defs.us_trade_census.assets import ASSETS
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

W05 = "2026-01-26"
BY_NAME = {inv.name: inv for inv in checks.INVARIANTS}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("census_checks")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    try:
        result = materialize(
            ASSETS,
            resources={"warehouse": Warehouse(), "site": Site(), "census": CensusTradeClient()},
            partition_key=W05,
            instance=DagsterInstance.ephemeral(),
        )
        assert result.success
    finally:
        mp.undo()
    return data


@pytest.fixture
def wh(stored: Path, isolated_data_dir: Path) -> Warehouse:
    shutil.copytree(stored, isolated_data_dir, dirs_exist_ok=True)
    return Warehouse()


def evaluate(wh: Warehouse, name: str):
    inv = BY_NAME[name]
    (result,) = [r for r in checks.evaluate(wh, inv.asset, [W05]) if r.check_name == name]
    return result


def tamper(wh: Warehouse, sql: str, *params) -> None:
    with wh.connect() as conn:
        conn.execute(sql, list(params))


def test_every_invariant_holds_on_the_sample_and_is_declared_blocking(wh: Warehouse) -> None:
    for inv in checks.INVARIANTS:
        r = evaluate(wh, inv.name)
        assert r.passed, (inv.name, r.metadata)
        assert inv.spec().blocking


# (check, the damage: one UPDATE that breaks the invariant on a stored row, WHERE clause naming that row)
BREAKS = [
    (
        "census_totals_match_hs2",
        "census_monthly_flows",
        "value_usd = value_usd + 5e8",
        "cty_code = '5700' AND flow = 'export' AND year = 2025 AND month = 3 AND hs2 = 'TOTAL'",
    ),
    (
        "census_ytd_is_sum_of_months",
        "census_monthly_flows",
        "ytd_usd = ytd_usd - 5e8",
        "cty_code = '5830' AND flow = 'import' AND year = 2025 AND month = 7 AND hs2 = '84'",
    ),
    (
        "census_ytd_is_sum_of_months",
        "census_monthly_flows",
        "value_usd = NULL",  # a NULL month under a printed YTD
        "cty_code = '5830' AND flow = 'import' AND year = 2025 AND month = 2 AND hs2 = '84'",
    ),
    (
        "census_balance_is_exports_minus_imports",
        "census_trade_balance",
        "balance_usd = balance_usd + 1e9",
        "cty_code = '5880' AND hs2 = '87'",
    ),
    (
        "census_balance_is_exports_minus_imports",
        "census_trade_balance",
        "share_of_net_deficit_pct = 12.5",
        "cty_code = '5830' AND hs2 = '84'",
    ),
    (
        "census_balance_ytd_is_sum_of_months",
        "census_trade_balance",
        "export_ytd_usd = 0, balance_usd = -import_ytd_usd",
        "cty_code = '5700' AND hs2 = '85'",
    ),  # issue 12: chapter exports taken as 0
    (
        "census_balance_chapters_sum_to_total",
        "census_trade_balance",
        "import_ytd_usd = import_ytd_usd * 1.1",
        "cty_code = '4280' AND hs2 = 'TOTAL'",
    ),
    (
        "census_deficit_shares_within_100pct",
        "census_trade_balance",
        "share_of_deficit_pct = 140",
        "cty_code = '5830' AND hs2 = '84'",
    ),
    (
        "census_deficit_shares_within_100pct",
        "census_trade_balance",  # each share plausible, the sum is not
        "share_of_deficit_pct = share_of_deficit_pct * 1.5",
        "cty_code = '5880' AND share_of_deficit_pct IS NOT NULL",
    ),
    (
        "census_detail_shares_within_100pct",
        "census_country_detail",
        "share_pct = -3",
        "cty_code = '5800' AND flow = 'import' AND rank = 2",
    ),
]


@pytest.mark.parametrize("name, table, set_, where", BREAKS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BREAKS)])
def test_an_unflagged_violation_blocks_and_a_flagged_one_warns(wh: Warehouse, name, table, set_, where) -> None:
    tamper(wh, f"UPDATE {table} SET {set_} WHERE week_start = ?::DATE AND {where}", W05)
    r = evaluate(wh, name)
    assert not r.passed and r.severity == AssetCheckSeverity.ERROR and r.metadata["unflagged_violations"].value > 0
    # the same violation on rows that carry a QUALITY flag: a WARN finding, the week may publish
    tamper(wh, f"UPDATE {table} SET review_flags = 'quarantined_rows' WHERE week_start = ?::DATE", W05)
    r = evaluate(wh, name)
    assert not r.passed and r.severity == AssetCheckSeverity.WARN and r.metadata["flagged_violations"].value > 0
    # a NOTICE flag does not excuse it
    tamper(wh, f"UPDATE {table} SET review_flags = 'mom_gt_30pct' WHERE week_start = ?::DATE", W05)
    assert evaluate(wh, name).severity == AssetCheckSeverity.ERROR


def test_a_gap_in_coverage_under_a_printed_ytd_is_a_violation(wh: Warehouse) -> None:
    tamper(
        wh,
        "UPDATE census_series_coverage SET status = 'missing' WHERE week_start = ?::DATE AND cty_code = '5700' "
        "AND flow = 'export' AND level = 'HS2' AND year = 2025 AND month = 4",
        W05,
    )
    assert evaluate(wh, "census_ytd_is_sum_of_months").severity == AssetCheckSeverity.ERROR
    assert evaluate(wh, "census_balance_ytd_is_sum_of_months").severity == AssetCheckSeverity.ERROR


def test_a_blocking_failure_stops_everything_downstream(monkeypatch: pytest.MonkeyPatch) -> None:
    real = metrics.build_trade_balance

    def wrong(*args, **kwargs):  # a builder bug: chapter exports taken as 0, nothing flagged
        import polars as pl

        df = real(*args, **kwargs)
        return df.with_columns(
            export_ytd_usd=pl.when(pl.col("hs2") == "TOTAL").then(pl.col("export_ytd_usd")).otherwise(0.0)
        ).with_columns(balance_usd=pl.col("export_ytd_usd") - pl.col("import_ytd_usd"))

    from trade_pipeline.defs.us_trade_census import assets

    monkeypatch.setattr(assets, "build_trade_balance", wrong)
    result = materialize(
        ASSETS,
        resources={"warehouse": Warehouse(), "site": Site(), "census": CensusTradeClient()},
        partition_key=W05,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
    bad = evaluations["census_balance_ytd_is_sum_of_months"]
    assert not bad.passed and bad.severity == AssetCheckSeverity.ERROR
    done = {e.asset_key.to_user_string() for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert not result.success and "census_trade_balance" in done
    assert "census_country_detail" not in done and "census_extractor_files" not in done
