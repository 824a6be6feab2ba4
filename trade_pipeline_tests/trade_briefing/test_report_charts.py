"""The W05 report embeds the week's charts (issue 15 item 2): each chart drawn ('ok' in briefing_charts) once, at its
slot, in both editions, as ``![alt](charts/<ISO week>/<chart_id>.svg)``; the link resolves to the SVG (in the site
folder and in the built HTML site); the alt text is the stored one and its key figure is the stored layer cell
printed by its kind; a layer cell changed after publishing makes ``trade-pipeline verify`` fail naming the chart's
slot; a week without the policy table embeds no exposure chart; a rerun writes the same bytes."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from trade_pipeline import cli
from trade_pipeline.core import contract
from trade_pipeline.core.formatting import format_as
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.briefing_charts.assets import build_chart_assets
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.trade_briefing import assets as briefing_assets
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient
from trade_pipeline.site_html.build import build_site
from trade_pipeline_tests.test_weekly_graph import RUN_CONFIG, W05, run_graph

WEEK = "2026-W05"
REPORT_DIR = "Narrator/trade_briefing"
EDITIONS = {"zh": (f"{WEEK}-trade-briefing.md", "alt_zh"), "en": (f"{WEEK}-trade-briefing.en.md", "alt_en")}
#: Where each chart belongs: the heading of its (sub)section in each edition.
SLOTS = {
    "top_partner_shares": ("## 一、出口重點", "## I. Exports"),
    "us_balance_monthly": ("## 二、進口重點", "## II. Imports"),
    "policy_exposure": ("### 管制物項的貿易曝險", "### Trade exposure of the controlled items"),
    "hhi_vs_prev_year": ("## 四、市場集中度變化", "## IV. "),
}
IMAGE = re.compile(r"^!\[(?P<alt>.*)\]\((?P<link>[^)\s]+)\)$", re.MULTILINE)


def _resources() -> dict:
    return {
        "warehouse": Warehouse(),
        "site": Site(),
        "comtrade": ComtradeClient(),
        "census": CensusTradeClient(),
        "mofcom": MofcomClient(),
    }


@pytest.fixture(scope="module")
def w05(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2026-W05 on the embedded sample (every layer, the charts and both editions), once for this module."""
    data = tmp_path_factory.mktemp("charts-w05")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    run_graph(key=W05)
    mp.undo()
    return data


@pytest.fixture
def data(w05: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(w05))
    return w05


