"""Issue 12's partial Census fetch, from the REAL replies (../shared/realdata; skipped when absent).

Week 2025-W07 (partition 2025-02-10, data through 2024-12): country totals of both flows and imports by HS2 are
answered (the real 2023–2024 replies, rebuilt into the week's requests by realdata_captures.py), exports by HS2 were
never captured so those two requests fail in replay. Before the fix: chapter exports were taken as 0, each partner's
share_of_deficit_pct summed to 148–214 %, the balance file printed ``85 | 0.00 億 | 1,240 億 | -1,240 億 | 41.95%``,
only the five TOTAL rows carried hs2_fetch_failed and the export top-10 tables were empty with no note.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import usd_amount
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.us_trade_census.assets import ASSETS
from trade_pipeline.defs.us_trade_census.resources import PARTNERS, CensusTradeClient
from trade_pipeline_tests.conftest import REALDATA
from trade_pipeline_tests.us_trade_census.realdata_captures import build_captures

WEEK = "2025-02-10"
LATEST = (2024, 12)


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory: pytest.TempPathFactory):
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is absent (only developers and CI have it)")
    root = tmp_path_factory.mktemp("census_real_partial")  # one run for the module (the realdata fixture skips)
    absent = build_captures(REALDATA, LATEST, root / "captures")
    assert absent == ["export/HS2/from 2023-01 to 2023-12", "export/HS2/from 2024-01 to 2024-12"]
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_PIPELINE_DATA_DIR", str(root / "data"))
    try:
        result = materialize(
            ASSETS,
            resources={
                "warehouse": Warehouse(),
                "site": Site(),
                "census": CensusTradeClient(capture_dir=str(root / "captures")),
            },
            partition_key=WEEK,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    finally:
        mp.undo()
    return result, root / "data"


@pytest.fixture
def partial_week(realdata: Path, partial_run, monkeypatch: pytest.MonkeyPatch):  # realdata first: skips when absent
    result, data = partial_run
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    return result


def q(sql: str, *params) -> list[tuple]:
    with Warehouse().connect(read_only=True) as conn:
        return conn.execute(sql, [WEEK, *params]).fetchall()


def quality(flags: str | None) -> list[str]:
    return contract.quality_flags(contract.split_flags(flags))


def test_chapter_balances_are_withheld_and_flagged_never_computed_from_zero_exports(partial_week) -> None:
    assert partial_week.success
    checks = {c.check_name: c for c in partial_week.get_asset_check_evaluations()}
    assert not checks["census_fetch_complete"].passed  # the partial fetch is reported …
    # … and no invariant has an unflagged violation (a blocking failure would have stopped the run)
    assert all(c.passed or c.severity.value == "WARN" for c in checks.values())
    # real figures: imports of HS85 from China 2024 = 1,240 億 (the line), China's total balance -2,955 億
    hs85 = q(
        "SELECT export_ytd_usd, import_ytd_usd, balance_usd, share_of_deficit_pct, review_flags "
        "FROM census_trade_balance WHERE week_start = ?::DATE AND cty_code = '5700' AND hs2 = '85'"
    )[0]
    assert hs85[0] is None and usd_amount(hs85[1]) == "1,240 億" and hs85[2] is None and hs85[3] is None
    assert "hs2_fetch_failed" in quality(hs85[4])
    chapters = q(
        "SELECT cty_code, export_ytd_usd, balance_usd, share_of_deficit_pct, share_of_net_deficit_pct, "
        "review_flags FROM census_trade_balance WHERE week_start = ?::DATE AND hs2 <> 'TOTAL'"
    )
    assert {c[0] for c in chapters} == set(PARTNERS)
    # NULL, never 0 (the 41.95 % was -1,240 / -2,955: a net share over exports taken as 0)
    assert all(e is None and b is None and s is None and n is None for _, e, b, s, n, _ in chapters)
    assert all("hs2_fetch_failed" in quality(f) for *_, f in chapters)  # every derived row flagged
    # no deficit share over 100 %, a partner's shares summing to ≤ 100 %
    assert q("SELECT count(*) FROM census_trade_balance WHERE week_start = ?::DATE AND share_of_deficit_pct > 100") == [
        (0,)
    ]
    assert all(
        (s or 0) <= 100
        for (s,) in q(
            "SELECT sum(share_of_deficit_pct) FROM census_trade_balance WHERE week_start = ?::DATE GROUP BY cty_code"
        )
    )
    # the totals were answered (published 2024 China: exports 143.2 B, imports 438.7 B), flagged as not cross-checked
    total = q(
        "SELECT export_ytd_usd, import_ytd_usd, balance_usd, review_flags FROM census_trade_balance "
        "WHERE week_start = ?::DATE AND cty_code = '5700' AND hs2 = 'TOTAL'"
    )[0]
    assert round(total[0] / 1e9, 1) == 143.2 and round(total[1] / 1e9, 1) == 438.7
    assert usd_amount(-total[2]) == "2,955 億" and "hs2_fetch_failed" in quality(total[3])
    # detail: no export ranking (unknown), import ranking flagged
    assert q("SELECT count(*) FROM census_country_detail WHERE week_start = ?::DATE AND flow = 'export'") == [(0,)]
    detail = q("SELECT review_flags FROM census_country_detail WHERE week_start = ?::DATE")
    assert detail and all(quality(f) for (f,) in detail)


def test_extractor_files_say_what_is_withheld_and_why(partial_week, partial_run) -> None:
    root = partial_run[1] / "site" / "Extractor" / "us_trade_census"
    balance = (root / "trade_balance" / "us-balance-5700-2024.md").read_text(encoding="utf-8")
    line = next(x for x in balance.splitlines() if x.startswith("| 85 |"))
    assert "| -- | 1,240 億 | -- | -- | [REVIEW_NEEDED]" in line  # was: | 0.00 億 | 1,240 億 | -1,240 億 | 41.95% |
    assert "0.00 億" not in balance and "占逆差從缺" in balance
    words = contract.flag_info("hs2_fetch_failed").zh
    detail = (root / "country_detail" / "us-detail-5700-2024.md").read_text(encoding="utf-8")
    export_part = detail.split("## 出口前十大章")[1].split("## 進口前十大章")[0]
    assert "[REVIEW_NEEDED] 出口章別排名從缺" in export_part and words in export_part
