"""The renderer on contract-shaped rows (fixtures.py): history columns, watch-list rules, claims, escaping.

These tests do not run Dagster: they write the tables the report reads, render with ``render_report`` and check the
markdown and the recorded claims against the warehouse, as the asset check does.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest
import yaml

from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.claims import CLAIMS_TABLE
from trade_pipeline.defs.trade_briefing.inputs import load_week_inputs
from trade_pipeline.defs.trade_briefing.markdown import split_front_matter
from trade_pipeline.defs.trade_briefing.render import render_report
from trade_pipeline.defs.trade_briefing.validation import (
    check_claims, front_matter_problems, missing_citations, period_problems,
)

from .fixtures import ANNOUNCEMENTS, W04, W05, W06, seed_three_weeks, seed_week

GENERATED = datetime(2026, 1, 28, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    return root


def render(warehouse: Warehouse, site: Path, key: str, write: bool = True):
    report = render_report(load_week_inputs(warehouse, key), site, GENERATED, [])
    if write:
        path = site / report.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.markdown, encoding="utf-8")
        warehouse.replace_partition(CLAIMS_TABLE, key, report.claims)
    return report


def section(markdown: str, heading: str) -> str:
    """The text of one '## ' section."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert m, f"section {heading!r} missing"
    return m.group(1)


def table_row(text: str, first_cell: str) -> list[str]:
    for line in text.splitlines():
        if line.startswith(f"| {first_cell} "):
            return [c.strip() for c in line.strip().strip("|").split("|")]
    raise AssertionError(f"no table row starting with {first_cell!r}")


def claims_outcome(warehouse: Warehouse, markdown: str, key: str):
    with warehouse.connect(read_only=True) as conn:
        claims = conn.execute(f"SELECT * FROM {CLAIMS_TABLE} WHERE week_start = ?::DATE", [key]).pl().to_dicts()
        return check_claims(markdown, claims, conn)


def test_w05_after_w04_fills_last_week_and_trend(site: Path) -> None:
    wh = Warehouse()
    seed_three_weeks(wh, site)
    report = render(wh, site, W05)
    conc = section(report.markdown, "四、市場集中度變化")
    # fixtures: US export HHI 723.51 this week, 721.51 in W04 (shift -2.0) → 上週 721.51 and an upward arrow
    us = table_row(conc, "美國 (842)")
    header = table_row(conc, "國家")
    assert us[header.index("HHI 指數")] == "723.51"
    assert us[header.index("上週")] == "721.51"
    assert us[header.index("趨勢")].startswith("↑")
    w06 = render(wh, site, W06)
    us6 = table_row(section(w06.markdown, "四、市場集中度變化"), "美國 (842)")
    assert us6[header.index("上週")] == "723.51" and us6[header.index("趨勢")].startswith("↑")


