"""Table builders on small hand-made replies: YTD, MoM/YoY, flags, balances, shares, revisions."""

import polars as pl
import pytest

from trade_pipeline.defs.us_trade_census.metrics import (
    build_country_detail,
    build_monthly_flows,
    build_revisions,
    build_trade_balance,
)
from trade_pipeline.defs.us_trade_census.resources import CensusFetch, CensusRequest
from trade_pipeline.defs.us_trade_census.wire import CensusRecord

LATEST = (2025, 2)


def rec(cty, flow, year, month, hs2, value, ytd=None, name=None) -> CensusRecord:
    names = {"5830": "TAIWAN", "5700": "CHINA"}
    return CensusRecord(cty, name or names[cty], flow, year, month, hs2, f"desc {hs2}", value, ytd)


def fetches(records: list[CensusRecord], failed: list[CensusRequest] = ()) -> list[CensusFetch]:
    out = [CensusFetch(CensusRequest("export", "HS2", 2025, 1, 2), "ok", records, "rid", "2026-01-01T00:00:00+00:00")]
    out += [CensusFetch(r, "failed", error="boom") for r in failed]
    return out


def taiwan_records() -> list[CensusRecord]:
    """Taiwan, Dec 2024..Feb 2025: exports 84 + 27, imports 84 + 85, with totals."""
    rows = []
    for (y, m), scale in {(2024, 1): 0.8, (2024, 2): 0.8, (2024, 12): 1.0, (2025, 1): 1.0, (2025, 2): 1.5}.items():
        rows += [
            rec("5830", "export", y, m, "84", 100 * scale),
            rec("5830", "export", y, m, "27", 50 * scale),
            rec("5830", "export", y, m, "TOTAL", 150 * scale),
            rec("5830", "import", y, m, "84", 400 * scale),
            rec("5830", "import", y, m, "85", 100 * scale),
            rec("5830", "import", y, m, "TOTAL", 500 * scale),
        ]
    return rows


@pytest.fixture
def monthly() -> pl.DataFrame:
    df, _ = build_monthly_flows(fetches(taiwan_records()), LATEST)
    return df


def row(df: pl.DataFrame, **where) -> dict:
    sub = df.filter(pl.all_horizontal([pl.col(k) == v for k, v in where.items()]))
    assert sub.height == 1, (where, sub)
    return sub.row(0, named=True)


def test_ytd_mom_yoy(monthly: pl.DataFrame) -> None:
    feb = row(monthly, cty_code="5830", flow="import", year=2025, month=2, hs2="TOTAL")
    assert feb["value_usd"] == 750 and feb["ytd_usd"] == 1250
    assert feb["mom_pct"] == pytest.approx(50.0) and feb["yoy_pct"] == pytest.approx((750 - 400) / 400 * 100)
    jan = row(monthly, cty_code="5830", flow="import", year=2025, month=1, hs2="84")
    assert jan["mom_pct"] == pytest.approx(0.0)  # January compares with December of the year before
    first = row(monthly, cty_code="5830", flow="import", year=2024, month=1, hs2="84")
    assert first["mom_pct"] is None and first["yoy_pct"] is None
    assert feb["cty_name_zh"] == "台灣" and row(monthly, cty_code="5830", flow="import", year=2025, month=2, hs2="84")[
        "hs2_desc_zh"
    ].startswith("核子反應器")


def test_mom_flag_only_on_totals_and_material_chapters(monthly: pl.DataFrame) -> None:
    # +50 % in Feb: the total is flagged; the tiny chapters (< USD 100 M) are not.
    assert "mom_gt_30pct" in row(monthly, flow="import", year=2025, month=2, hs2="TOTAL")["review_flags"]
    assert row(monthly, flow="import", year=2025, month=2, hs2="84")["review_flags"] == ""
    big = [rec("5830", "import", 2025, 1, "84", 200e6), rec("5830", "import", 2025, 2, "84", 300e6)]
    df, diag = build_monthly_flows(fetches(big), LATEST)
    # (February 2024 is missing here, so the YoY is withheld: base_month_missing)
    assert row(df, month=2, hs2="84")["review_flags"] == "base_month_missing;mom_gt_30pct"
    assert any("5830 import 2025-02 84" in m for m in diag.mom_flags)


def test_total_not_matching_chapters_is_flagged() -> None:
    records = [
        rec("5830", "export", 2025, 1, "84", 100e6),
        rec("5830", "export", 2025, 1, "27", 50e6),
        rec("5830", "export", 2025, 1, "TOTAL", 160e6),
    ]
    df, diag = build_monthly_flows(fetches(records), (2025, 1))
    assert "total_ne_hs2_sum" in row(df, hs2="TOTAL")["review_flags"]
    assert diag.total_mismatches == ["5830 export 2025-01 total 160,000,000 vs HS2 sum 150,000,000"]
    ok = [rec("5830", "export", 2025, 1, "84", 100e6), rec("5830", "export", 2025, 1, "TOTAL", 100.5e6)]
    df, diag = build_monthly_flows(fetches(ok), (2025, 1))  # within USD 1 M: rounding noise
    assert diag.total_mismatches == []


