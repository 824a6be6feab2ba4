"""The [REVIEW_NEEDED] rules end to end: materialize the layer on modified copies of the sample captures and read the
flags on the rows and the WARN asset checks (what the UI shows)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetCheckSeverity

from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.codes import EXCLUDED_PARTNER_CODES
from trade_pipeline.defs.bilateral_trade_flows.resources import PREVIEW_RECORD_CAP

from .conftest import FastComtradeClient, find_capture, run_layer

WEEK = "2026-01-26"  # 2026-W05


def edit_body(path: Path, change: Callable[[dict], None]) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    body = json.loads(doc["response"]["body"])
    change(body)
    doc["response"]["body"] = json.dumps(body)
    path.write_text(json.dumps(doc), encoding="utf-8")


def total_capture(root: Path, reporter: int, flow: str, year: int) -> Path:
    return find_capture(root, reporterCode=str(reporter), flowCode=flow, period=str(year), cmdCode="TOTAL")


def checks_of(result) -> dict[tuple[str, str], object]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def flags(value: str | None) -> set[str]:
    return {f for f in (value or "").split(";") if f}


def group(df: pl.DataFrame, reporter: int, flow: str, year: int) -> pl.DataFrame:
    return df.filter((pl.col("reporter_code") == reporter) & (pl.col("flow") == flow) & (pl.col("year") == year))


def test_truncated_reply_never_yields_an_unflagged_metric(sample_copy: Path, isolated_data_dir: Path) -> None:
    # China's 2024 exports reply says it hit the preview cap (its 221 rows are what a capped answer would hold).
    edit_body(total_capture(sample_copy, 156, "X", 2024), lambda b: b.update(count=PREVIEW_RECORD_CAP))
    result = run_layer(WEEK, FastComtradeClient(capture_dir=str(sample_copy)))
    assert result.success  # a finding, never a crash

    wh = Warehouse()
    conc = wh.read_partition("market_concentration", WEEK)
    hit = group(conc, 156, "X", 2024).row(0, named=True)
    assert "truncated" in flags(hit["review_flags"]) and hit["confidence"] == "低"
    assert hit["hhi"] is not None  # rows are kept, the figure is flagged
    others = conc.filter(~((pl.col("reporter_code") == 156) & (pl.col("flow") == "X") & (pl.col("year") == 2024)))
    assert not any("truncated" in flags(f) for f in others["review_flags"].to_list())

    ranks = wh.read_partition("partner_rankings", WEEK)
    tainted = group(ranks, 156, "X", 2024)
    assert tainted.height == 20
    assert all("truncated" in flags(f) for f in tainted["review_flags"].to_list())
    assert set(tainted["confidence"].to_list()) == {"低"}
    assert not any("truncated" in flags(f) for f in ranks.filter(pl.col("reporter_code") != 156)["review_flags"])

    bal = wh.read_partition("trade_balances", WEEK)
    china_2024 = bal.filter((pl.col("reporter_code") == 156) & (pl.col("year") == 2024))
    assert china_2024.height > 0 and all("truncated" in flags(f) for f in china_2024["review_flags"].to_list())

    requests = wh.read_partition("comtrade_requests", WEEK)
    assert requests.filter(pl.col("status") == "truncated").select("reporter_code", "flow", "year").rows() == [
        (156, "X", 2024)
    ]

    checks = checks_of(result)
    for key in [("comtrade_partner_flows", "no_truncation"), ("market_concentration", "no_truncated_metric")]:
        assert not checks[key].passed and checks[key].severity == AssetCheckSeverity.WARN, key
    problems = checks[("market_concentration", "no_truncated_metric")].metadata["problems"].value
    assert [(p["reporter_code"], p["flow"], p["year"]) for p in problems] == [(156, "X", 2024)]
    assert checks[("partner_rankings", "truncated_rows_flagged")].passed  # every tainted row carries the flag
    assert checks[("market_concentration", "hhi_in_range")].passed

    md = (isolated_data_dir / "site/Extractor/bilateral_trade_flows/export_flow/156-export-2024.md").read_text("utf-8")
    assert "[REVIEW_NEEDED]" in md and "truncated" in md and "信心度：低" in md
    md = (isolated_data_dir / "site/Extractor/bilateral_trade_flows/market_concentration/156-hhi-2024.md").read_text(
        "utf-8"
    )
    header = dict(line[2:].split("：", 1) for line in md.splitlines() if line.startswith("- ") and "：" in line)
    assert header["信心度"] == "低"  # the file mixes a flagged and a clean flow: it is as weak as the flagged one
    assert header["審核旗標"].startswith("[REVIEW_NEEDED]") and "truncated" in header["審核旗標"]


def _shrink_total(body: dict) -> None:
    """One partner's value made negative so the partner total is a tenth of the real one: shares leave 0–100 %."""
    rows = [r for r in body["data"] if r["partnerCode"] not in EXCLUDED_PARTNER_CODES]
    total = sum(r["primaryValue"] for r in rows)
    top = max(rows, key=lambda r: r["primaryValue"])
    top["primaryValue"] -= 0.9 * total


