"""The charts of the 2026-W05 sample run: files exist and parse, the plotted data equal the stored rows, the stored
rows equal an independent SQL recomputation from the layer tables, the alt text states the key figure as its source
cell prints it, and a rerun writes the same bytes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import FORMATTERS
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.definitions import defs
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.briefing_charts.assets import chart_page_relpath
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient
from trade_pipeline.site_html import build_site

W05, WEEK = "2026-01-26", "2026-W05"
SVG_NS = "{http://www.w3.org/2000/svg}"
RESOURCES = {
    "warehouse": Warehouse(),
    "site": Site(),
    "comtrade": ComtradeClient(),
    "census": CensusTradeClient(),
    "mofcom": MofcomClient(),
}
CHART_IDS = ("us_balance_monthly", "hhi_vs_prev_year", "top_partner_shares", "policy_exposure")
CHARTS_ASSET = next(a for a in defs.assets if "briefing_charts" in {k.to_user_string() for k in a.keys})


@pytest.fixture(scope="module")
def w05(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("w05")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    result = materialize(
        [*defs.assets],
        resources=RESOURCES,
        partition_key=W05,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success
    yield data
    mp.undo()


@pytest.fixture
def db(w05: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(w05))
    conn = duckdb.connect(str(w05 / "warehouse.duckdb"), read_only=True)
    yield conn
    conn.close()


def _charts(db) -> list[dict]:
    cur = db.execute(f"SELECT * FROM {contract.BRIEFING_CHARTS} WHERE week_start = ?::DATE ORDER BY seq", [W05])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def _points(db, chart_id: str) -> list[dict]:
    cur = db.execute(
        f"SELECT * FROM {contract.BRIEFING_CHART_DATA} WHERE week_start = ?::DATE AND chart_id = ? ORDER BY seq",
        [W05, chart_id],
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def test_the_three_charts_exist_as_svg_files_that_parse(w05: Path, db) -> None:
    charts = {c["chart_id"]: c for c in _charts(db)}
    assert {k for k, c in charts.items() if c["status"] == "ok"} == set(CHART_IDS)
    for c in charts.values():
        if c["status"] != "ok":
            continue
        assert c["relpath"] == f"Narrator/trade_briefing/charts/{WEEK}/{c['chart_id']}.svg"
        assert c["report_link"] == f"charts/{WEEK}/{c['chart_id']}.svg"
        # the link, taken from the report's folder, lands on the file
        report_dir = w05 / "site" / "Narrator" / "trade_briefing"
        path = report_dir / c["report_link"]
        assert path.is_file() and path.resolve() == (w05 / "site" / c["relpath"]).resolve()
        svg = path.read_bytes()
        assert hashlib.sha256(svg).hexdigest() == c["svg_sha256"]
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG_NS}svg" and float(root.get("width")) > 0 and float(root.get("height")) > 0
        texts = "".join(t.text or "" for t in root.iter(f"{SVG_NS}text"))
        assert c["title_zh"] in texts  # CJK title is text in the SVG, not an outline
        assert re.search(r"[\u4e00-\u9fff]", texts)


_TRANSLATE = re.compile(r"translate\(([-\d.e]+),([-\d.e]+)\)")
_BAR = re.compile(r"^M([-\d.e]+),([-\d.e]+)h([-\d.e]+)v([-\d.e]+)h")


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-").replace(",", ""))


def _axis_slope(root: ET.Element, axis: str) -> float:
    """Pixels per data unit of the quantitative axis ("X" or "Y"), from its first and last tick labels."""
    group = next(
        g
        for g in root.iter(f"{SVG_NS}g")
        if (g.get("aria-label") or "").startswith(f"{axis}-axis") and "linear scale" in g.get("aria-label")
    )
    labels = [
        t
        for g in group.iter(f"{SVG_NS}g")
        if "role-axis-label" in (g.get("class") or "")
        for t in g.iter(f"{SVG_NS}text")
    ]
    (v0, t0), (v1, t1) = [(_number(t.text), t) for t in (labels[0], labels[-1])]
    pos = [float(_TRANSLATE.search(t.get("transform")).group(1 if axis == "X" else 2)) for t in (t0, t1)]
    return (pos[1] - pos[0]) / (v1 - v0)


def _category_labels(root: ET.Element, axis: str) -> list[tuple[float, str]]:
    """(position, text) of the tick labels of the discrete axis ("X" or "Y")."""
    group = next(
        g
        for g in root.iter(f"{SVG_NS}g")
        if (g.get("aria-label") or "").startswith(f"{axis}-axis") and "discrete scale" in g.get("aria-label")
    )
    return [
        (float(_TRANSLATE.search(t.get("transform")).group(1 if axis == "X" else 2)), t.text)
        for g in group.iter(f"{SVG_NS}g")
        if "role-axis-label" in (g.get("class") or "")
        for t in g.iter(f"{SVG_NS}text")
    ]


def _nearest(labels: list[tuple[float, str]], position: float) -> str:
    return min(labels, key=lambda lt: abs(lt[0] - position))[1]


def plotted_values(svg: bytes) -> dict[str, tuple[str, float]]:
    """Each data mark's accessible label → (category, value) its geometry encodes: the category whose axis label is
    nearest to the mark, the value read back through the quantitative axis scale."""
    root = ET.fromstring(svg)
    marks = [el for el in root.iter() if el.get("aria-roledescription") in ("point", "bar")]
    out: dict[str, tuple[str, float]] = {}
    if marks and marks[0].get("aria-roledescription") == "point":  # line chart: y position against the zero rule
        slope, months = _axis_slope(root, "Y"), _category_labels(root, "X")
        zero = float(
            _TRANSLATE.search(
                next(el for el in root.iter() if el.get("aria-label") == "zero: 0").get("transform")
            ).group(2)
        )
        for el in marks:
            x, y = (float(v) for v in _TRANSLATE.search(el.get("transform")).groups())
            out[el.get("aria-label")] = (_nearest(months, x), (y - zero) / slope)
        return out
    vertical = any(
        (g.get("aria-label") or "").startswith("Y-axis") and "linear scale" in g.get("aria-label")
        for g in root.iter(f"{SVG_NS}g")
    )
    slope = _axis_slope(root, "Y" if vertical else "X")
    categories = _category_labels(root, "X" if vertical else "Y")
    for el in marks:  # bars start at zero: the value is the bar's length
        x, y, w, h = (float(v) for v in _BAR.match(el.get("d")).groups())
        out[el.get("aria-label")] = (
            (_nearest(categories, x + w / 2), -h / slope) if vertical else (_nearest(categories, y + h / 2), w / slope)
        )
    return out


def test_plotted_marks_in_the_svg_equal_the_stored_rows(w05: Path, db) -> None:
    """Every data mark is a stored point: its accessible label names the point and its printed value, and its
    geometry, read back through the axis scale, is the stored value."""
    for c in _charts(db):
        if c["status"] != "ok":
            continue
        svg = (w05 / "site" / c["relpath"]).read_bytes()
        plotted = plotted_values(svg)
        marks = sorted(plotted)
        points = _points(db, c["chart_id"])
        unit = 1e8 if c["chart_id"] == "us_balance_monthly" else 1.0  # the balance axis is in 億
        stored = {}
        assert len(points) == c["points"] > 0
        expected = []
        fmt = {
            "us_balance_monthly": lambda p: f"{p['series']} {p['x']}：{FORMATTERS['usd'](p['y'])}",
            "hhi_vs_prev_year": lambda p: f"{p['x']} {p['series']}：HHI {FORMATTERS['hhi'](p['y'])}",
            "top_partner_shares": lambda p: f"{p['x']} {p['series']}（{p['label']}）：{FORMATTERS['pct'](p['y'])}",
            "policy_exposure": lambda p: f"{p['x']}：{FORMATTERS['pct'](p['y'])}",
        }
        for p in points:
            if p["y"] is not None:  # a missing value has no mark (it is stored, flagged)
                label = fmt[c["chart_id"]](p) + (" [REVIEW_NEEDED]" if p["review_flags"] else "")
                expected.append(label)
                stored[label] = (p["x"], p["y"] / unit)
        assert marks == sorted(expected), c["chart_id"]
        for label, (category, value) in stored.items():
            shown = plotted[label][0]  # an axis label too long for its room ends in an ellipsis
            assert shown == category or (shown.endswith("…") and category.startswith(shown[:-1])), (
                c["chart_id"],
                label,
            )
            assert plotted[label][1] == pytest.approx(value, rel=1e-6, abs=1e-6), (c["chart_id"], label)


def test_stored_chart_rows_equal_an_independent_recomputation(db) -> None:
    # US balance: exports − imports of each partner's TOTAL rows, month by month
    expected = {
        (cty, year, month): bal
        for cty, year, month, bal in db.execute(
            "SELECT e.cty_code, e.year, e.month, e.value_usd - i.value_usd FROM census_monthly_flows e "
            "JOIN census_monthly_flows i USING (week_start, cty_code, year, month, hs2) "
            "WHERE e.week_start = ?::DATE AND e.hs2 = 'TOTAL' AND e.flow = 'export' AND i.flow = 'import'",
            [W05],
        ).fetchall()
    }
    got = {}
    for p in _points(db, "us_balance_monthly"):
        key = json.loads(p["source_row_key"])
        assert p["derivation"] == "export_minus_import" and p["source_table"] == "census_monthly_flows"
        got[(key["cty_code"], key["year"], key["month"])] = p["y"]
    assert got == expected and len(got) == 5 * 23

    # HHI: each reporter's latest export year, its HHI and the previous year's
    rows = db.execute(
        "SELECT reporter_code, year, hhi, hhi_prev_year FROM market_concentration m WHERE week_start = ?::DATE "
        "AND flow = 'X' AND year = (SELECT max(year) FROM market_concentration x WHERE x.week_start = m.week_start "
        "AND x.flow = 'X' AND x.reporter_code = m.reporter_code)",
        [W05],
    ).fetchall()
    expected = {(rc, col): v for rc, _, hhi, prev in rows for col, v in (("hhi", hhi), ("hhi_prev_year", prev))}
    got = {
        (json.loads(p["source_row_key"])["reporter_code"], p["source_column"]): p["y"]
        for p in _points(db, "hhi_vs_prev_year")
    }
    assert got == expected and len(rows) == 7

    # shares: the top three partners of each reporter's latest export year
    expected = {
        (rc, rank): (share, name)
        for rc, rank, share, name in db.execute(
            "SELECT reporter_code, rank, share_pct, partner_name_zh FROM partner_rankings p WHERE week_start = ?::DATE "
            "AND flow = 'X' AND rank <= 3 AND year = (SELECT max(year) FROM partner_rankings x WHERE "
            "x.week_start = p.week_start AND x.flow = 'X' AND x.reporter_code = p.reporter_code)",
            [W05],
        ).fetchall()
    }
    got = {
        (json.loads(p["source_row_key"])["reporter_code"], json.loads(p["source_row_key"])["rank"]): (
            p["y"],
            p["label"],
        )
        for p in _points(db, "top_partner_shares")
    }
    assert got == expected and len(got) == 21

    # policy exposure: one bar per controlled code (its first measure's row), the highest shares of US imports
    expected = db.execute(
        "SELECT min(row_key), cn_share_of_us_imports_pct FROM policy_trade_exposure WHERE week_start = ?::DATE "
        "AND hs6 <> '' GROUP BY hs6, cn_share_of_us_imports_pct "
        "ORDER BY cn_share_of_us_imports_pct DESC NULLS LAST, hs6 LIMIT 15",
        [W05],
    ).fetchall()
    got = [(json.loads(p["source_row_key"])["row_key"], p["y"]) for p in _points(db, "policy_exposure")]
    assert got == [tuple(r) for r in expected] and len(got) == 15


def _cell(db, table: str, key: dict, column: str):
    assert re.fullmatch(r"[a-z_]+", table) and re.fullmatch(r"[a-z_0-9]+", column)
    where = " AND ".join(f'"{k}" = ?' for k in key if re.fullmatch(r"[a-z_0-9]+", k))
    rows = db.execute(f'SELECT "{column}" FROM {table} WHERE {where}', list(key.values())).fetchall()
    assert len(rows) == 1, (table, key, rows)
    return rows[0][0]


def test_every_cell_point_is_the_cell_its_row_key_names(db) -> None:
    for c in _charts(db):
        for p in _points(db, c["chart_id"]) if c["status"] == "ok" else []:
            if p["derivation"] == "cell":
                assert _cell(db, p["source_table"], json.loads(p["source_row_key"]), p["source_column"]) == p["y"]


def test_alt_text_states_the_key_figure_as_its_source_cell_prints(db) -> None:
    for c in _charts(db):
        if c["status"] != "ok":
            continue
        value = _cell(db, c["key_source_table"], json.loads(c["key_source_row_key"]), c["key_source_column"])
        assert value == c["key_value"]
        text = FORMATTERS[c["key_kind"]](value)
        assert text == c["key_text_zh"] and c["alt_zh"].count(text) == 1, c["chart_id"]
        assert c["key_text_en"] in c["alt_en"]
    by_id = {c["chart_id"]: c for c in _charts(db)}
    # the sample's published figures: the US deficit with China, Taiwan mirror HHI, Taiwan-mirror's share to China
    assert (
        by_id["us_balance_monthly"]["key_text_zh"] == "USD -1,894 億"
        and "中國" in by_id["us_balance_monthly"]["alt_zh"]
    )
    assert by_id["hhi_vs_prev_year"]["key_text_zh"] == "2013.87"


def test_a_rerun_writes_identical_bytes_and_rows(w05: Path, db) -> None:
    site = w05 / "site"
    files = sorted((site / contract.CHARTS_DIR / WEEK).iterdir())
    before = {p.name: p.read_bytes() for p in files}
    rows_before = (_charts(db), {c["chart_id"]: _points(db, c["chart_id"]) for c in _charts(db)})
    db.close()
    result = materialize(
        [CHARTS_ASSET],
        resources=RESOURCES,
        partition_key=W05,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success
    after = {p.name: p.read_bytes() for p in sorted((site / contract.CHARTS_DIR / WEEK).iterdir())}
    assert after == before and set(before) == {f"{c}.svg" for c in CHART_IDS} | {"index.md"}
    with duckdb.connect(str(w05 / "warehouse.duckdb"), read_only=True) as conn:
        assert (_charts(conn), {c["chart_id"]: _points(conn, c["chart_id"]) for c in _charts(conn)}) == rows_before


def test_without_the_exposure_table_that_chart_is_skipped_cleanly(w05: Path, tmp_path: Path, monkeypatch) -> None:
    """A warehouse without policy_trade_exposure (the optional layer absent): the other charts are drawn as before,
    the exposure chart is stored as skipped with its reason, its file of an earlier run is removed, and the chart
    page does not mention it."""
    data = tmp_path / "copy"
    shutil.copytree(w05, data)
    with duckdb.connect(str(data / "warehouse.duckdb")) as conn:
        conn.execute(f"DROP TABLE {contract.POLICY_TRADE_EXPOSURE}")
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    stale = data / "site" / contract.chart_relpath(WEEK, "policy_exposure")
    assert stale.is_file()
    assert materialize(
        [CHARTS_ASSET],
        resources=RESOURCES,
        partition_key=W05,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    ).success
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        charts = {c["chart_id"]: c for c in _charts(conn)}
    assert charts["policy_exposure"]["status"] == "skipped"
    assert contract.POLICY_TRADE_EXPOSURE in charts["policy_exposure"]["skip_reason"]
    assert charts["policy_exposure"]["relpath"] is None and not stale.exists()
    assert all(charts[c]["status"] == "ok" for c in CHART_IDS[:3])
    for chart_id in CHART_IDS[:3]:
        assert (data / "site" / contract.chart_relpath(WEEK, chart_id)).read_bytes() == (
            w05 / "site" / contract.chart_relpath(WEEK, chart_id)
        ).read_bytes()
    assert "policy_exposure" not in (data / "site" / chart_page_relpath(WEEK)).read_text(encoding="utf-8")


def test_chart_page_and_site_build_from_the_w05_run(w05: Path, tmp_path: Path) -> None:
    page = (w05 / "site" / chart_page_relpath(WEEK)).read_text(encoding="utf-8")
    for chart_id in CHART_IDS:
        assert f"]({chart_id}.svg)" in page
    result = build_site(w05 / "site", tmp_path / "html")
    assert result.broken_links == []
    html = result.page_path(chart_page_relpath(WEEK)).read_text(encoding="utf-8")
    for chart_id in CHART_IDS:
        assert f'src="{chart_id}.svg"' in html
        assert (result.page_path(chart_page_relpath(WEEK)).parent / f"{chart_id}.svg").is_file()
    report = result.page_path(f"Narrator/trade_briefing/{WEEK}-trade-briefing.md").read_text(encoding="utf-8")
    assert 'href="charts/2026-W05/index.html"' in report  # the chart page links back to its report: a backlink


def test_a_range_run_draws_each_week_from_its_own_rows(w05: Path, tmp_path: Path, monkeypatch) -> None:
    """W04..W05 as one run (charts of identical content are drawn once per step): W05's files are byte for byte the
    single-week run's, and W04's balance chart — one Census month fewer — is its own."""
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(tmp_path))
    tags = {"dagster/asset_partition_range_start": "2026-01-19", "dagster/asset_partition_range_end": W05}
    assert materialize(
        [*defs.assets], resources=RESOURCES, tags=tags, instance=DagsterInstance.ephemeral(), raise_on_error=True
    ).success
    single = w05 / "site" / contract.CHARTS_DIR / WEEK
    ranged = tmp_path / "site" / contract.CHARTS_DIR / WEEK
    assert {p.name: p.read_bytes() for p in single.iterdir()} == {p.name: p.read_bytes() for p in ranged.iterdir()}
    w04 = (tmp_path / "site" / contract.chart_relpath("2026-W04", "us_balance_monthly")).read_text(encoding="utf-8")
    assert "2025-11" not in w04 and "2025-10" in w04
    assert w04 != (ranged / "us_balance_monthly.svg").read_text(encoding="utf-8")


def test_a_quality_flag_upstream_marks_the_points_computed_from_it(w05: Path, tmp_path: Path, monkeypatch) -> None:
    """A truncated Comtrade reply for the US 2024 exports (a QUALITY flag on the partner-flow rows) reaches, by
    lineage, the US HHI bars and top-partner bars — drawn outlined, with [REVIEW_NEEDED] in their labels — and
    nothing else."""
    data = tmp_path / "copy"
    shutil.copytree(w05, data)
    with duckdb.connect(str(data / "warehouse.duckdb")) as conn:
        conn.execute(
            "UPDATE comtrade_partner_flows SET review_flags = 'truncated' WHERE week_start = ?::DATE "
            "AND reporter_code = 842 AND flow = 'X' AND year = 2024",
            [W05],
        )
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    assert materialize(
        [CHARTS_ASSET],
        resources=RESOURCES,
        partition_key=W05,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    ).success
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        flagged = {
            (p["chart_id"], p["x"], p["series"])
            for c in _charts(conn)
            for p in _points(conn, c["chart_id"])
            if "truncated" in p["review_flags"]
        }
        charts = {c["chart_id"]: c for c in _charts(conn)}
    assert flagged == {
        ("hhi_vs_prev_year", "美國", "2024 年"),
        ("hhi_vs_prev_year", "美國", "2023 年"),
        *(("top_partner_shares", "美國", f"第 {n} 大") for n in (1, 2, 3)),
    }
    assert (
        charts["hhi_vs_prev_year"]["flagged_points"] == 2 and "[REVIEW_NEEDED]" in charts["hhi_vs_prev_year"]["alt_zh"]
    )
    assert charts["us_balance_monthly"]["flagged_points"] == 0
    svg = (data / "site" / contract.chart_relpath(WEEK, "hhi_vs_prev_year")).read_bytes()
    assert "美國 2024 年：HHI 713.24 [REVIEW_NEEDED]" in plotted_values(svg)