def test_missing_series_and_api_ytd_disagreement() -> None:
    records = [
        rec("5830", "export", 2025, 1, "TOTAL", 100e6, ytd=100e6),
        rec("5830", "export", 2025, 2, "TOTAL", 100e6, ytd=150e6),
    ]
    df, diag = build_monthly_flows(fetches(records), LATEST)
    assert row(df, month=2)["ytd_usd"] == 200e6 and "ytd_mismatch" in row(df, month=2)["review_flags"]
    assert "5700 import 2025-02 TOTAL" in diag.missing_series and "5830 export 2025-01 HS2" in diag.missing_series
    assert "5830 export 2025-01 TOTAL" not in diag.missing_series


def test_months_after_the_week_are_dropped() -> None:
    records = [rec("5830", "export", 2025, 2, "TOTAL", 1.0), rec("5830", "export", 2025, 3, "TOTAL", 1.0)]
    df, _ = build_monthly_flows(fetches(records), LATEST)
    assert df["month"].to_list() == [2]


def test_failed_total_request_is_derived_from_chapters_and_flagged() -> None:
    records = [r for r in taiwan_records() if r.hs2 != "TOTAL" or r.flow == "export"]
    failed = [CensusRequest("import", "TOTAL", 2025, 1, 2), CensusRequest("import", "TOTAL", 2024, 1, 12)]
    df, diag = build_monthly_flows(fetches(records, failed), LATEST)
    t = row(df, flow="import", year=2025, month=2, hs2="TOTAL")
    assert t["value_usd"] == 750 and "total_derived_from_hs2" in t["review_flags"]
    assert len(diag.failed_requests) == 2 and "boom" in diag.failed_requests[0]


def test_failed_hs2_request_flags_the_totals() -> None:
    records = [r for r in taiwan_records() if r.hs2 == "TOTAL" or r.flow == "export"]
    df, _ = build_monthly_flows(fetches(records, [CensusRequest("import", "HS2", 2025, 1, 2)]), LATEST)
    assert "hs2_fetch_failed" in row(df, flow="import", year=2025, month=2, hs2="TOTAL")["review_flags"]
    assert "hs2_fetch_failed" not in row(df, flow="import", year=2024, month=2, hs2="TOTAL")["review_flags"]


def test_unexpected_country_name_is_flagged() -> None:
    df, _ = build_monthly_flows(fetches([rec("5830", "export", 2025, 1, "TOTAL", 1.0, name="TAIWAN (ROC)")]), (2025, 1))
    assert "cty_name_unexpected" in row(df, hs2="TOTAL")["review_flags"]


def test_balance_shares_and_previous_year(monthly: pl.DataFrame) -> None:
    bal = build_trade_balance(monthly, LATEST)
    total = row(bal, hs2="TOTAL")
    assert (total["export_ytd_usd"], total["import_ytd_usd"], total["balance_usd"]) == (375, 1250, -875)
    assert total["share_of_deficit_pct"] is None and total["balance_label"] == "逆差"
    assert total["prev_year_balance_usd"] == (150 * 0.8 * 2) - (500 * 0.8 * 2)
    hs84, hs85 = row(bal, hs2="84"), row(bal, hs2="85")
    # shares of the summed chapter deficits (84: -750, 85: -250): they add up to 100 %
    assert hs84["balance_usd"] == 250 - 1000 and hs84["share_of_deficit_pct"] == pytest.approx(750 / 1000 * 100)
    assert hs85["share_of_deficit_pct"] == pytest.approx(25.0)
    hs27 = row(bal, hs2="27")  # exports only: import side is zero, a surplus has no deficit share
    assert hs27["import_ytd_usd"] == 0 and hs27["balance_label"] == "順差" and hs27["share_of_deficit_pct"] is None
    assert hs84["export_yoy_pct"] == pytest.approx((250 - 160) / 160 * 100)


def test_country_detail_ranks_chapters(monthly: pl.DataFrame) -> None:
    detail = build_country_detail(build_trade_balance(monthly, LATEST))
    imports = detail.filter(pl.col("flow") == "import").sort("rank")
    assert imports["hs2"].to_list() == ["84", "85"] and imports["rank"].to_list() == [1, 2]
    assert imports["share_pct"][0] == pytest.approx(1000 / 1250 * 100)


def test_revisions_against_last_week(monthly: pl.DataFrame) -> None:
    revised = monthly.with_columns(
        value_usd=pl.when(
            (pl.col("month") == 1) & (pl.col("year") == 2025) & (pl.col("hs2") == "84") & (pl.col("flow") == "import")
        )
        .then(pl.col("value_usd") + 5)
        .otherwise(pl.col("value_usd"))
    )
    rev = build_revisions(revised, monthly, "2026-01-19")
    assert rev.height == 1
    r = rev.row(0, named=True)
    assert (r["hs2"], r["previous_usd"], r["revised_usd"], r["change_usd"], r["previous_week"]) == (
        "84",
        400,
        405,
        5,
        "2026-01-19",
    )
    assert build_revisions(monthly, monthly, "x").height == 0
    assert build_revisions(monthly, pl.DataFrame(), "x").height == 0