def _scale(factor: float) -> Callable[[dict], None]:
    def change(body: dict) -> None:
        for r in body["data"]:
            r["primaryValue"] *= factor

    return change


def test_data_driven_rules_flag_rows_and_fail_warn_checks(sample_copy: Path) -> None:
    total_capture(sample_copy, 156, "X", 2024).unlink()  # that request fails (replay miss): partial HTTP failure
    edit_body(total_capture(sample_copy, 392, "M", 2024), lambda b: b.update(count=0, data=[]))  # zero records
    edit_body(total_capture(sample_copy, 410, "X", 2024), _scale(3.0))  # +200 % YoY, 3× the previous year
    edit_body(total_capture(sample_copy, 276, "X", 2024), _shrink_total)  # HHI far above 10,000

    result = run_layer(WEEK, FastComtradeClient(capture_dir=str(sample_copy)))
    assert result.success
    wh = Warehouse()
    conc = wh.read_partition("market_concentration", WEEK)

    # partial HTTP failure: only the failed flow × year is missing; the reporter's other three answers are kept
    failed = group(conc, 156, "X", 2024).row(0, named=True)
    assert failed["hhi"] is None and "partial_http_failure" in flags(failed["review_flags"])
    assert failed["confidence"] == "低"
    for flow, year in (("M", 2024), ("X", 2023), ("M", 2023)):
        row = group(conc, 156, flow, year).row(0, named=True)
        assert row["hhi"] is not None and "partial_http_failure" not in flags(row["review_flags"]), (flow, year)
    requests = wh.read_partition("comtrade_requests", WEEK)
    assert requests.filter(pl.col("status") == "failed").select("reporter_code", "flow", "year").rows() == [
        (156, "X", 2024)
    ]

    zero = group(conc, 392, "M", 2024).row(0, named=True)
    assert zero["hhi"] is None and "zero_records" in flags(zero["review_flags"])

    jump = group(conc, 410, "X", 2024).row(0, named=True)
    prev = group(conc, 410, "X", 2023).row(0, named=True)
    assert jump["total_usd"] / prev["total_usd"] > 2.0
    assert jump["total_yoy_pct"] == pytest.approx((jump["total_usd"] / prev["total_usd"] - 1) * 100)
    assert {"yoy_gt_50pct", "years_differ_2x"} <= flags(jump["review_flags"])
    assert "years_differ_2x" not in flags(prev["review_flags"])
    ranks = wh.read_partition("partner_rankings", WEEK)
    korea_x = group(ranks, 410, "X", 2024)
    assert all("yoy_gt_50pct" in flags(f) for f in korea_x["review_flags"].to_list())

    # the negative value is refused at the parse boundary (quarantined), never summed: HHI stays possible, and every
    # figure of the group is flagged because a row of it is missing
    wild = group(conc, 276, "X", 2024).row(0, named=True)
    assert 10_000 / wild["partner_count"] <= wild["hhi"] <= 10_000
    assert "quarantined_rows" in flags(wild["review_flags"]) and "hhi_out_of_range" not in flags(wild["review_flags"])
    refused = wh.read_partition("quarantine_staging_comtrade_partner_flows", WEEK)
    assert refused.select("reason_code", "group_key").rows() == [
        ("value_negative", '{"flow": "X", "reporter_code": 276, "year": 2024}')
    ]

    clean = conc.filter(pl.col("reporter_code") == 842)
    assert clean.height == 4 and set(clean["review_flags"].to_list()) == {""}  # untouched reporters stay clean

    checks = checks_of(result)
    failing = {
        ("comtrade_partner_flows", "no_partial_http_failure"),
        ("comtrade_partner_flows", "no_zero_records"),
        ("market_concentration", "no_missing_groups"),
        ("market_concentration", "yoy_within_50pct"),
        ("market_concentration", "years_within_2x"),
        ("comtrade_partner_flows", "no_quarantined_rows"),
        ("partner_rankings", "yoy_within_50pct"),
        ("trade_balances", "both_flows_present"),
    }
    for key in failing:
        assert not checks[key].passed and checks[key].severity == AssetCheckSeverity.WARN, key
    for key in [
        ("comtrade_partner_flows", "no_truncation"),
        ("market_concentration", "no_truncated_metric"),
        ("partner_rankings", "unique_ranks"),
        ("trade_balances", "balance_equals_export_minus_import"),
        ("market_concentration", "taiwan_mirror_present"),
        ("market_concentration", "hhi_in_range"),
    ]:
        assert checks[key].passed, key
    gaps = checks[("market_concentration", "no_missing_groups")].metadata["problems"].value
    assert {(p["reporter_code"], p["flow"], p["year"]) for p in gaps} == {(156, "X", 2024), (392, "M", 2024)}