@pytest.fixture
def copy(w05: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the W05 data directory (for tests that change the warehouse)."""
    target = tmp_path / "w05-copy"
    shutil.copytree(w05, target, ignore=shutil.ignore_patterns("dagster", "cache"))
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(target))
    return target


def _charts(data: Path) -> list[dict]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        cur = conn.execute(f"SELECT * FROM {contract.BRIEFING_CHARTS} WHERE week_start = ?::DATE ORDER BY seq", [W05])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def _report(data: Path, edition: str) -> str:
    return (data / "site" / REPORT_DIR / EDITIONS[edition][0]).read_text(encoding="utf-8")


def _section_of(text: str, pos: int, headings: tuple[str, ...]) -> str:
    """The last heading (of the levels in ``headings``' prefixes) before ``pos``."""
    before = text[:pos]
    found = [(before.rfind("\n" + h), h) for h in headings]
    return max(found)[1]


def _layer_cell(data: Path, chart: dict) -> float:
    key = json.loads(chart["key_source_row_key"])
    cols = [c for c in key if c != "week_start"]
    where = " AND ".join(["week_start = ?::DATE", *(f"{c} = ?" for c in cols)])
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            f"SELECT {chart['key_source_column']} FROM {chart['key_source_table']} WHERE {where}",
            [key["week_start"], *(key[c] for c in cols)],
        ).fetchall()
    assert len(rows) == 1, (chart["chart_id"], rows)
    return rows[0][0]


@pytest.mark.parametrize("edition", ["zh", "en"])
def test_w05_embeds_each_drawn_chart_once_at_its_slot_linking_its_svg(data: Path, edition: str) -> None:
    text = _report(data, edition)
    charts = [c for c in _charts(data) if c["status"] == "ok"]
    assert {c["chart_id"] for c in charts} == set(SLOTS)  # the sample week draws all four
    images = list(IMAGE.finditer(text))
    assert sorted(m["link"] for m in images) == sorted(c["report_link"] for c in charts)  # each once, nothing else
    col = 0 if edition == "zh" else 1
    headings = tuple(
        {h[col] for h in SLOTS.values()} | ({"## 三、", "## 五、"} if edition == "zh" else {"## III. ", "## V. "})
    )
    for c in charts:
        (m,) = [m for m in images if m["link"] == f"charts/{WEEK}/{c['chart_id']}.svg"]
        assert _section_of(text, m.start(), headings) == SLOTS[c["chart_id"]][col], c["chart_id"]
        svg = data / "site" / REPORT_DIR / m["link"]
        assert svg.is_file() and svg.read_text(encoding="utf-8").lstrip().startswith("<svg"), svg


@pytest.mark.parametrize("edition", ["zh", "en"])
def test_w05_alt_text_is_the_stored_one_and_states_the_layer_cell_by_its_kind(data: Path, edition: str) -> None:
    text = _report(data, edition)
    alt_column = EDITIONS[edition][1]
    lang = "zh-TW" if edition == "zh" else "en"
    for c in (c for c in _charts(data) if c["status"] == "ok"):
        (m,) = [m for m in IMAGE.finditer(text) if m["link"] == c["report_link"]]
        figure = format_as(c["key_kind"], _layer_cell(data, c), lang)
        assert figure in m["alt"], (c["chart_id"], figure, m["alt"])
        assert m["alt"] == c[alt_column], c["chart_id"]  # the words the chart page and the SVG carry


def test_w05_chart_images_resolve_in_the_built_html_site(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "html"
    build_site(data / "site", out)
    page = out / REPORT_DIR / f"{WEEK}-trade-briefing.html"

    class Images(HTMLParser):
        srcs: list[str] = []

        def handle_starttag(self, tag, attrs):  # noqa: ANN001
            if tag == "img":
                self.srcs.append(dict(attrs)["src"])

    parser = Images()
    parser.srcs = []
    parser.feed(page.read_text(encoding="utf-8"))
    drawn = {c["chart_id"] for c in _charts(data) if c["status"] == "ok"}
    assert sorted(Path(s).stem for s in parser.srcs) == sorted(drawn)
    for src in parser.srcs:
        assert (page.parent / src).resolve().is_file(), src


def test_a_layer_cell_changed_after_publishing_fails_verify_naming_the_chart(copy: Path, capsys) -> None:
    report = copy / "site" / REPORT_DIR / EDITIONS["zh"][0]
    assert cli.main(["verify", str(report)]) == 0
    (hhi,) = [c for c in _charts(copy) if c["chart_id"] == "hhi_vs_prev_year"]
    key = json.loads(hhi["key_source_row_key"])
    with duckdb.connect(
        str(copy / "warehouse.duckdb")
    ) as conn:  # still the highest HHI: the same chart, another figure
        conn.execute(
            "UPDATE market_concentration SET hhi = hhi + 111 WHERE week_start = ?::DATE AND reporter_code = ? "
            "AND flow = ? AND year = ?",
            [W05, key["reporter_code"], key["flow"], key["year"]],
        )
    capsys.readouterr()
    assert cli.main(["verify", str(report)]) == 1
    out = capsys.readouterr().out
    chart_lines = [line for line in out.splitlines() if "charts.hhi_vs_prev_year.key" in line]
    assert chart_lines and "figure" in chart_lines[0], out


def _rerun_charts_and_report(available: tuple[str, ...] = (contract.POLICY_TRADE_EXPOSURE,)) -> None:
    assets = [*build_chart_assets(available), *briefing_assets.ASSETS]
    result = materialize(
        assets,
        resources=_resources(),
        partition_key=W05,
        run_config=RUN_CONFIG,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success


def test_a_week_without_the_policy_table_embeds_no_exposure_chart(copy: Path) -> None:
    with duckdb.connect(str(copy / "warehouse.duckdb")) as conn:
        conn.execute(f"DROP TABLE {contract.POLICY_EXPOSURE_WATCHLIST}")
        conn.execute(f"DROP TABLE {contract.POLICY_TRADE_EXPOSURE}")
    _rerun_charts_and_report(available=())
    (exposure,) = [c for c in _charts(copy) if c["chart_id"] == "policy_exposure"]
    assert exposure["status"] == "skipped"
    for edition in EDITIONS:
        text = _report(copy, edition)
        links = [m["link"] for m in IMAGE.finditer(text)]
        assert len(links) == 3 and not any("policy_exposure" in link for link in links), links
        assert "policy_exposure.svg" not in text
    assert not (copy / "site" / contract.chart_relpath(WEEK, "policy_exposure")).exists()
    assert cli.main(["verify", str(copy / "site" / REPORT_DIR / EDITIONS["zh"][0])]) == 0


def test_a_rerun_writes_the_same_report_and_chart_bytes(copy: Path) -> None:
    site = copy / "site" / REPORT_DIR
    files = sorted([*site.glob(f"{WEEK}-trade-briefing*.md"), *(site / "charts" / WEEK).glob("*")])
    before = {p: p.read_bytes() for p in files}
    assert len([p for p in before if p.suffix == ".svg"]) == 4
    _rerun_charts_and_report()
    assert {p: p.read_bytes() for p in files} == before


def test_a_flagged_key_figure_is_marked_in_the_alt_text_and_the_flag_said_in_words(copy: Path) -> None:
    (shares,) = [c for c in _charts(copy) if c["chart_id"] == "top_partner_shares"]
    key = json.loads(shares["key_source_row_key"])
    cols = [c for c in key if c != "week_start"]
    with duckdb.connect(str(copy / "warehouse.duckdb")) as conn:
        conn.execute(
            "UPDATE partner_rankings SET review_flags = 'yoy_gt_50pct' WHERE week_start = ?::DATE AND "
            + " AND ".join(f"{c} = ?" for c in cols),
            [W05, *(key[c] for c in cols)],
        )
    _rerun_charts_and_report()
    (shares,) = [c for c in _charts(copy) if c["chart_id"] == "top_partner_shares"]
    for edition, (_, alt_column) in EDITIONS.items():
        text = _report(copy, edition)
        (m,) = [m for m in IMAGE.finditer(text) if m["link"] == shares["report_link"]]
        figure = format_as("pct", _layer_cell(copy, shares), "zh-TW" if edition == "zh" else "en")
        assert f"{figure} [REVIEW_NEEDED]" in m["alt"] and m["alt"] == shares[alt_column], m["alt"]
    assert cli.main(["verify", str(copy / "site" / REPORT_DIR / EDITIONS["zh"][0])]) == 0


def test_a_chart_not_redrawn_after_its_layer_changed_is_said_not_embedded(copy: Path) -> None:
    (hhi,) = [c for c in _charts(copy) if c["chart_id"] == "hhi_vs_prev_year"]
    key = json.loads(hhi["key_source_row_key"])
    with duckdb.connect(str(copy / "warehouse.duckdb")) as conn:  # another reporter is now the most concentrated
        conn.execute(
            "UPDATE market_concentration SET hhi = 1 WHERE week_start = ?::DATE AND reporter_code = ? "
            "AND flow = ? AND year = ?",
            [W05, key["reporter_code"], key["flow"], key["year"]],
        )
    # the report (facts → render → publish) without redrawing the charts: the stored chart is stale
    result = materialize(
        briefing_assets.ASSETS,
        resources=_resources(),
        partition_key=W05,
        run_config=RUN_CONFIG,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success
    for edition, words in (("zh", "此處的圖表未嵌入"), ("en", "The chart for this place is not embedded")):
        text = _report(copy, edition)
        links = [m["link"] for m in IMAGE.finditer(text)]
        assert len(links) == 3 and hhi["report_link"] not in links, links
        (line,) = [line for line in text.splitlines() if words in line]
        assert line.endswith("[REVIEW_NEEDED]")
        assert (
            _section_of(
                text,
                text.index(line),
                (SLOTS["hhi_vs_prev_year"][0 if edition == "zh" else 1], "## 三、" if edition == "zh" else "## III. "),
            )
            == SLOTS["hhi_vs_prev_year"][0 if edition == "zh" else 1]
        )