def test_a_week_without_previous_partition_says_so(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    conc = section(render(wh, site, W05).markdown, "四、市場集中度變化")
    header = table_row(conc, "國家")
    us = table_row(conc, "美國 (842)")
    assert us[header.index("上週")] == "N/A" and us[header.index("趨勢")] == "N/A"
    assert "2026-W04" in conc and "無上週資料" in conc
    assert "N/A（無歷史資料）" in conc  # same week last year (2025-W05) does not exist


def test_claims_trace_every_figure_and_an_injected_orphan_fails(site: Path) -> None:
    wh = Warehouse()
    seed_three_weeks(wh, site)
    report = render(wh, site, W05)
    outcome = claims_outcome(wh, report.markdown, W05)
    assert outcome.figures > 100
    assert outcome.orphans == [] and outcome.broken_claims == []

    # a figure nobody recorded
    tampered = report.markdown.replace("## 五、觀察清單\n", "## 五、觀察清單\n\n美國對越南逆差 USD 1,234 億。\n")
    orphans = claims_outcome(wh, tampered, W05).orphans
    assert len(orphans) == 1 and "1,234 億" in str(orphans[0])

    # a recorded figure whose stored value changed afterwards no longer traces
    with wh.connect() as conn:
        conn.execute("UPDATE market_concentration SET hhi = 700.0 WHERE week_start = ?::DATE AND reporter_code = 842 "
                     "AND flow = 'X'", [W05])
    broken = claims_outcome(wh, report.markdown, W05).broken_claims
    assert broken and all(b["table"] == "market_concentration" for b in broken)


def test_every_figure_prints_one_way(site: Path) -> None:
    """The same stored value (table/row/column) is printed with one text everywhere in the report."""
    wh = Warehouse()
    seed_three_weeks(wh, site)
    claims = render(wh, site, W05).claims
    by_source = claims.filter(pl.col("value").is_not_null()).group_by(
        "table_name", "row_key", "column_name", "format_kind").agg(n=pl.col("claim_text").n_unique())
    assert by_source["n"].max() == 1


def test_watch_list_rules_and_their_sources(site: Path) -> None:
    wh = Warehouse()
    seed_three_weeks(wh, site)
    watch = section(render(wh, site, W05).markdown, "五、觀察清單")
    # rule 1: US–Taiwan deficit -1,119 億 with HS84 -918 億 = 82.04 % of it (the seed's sentence)
    assert "美國對台灣逆差集中於 HS84" in watch and "-1,119 億" in watch and "-918 億" in watch and "82.04%" in watch
    assert "Extractor/us_trade_census/trade_balance/us-balance-5830-2025.md" in watch
    # rule 2: the FDPR suspension ends 2026-11-09, within a year of the week
    assert "暫停措施到期關注" in watch and "2026-11-09" in watch
    # rule 6: W05 carries a revision of 2025-09 HS85 imports from China (+2.2 億 ≥ 1 億)
    assert "US Census 回溯修正" in watch
    # rule 8: a title-only announcement is listed for manual follow-up
    assert "海關總署公告2025年第61號" in watch
    # every item has its 依據 line
    items = re.findall(r"^\d+\. \*\*", watch, re.MULTILINE)
    assert len(items) == watch.count("*依據：")


def test_section_three_follows_the_layer_ranking_and_marks_new_items(site: Path) -> None:
    wh = Warehouse()
    seed_three_weeks(wh, site)
    md = render(wh, site, W05).markdown
    policy = section(md, "三、政策更新")
    titles = re.findall(r"^\d+\. \*\*(.+?)\*\*(.*)$", policy, re.MULTILINE)
    # the layer's importance decides the order (fixtures: 10, 9, 8, 8, 7, 3; ties → newest first)
    assert "第61號" in titles[0][0] and "穿透性規則" in titles[1][0] and "石墨" in titles[2][0]
    # the graphite announcement of 2026-01-28 was published inside W05 (2026-01-26 … 2026-02-01)
    assert "（本週新發布）" in titles[2][1] and all("本週新發布" not in t[1] for i, t in enumerate(titles) if i != 2)
    assert "本週新發布的管制／法規" in section(md, "五、觀察清單")
    assert "建議人工審核" in policy and "（推測）" in policy and "speculative" in policy
    assert "生效日期：2026-02-15" in policy
    # a W04 report does not know it yet (published after W04's end)
    assert "石墨物項出口管制" not in section(render(wh, site, W04).markdown, "三、政策更新")


def test_front_matter_period_and_citations_are_valid(site: Path) -> None:
    wh = Warehouse()
    seed_three_weeks(wh, site)
    render(wh, site, W04)
    report = render(wh, site, W05)
    fm, _ = split_front_matter(report.markdown)
    data = yaml.safe_load(fm)
    assert data["title"] == "2026 年第 05 週" and data["parent"] == "貿易動態週報"
    assert data["related_reports"] == ["/Narrator/trade_briefing/2026-W04-trade-briefing/"]
    assert data["date"] == date(2026, 1, 28)
    assert front_matter_problems(report.markdown, W05) == []
    assert period_problems(report.markdown, W05) == []
    assert "> 報告期間：2026-01-26 — 2026-02-01" in report.markdown
    cited, missing = missing_citations(report.markdown, site)
    assert cited and missing == []
    # a citation to a file that is gone is reported
    (site / cited[0]).unlink()
    assert missing_citations(report.markdown, site)[1] == [cited[0]]


def test_hostile_scraped_text_is_data(site: Path) -> None:
    wh = Warehouse()
    hostile = dict(ANNOUNCEMENTS[1], announcement_id="hostile", slug="hostile-title",
                   title_zh_tw="商務部公告 <script>alert(1)</script> {{ 7*7 }} {% if 1 %}x{% endif %} | 破表 | [連結](http://x)",
                   importance=99)
    seed_week(wh, site, W05, announcements=[hostile])
    md = render(wh, site, W05).markdown
    policy = section(md, "三、政策更新")
    assert "<script>" not in md and "{{ 7*7 }}" not in md and "{% if" not in md and "49" not in policy
    line = next(li for li in policy.splitlines() if "破表" in li)
    assert "\\|" in line and " | 破表 | " not in line  # table breakers escaped
    # the front matter stays valid YAML with the hostile title as its description
    assert front_matter_problems(md, W05) == []
