"""The layer end to end on the embedded sample: seed figures, point in time, revisions, checks, extractor files."""

import shutil
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetCheckSeverity, DagsterInstance, materialize

from trade_pipeline.core.formatting import pct, usd_amount
from trade_pipeline.core.paths import sample_captures_dir
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.us_trade_census.assets import (
    ASSETS,
    CHECK_EXPECTED,
    CHECK_FETCH,
    CHECK_MOM,
    CHECK_TOTALS,
    CHECK_VALID,
)
from trade_pipeline.defs.us_trade_census.checks import INVARIANTS
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

W04, W05, W08 = "2026-01-19", "2026-01-26", "2026-02-16"


def run(*, start: str, end: str | None = None, census: CensusTradeClient | None = None):
    """Materialize the layer for one week or, as a single-run backfill, a range of weeks."""
    resources = {"warehouse": Warehouse(), "site": Site(), "census": census or CensusTradeClient()}
    tags = (
        {} if end is None else {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    )
    result = materialize(
        ASSETS,
        resources=resources,
        partition_key=None if end else start,
        tags=tags,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success
    return result


def q(sql: str, *params) -> pl.DataFrame:
    return Warehouse().query(sql, list(params))


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory):
    """W04..W05 as one single-run backfill (ascending weeks in one run), shared by the read-only tests."""
    data = tmp_path_factory.mktemp("census_data")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    result = run(start=W04, end=W05)
    yield data, result
    mp.undo()


@pytest.fixture
def data_dir(backfilled, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(backfilled[0]))
    return backfilled[0]


def balance(week: str, cty: str, hs2: str) -> dict:
    return q(
        "SELECT * FROM census_trade_balance WHERE week_start = ?::DATE AND cty_code = ? AND hs2 = ?", week, cty, hs2
    ).row(0, named=True)


def test_w04_reproduces_the_seed_figures(data_dir: Path) -> None:
    # As of W04 (2026-01-25) Census had released January–October 2025, as the seed report (2026-01-27) saw.
    tw, tw84 = balance(W04, "5830", "TOTAL"), balance(W04, "5830", "84")
    assert (tw["year"], tw["through_month"]) == (2025, 10)
    assert usd_amount(-tw["balance_usd"]) == "1,119 億"
    assert usd_amount(-tw84["balance_usd"]) == "918 億" and usd_amount(tw84["import_ytd_usd"]) == "1,051 億"
    # The seed's "占 82%" is 918 / 1,119 (over the net deficit). The layer's share is over the summed deficits of the
    # deficit chapters (surplus chapters do not offset: deficit_chapters_usd), so a partner's shares add up to 100 %.
    assert pct(tw84["share_of_net_deficit_pct"]).startswith("82.")  # the seed's reading: 918 / 1,119
    gross = q(
        "SELECT sum(balance_usd) FROM census_trade_balance WHERE week_start = ?::DATE AND cty_code = '5830' "
        "AND hs2 <> 'TOTAL' AND balance_usd < 0",
        W04,
    ).item()
    assert tw84["deficit_chapters_usd"] == pytest.approx(gross) and gross < tw["balance_usd"]
    assert tw84["share_of_deficit_pct"] == pytest.approx(tw84["balance_usd"] / gross * 100)
    sums = q(
        "SELECT cty_code, sum(share_of_deficit_pct) AS s FROM census_trade_balance WHERE week_start = ?::DATE "
        "GROUP BY 1",
        W04,
    )
    assert sums["s"].to_list() == pytest.approx([100.0] * 5)
    cn, cn85, cn84 = (balance(W04, "5700", h) for h in ("TOTAL", "85", "84"))
    assert usd_amount(-cn["balance_usd"]) == "1,754 億"
    assert usd_amount(-cn85["balance_usd"]) == "561 億" and usd_amount(-cn84["balance_usd"]) == "350 億"
    top = q(
        "SELECT cty_code, flow, list(hs2 ORDER BY rank) AS top, list(value_usd ORDER BY rank) AS v "
        "FROM census_country_detail WHERE week_start = ?::DATE AND rank <= 2 GROUP BY ALL",
        W04,
    )
    tops = {(r["cty_code"], r["flow"]): (r["top"], [usd_amount(v) for v in r["v"]]) for r in top.iter_rows(named=True)}
    assert tops[("5700", "export")] == (["85", "88"], ["138 億", "137 億"])
    assert tops[("5830", "export")][0][0] == "84" and tops[("5830", "export")][1][0] == "133 億"
    assert tops[("5800", "export")][0][0] == "27" and tops[("5880", "export")][1][0] == "105 億"
    assert tops[("5700", "import")] == (["85", "84"], ["698 億", "441 億"])
    assert tops[("4280", "import")] == (["84", "87"], ["253 億", "227 億"])
    assert tops[("5880", "import")][1][0] == "374 億" and tops[("5800", "import")][1][0] == "314 億"


def test_totals_equal_published_figures_and_chapter_sums(data_dir: Path) -> None:
    # 2024 China: exports 143.2 B, imports 438.7 B (census.gov), and HS2 chapters add up to the totals.
    sums = q(
        "SELECT flow, hs2 = 'TOTAL' AS is_total, sum(value_usd) AS v FROM census_monthly_flows "
        "WHERE week_start = ?::DATE AND cty_code = '5700' AND year = 2024 GROUP BY ALL",
        W04,
    )
    got = {(r["flow"], r["is_total"]): r["v"] for r in sums.iter_rows(named=True)}
    assert round(got[("import", True)] / 1e9, 1) == 438.7 and round(got[("export", True)] / 1e9, 1) == 143.2
    assert got[("import", True)] == pytest.approx(got[("import", False)], abs=1)


def test_every_required_column_is_there(data_dir: Path) -> None:
    required = {
        "census_monthly_flows": "cty_code cty_name cty_name_zh flow year month hs2 hs2_desc value_usd ytd_usd mom_pct "
        "yoy_pct request_id fetched_at review_flags",
        "census_trade_balance": "cty_code cty_name_zh year through_month hs2 hs2_desc hs2_desc_zh export_ytd_usd "
        "import_ytd_usd balance_usd share_of_deficit_pct share_of_net_deficit_pct prev_year_balance_usd "
        "deficit_chapters_usd review_flags",
        "census_country_detail": "cty_code cty_name_zh flow year through_month rank hs2 hs2_desc_zh value_usd share_pct",
        "census_revisions": "cty_code flow year month hs2 previous_usd revised_usd change_usd",
        "census_release_status": "latest_year latest_month months_available as_of",
    }
    for table, cols in required.items():
        have = set(q("SELECT column_name FROM information_schema.columns WHERE table_name = ?", table)["column_name"])
        assert {"week_start", *cols.split()} <= have, (table, set(cols.split()) - have)


def test_revision_appears_the_week_the_next_month_is_released(data_dir: Path) -> None:
    rev = q("SELECT * FROM census_revisions ORDER BY week_start, hs2")
    assert rev["week_start"].cast(pl.Utf8).unique().to_list() == [W05]
    assert set(rev["cty_code"]) == {"5800"} and set(rev["flow"]) == {"export"}
    assert set(zip(rev["year"], rev["month"])) == {(2025, 9)}
    assert "TOTAL" in set(rev["hs2"]) and set(rev["change_usd"]) == {85_300_000.0}
    assert set(rev["previous_week"]) == {W04}


def test_checks_are_warnings_with_findings(backfilled) -> None:
    _, result = backfilled
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == {CHECK_EXPECTED, CHECK_MOM, CHECK_FETCH, CHECK_VALID, *(i.name for i in INVARIANTS)}
    assert CHECK_TOTALS in {i.name for i in INVARIANTS}
    assert all(c.severity == AssetCheckSeverity.WARN for c in checks.values())
    # the sample is complete and consistent: every invariant holds, nothing was quarantined
    assert all(checks[n].passed for n in (CHECK_EXPECTED, CHECK_FETCH, CHECK_VALID, *(i.name for i in INVARIANTS)))
    # Taiwan imports Oct 2025 jumped 48 % on September (published figures): a real MoM finding.
    assert not checks[CHECK_MOM].passed
    moves = checks[CHECK_MOM].metadata["moves"].value
    assert any("5830 import 2025-10 TOTAL" in m for m in moves)


def test_extractor_files_use_the_data_year(data_dir: Path) -> None:
    root = data_dir / "site" / "Extractor" / "us_trade_census"
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md"))
    assert len(names) == 20 and "trade_balance/us-balance-5830-2025.md" in names
    text = (root / "trade_balance" / "us-balance-5830-2025.md").read_text(encoding="utf-8")
    assert "<!-- as_of_partition: 2026-01-26 -->" in text  # the later week of the backfill wrote last
    assert "Data through**: 2025-11" in text and "| 84 |" in text
    detail = (root / "country_detail" / "us-detail-5800-2025.md").read_text(encoding="utf-8")
    assert "| 出口 | 2025-09 | TOTAL |" in detail  # the revision is listed


def test_backfilling_a_past_week_never_sees_later_months(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run(start=W08)
    run(start=W04)  # an older week after a newer one
    months = q(
        "SELECT CAST(week_start AS VARCHAR) AS w, max(year * 100 + month) AS latest, "
        "count(*) FILTER (WHERE year = 2025 AND month > 10) AS later "
        "FROM census_monthly_flows GROUP BY 1 ORDER BY 1"
    )
    # W04 (as of 2026-01-25) stops at October 2025; W08 legitimately holds November and December
    (w04, latest04, later04), (w08, latest08, later08) = months.rows()
    assert (w04, latest04, later04) == (W04, 202510, 0)
    assert (w08, latest08) == (W08, 202512) and later08 > 0
    assert q("SELECT max(through_month) FROM census_trade_balance WHERE week_start = ?::DATE", W04).item() == 10
    # extractor files written by W08 are kept, not replaced by the older week
    site = Site().root_dir() / "Extractor" / "us_trade_census" / "trade_balance" / "us-balance-5830-2025.md"
    assert "as_of_partition: 2026-02-16" in site.read_text(encoding="utf-8")


def test_partial_failure_is_a_warning_not_a_lost_week(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    shutil.copytree(sample_captures_dir() / "census", captures / "census")
    (captures / "census" / "import-hs2-2025-01-to-10.json").unlink()  # that request now fails in replay
    result = run(start=W04, census=CensusTradeClient(capture_dir=str(captures)))
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks[CHECK_FETCH].passed and checks[CHECK_FETCH].severity == AssetCheckSeverity.WARN
    assert "import/HS2/from 2025-01 to 2025-10" in checks[CHECK_FETCH].metadata["failed_requests"].value[0]
    assert not checks[CHECK_EXPECTED].passed
    flags = q("SELECT review_flags FROM census_monthly_flows WHERE hs2 = 'TOTAL' AND flow = 'import' AND year = 2025")
    assert all("hs2_fetch_failed" in f for f in flags["review_flags"])
    status = q("SELECT failed_requests, review_flags FROM census_release_status").row(0)
    assert status[0] == 1 and "partial_fetch" in status[1]
    # exports and the import totals were kept
    assert q("SELECT count(*) FROM census_trade_balance WHERE hs2 = 'TOTAL'").item() == 5
