"""Exposure figures equal an independent SQL recomputation straight from the sample capture files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from trade_pipeline.core.paths import sample_captures_dir
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.assets import ASSETS as COMTRADE_ASSETS
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.cn_export_control.assets import ASSETS as MOFCOM_ASSETS
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.policy_exposure.assets import ASSETS as EXPOSURE_ASSETS
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

WEEK = "2026-01-26"  # 2026-W05


@pytest.fixture(scope="module")
def warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("exposure")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    try:
        comtrade_needed = [a for a in COMTRADE_ASSETS if any(k.path[-1] == "comtrade_partner_flows" for k in a.keys)]
        result = materialize(
            [*comtrade_needed, *MOFCOM_ASSETS, *EXPOSURE_ASSETS],
            resources={
                "warehouse": Warehouse(),
                "site": Site(),
                "mofcom": MofcomClient(),
                "comtrade": ComtradeClient(),
                "census": CensusTradeClient(),
            },
            partition_key=WEEK,
            selection=None,
        )
        assert result.success
    finally:
        mp.undo()
    return data / "warehouse.duckdb"


def _captures(con: duckdb.DuckDBPyConnection) -> None:
    """Every exposure capture body as raw text in a table: the recomputation parses the JSON with SQL itself."""
    rows = []
    for source in ("comtrade", "census"):
        for path in sorted((sample_captures_dir() / source / "exposure").glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            rows.append((source, json.dumps(doc["request"]["params"]), doc["response"]["body"]))
    con.execute("CREATE TEMP TABLE cap(source VARCHAR, params VARCHAR, body VARCHAR)")
    con.executemany("INSERT INTO cap VALUES (?, ?, ?)", rows)


RECOMPUTE = """
WITH ct AS (   -- Comtrade envelope rows: China's exports by code, partner and year
    SELECT json_extract_string(r.value, '$.cmdCode') AS hs6,
           CAST(json_extract(r.value, '$.refYear') AS INT) AS year,
           CAST(json_extract(r.value, '$.partnerCode') AS INT) AS partner,
           CAST(json_extract(r.value, '$.primaryValue') AS DOUBLE) AS v
    FROM cap, json_each(json_extract(cap.body, '$.data')) AS r WHERE cap.source = 'comtrade'
), cn AS (
    SELECT hs6, year,
           max(v) FILTER (WHERE partner = 0) AS world,
           coalesce(max(v) FILTER (WHERE partner = 842), 0) AS p842,
           coalesce(sum(v) FILTER (WHERE partner IN (842, 392, 410, 276, 490)), 0) AS five
    FROM ct GROUP BY hs6, year
), cs AS (     -- Census array-of-arrays: skip the header row; columns by position of the sample's header
    SELECT json_extract_string(r.value, '$[2]') AS hs6, json_extract_string(r.value, '$[3]') AS cty,
           CAST(substr(json_extract_string(r.value, '$[5]'), 1, 4) AS INT) AS year,
           CAST(substr(json_extract_string(r.value, '$[5]'), 6, 2) AS INT) AS month,
           CAST(json_extract_string(r.value, '$[1]') AS DOUBLE) AS v
    FROM cap, json_each(cap.body) AS r WHERE cap.source = 'census' AND r.key <> '0'
), us AS (SELECT DISTINCT hs6, cty, year, month, v FROM cs)
SELECT e.row_key,
       cn.world AS world, cn.p842 / cn.world * 100 AS s842, (cn.world - cn.five) / cn.world * 100 AS rest,
       (SELECT sum(v) FROM us WHERE us.hs6 = e.hs6 AND cty = '-' AND year = e.us_import_year
            AND month <= e.us_import_through_month) AS us_total,
       (SELECT sum(v) FROM us WHERE us.hs6 = e.hs6 AND cty = '5700' AND year = e.us_import_year
            AND month <= e.us_import_through_month) AS us_cn,
       (SELECT sum(v) FROM us WHERE us.hs6 = e.hs6 AND cty = '5700' AND year = e.us_import_year - 1
            AND month <= e.us_import_through_month) AS us_cn_prev,
       e.cn_export_world_usd, e.share_to_842_pct, e.share_rest_pct, e.us_import_ytd_usd,
       e.us_import_from_cn_ytd_usd, e.cn_share_of_us_imports_pct, e.us_import_from_cn_yoy_pct
FROM wh.policy_trade_exposure e JOIN cn ON cn.hs6 = e.hs6 AND cn.year = e.cn_export_year
WHERE e.week_start = ?::DATE AND e.hs6 <> ''
"""


def test_exposure_equals_independent_sql_over_captures(warehouse_path: Path):
    con = duckdb.connect()
    con.execute(f"ATTACH '{warehouse_path}' AS wh (READ_ONLY)")
    _captures(con)
    rows = con.execute(RECOMPUTE, [WEEK]).fetchall()
    stored = con.execute(
        "SELECT count(*) FROM wh.policy_trade_exposure WHERE week_start = ?::DATE AND hs6 <> ''", [WEEK]
    ).fetchone()[0]
    assert stored > 40 and len(rows) == stored  # every stored figure row has its recomputation
    for (
        key,
        world,
        s842,
        rest,
        us_total,
        us_cn,
        us_cn_prev,
        e_world,
        e_s842,
        e_rest,
        e_us,
        e_us_cn,
        e_share,
        e_yoy,
    ) in rows:
        assert e_world == world, key
        assert e_s842 == pytest.approx(s842, rel=1e-12), key
        assert e_rest == pytest.approx(rest, rel=1e-12, abs=1e-9), key
        assert e_us == us_total and e_us_cn == us_cn, key
        assert e_share == pytest.approx(us_cn / us_total * 100, rel=1e-12), key
        assert e_yoy == pytest.approx((us_cn / us_cn_prev - 1) * 100, rel=1e-12), key


def test_watchlist_fires_exactly_where_the_threshold_is_crossed(warehouse_path: Path):
    con = duckdb.connect(str(warehouse_path), read_only=True)
    fired = {
        r[0]
        for r in con.execute(
            "SELECT exposure_row_key FROM policy_exposure_watchlist WHERE week_start = ?::DATE "
            "AND rule_key = 'cn_supplies_half_of_us_imports'",
            [WEEK],
        ).fetchall()
    }
    expected = {
        r[0]
        for r in con.execute(
            "SELECT row_key FROM policy_trade_exposure WHERE week_start = ?::DATE AND cn_share_of_us_imports_pct >= 50",
            [WEEK],
        ).fetchall()
    }
    assert fired == expected and fired


def test_goods_measure_without_mapping_is_a_flagged_row_not_a_gap(warehouse_path: Path):
    con = duckdb.connect(str(warehouse_path), read_only=True)
    rows = con.execute(
        "SELECT measure_id, review_flags FROM policy_trade_exposure WHERE week_start = ?::DATE AND hs6 = ''", [WEEK]
    ).fetchall()
    assert ("mofcom-1206", "no_hs_mapping") in rows  # all dual-use items to Japan: no HS code to measure


def test_extractor_file_carries_provisions_status_and_exposure(warehouse_path: Path):
    site = warehouse_path.parent / "site" / "Extractor" / "cn_export_control"
    text = next(site.glob("*-a1178.md")).read_text(encoding="utf-8")
    assert "## 重點條款" in text and "重量能量密度 ≥ 300 Wh/kg" in text
    assert "## 貿易曝險" in text and "| 850760 |" in text
    assert "措施狀態（截至 2026-02-01）" in text and "商務部、海關總署公告2025年第58號" in text
    assert "controlled_item_change" not in text and "immediate_major_control" not in text
