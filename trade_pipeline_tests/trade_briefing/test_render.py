"""The renderer on contract-shaped rows (fixtures.py): history columns, watch-list rules, escaping, front matter.

These tests do not run Dagster: they write the tables the report reads, build the facts, render and publish (which
verifies every figure in place first), and read the markdown back.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml

from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.markdown import split_front_matter
from trade_pipeline.defs.trade_briefing.validation import front_matter_problems, missing_citations, period_problems

from .fixtures import ANNOUNCEMENTS, W04, W05, W06, seed_three_weeks, seed_week
from .support import render, section, table_row


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    return root


def test_w05_after_w04_fills_last_week_and_trend(site: Path) -> None:
    wh = Warehouse()
    seed_three_weeks(wh, site)
    report = render(wh, site, W05)
    conc = section(report.markdown, "四、市場集中度變化")
    # fixtures: US export HHI 723.51 this week, 721.51 stored as last week's (shift -2.0) → 上週 721.51, upward
    us = table_row(conc, "美國（842）")
    header = table_row(conc, "國家")
    assert us[header.index("HHI 指數")] == "723.51"
    assert us[header.index("上週")] == "721.51"
    assert us[header.index("趨勢")].startswith("↑")
    w06 = render(wh, site, W06)
    us6 = table_row(section(w06.markdown, "四、市場集中度變化"), "美國（842）")
    assert us6[header.index("上週")] == "723.51" and us6[header.index("趨勢")].startswith("↑")


def test_a_week_without_previous_partition_says_so(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    conc = section(render(wh, site, W05).markdown, "四、市場集中度變化")
    header = table_row(conc, "國家")
    us = table_row(conc, "美國（842）")
    assert us[header.index("上週")] == "N/A" and us[header.index("趨勢")] == "N/A"
    assert "2026-W04" in conc and "無上週資料" in conc
    assert "N/A（無歷史資料）" in conc  # same week last year (2025-W05) does not exist


def test_every_figure_prints_one_way(site: Path) -> None:
    """The same stored value (table/row/column) prints with one text in one format kind everywhere."""
    wh = Warehouse()
    seed_three_weeks(wh, site)
    claims = render(wh, site, W05).claims
    by_source = (
        claims.filter(pl.col("value").is_not_null())
        .group_by("table_name", "row_key", "column_name", "kind")
        .agg(n=pl.col("claim_text").n_unique())
    )
    assert by_source.height > 100 and by_source["n"].max() == 1


def test_watch_list_rules_and_their_sources(site: Path) -> None:
    wh = Warehouse()
    seed_three_weeks(wh, site)
    watch = section(render(wh, site, W05).markdown, "五、觀察清單")
    # rule 1: US–Taiwan deficit -1,119 億 with HS84 -918 億 = 82.04 % of it (the seed's sentence); one item names
    # every partner the rule picks
    assert watch.count("**美國逆差集中於單一品類**") == 1
    assert "美國對台灣（總差額 USD -1,119 億）各逆差品類的逆差合計中有 82.04% 來自 HS84 機械（USD -918 億）" in watch
    assert "Extractor/us_trade_census/trade_balance/us-balance-5830-2025.md" in watch
    # rule 2: the FDPR suspension ends 2026-11-09, within a year of the week
    assert "暫停措施到期關注" in watch and "2026-11-09" in watch
    # rule 6: W05 carries a revision of 2025-09 HS85 imports from China (+2.2 億 ≥ 1 億)
    assert "US Census 回溯修正" in watch and "修正 USD +2.2 億" in watch
    # rule 8: a title-only announcement is listed for manual follow-up
    assert "海關總署公告2025年第61號" in watch
    # every item ends with its numbered source note, listed under 來源 at the section's end
    items = re.findall(r"^\d+\. \*\*.*$", watch, re.MULTILINE)
    assert items and all(re.search(r"〔\d+〕$", item) for item in items)
    notes = re.findall(r"^- 〔(\d+)〕 ", watch.split("**來源**")[1], re.MULTILINE)
    assert notes == [str(i) for i in range(1, len(notes) + 1)] and len(notes) >= len(items) - 1


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
    assert data["date"] == date(2026, 1, 28)  # generated inside the week: the generation date
    assert front_matter_problems(report.markdown, W05) == []
    assert period_problems(report.markdown, W05) == []
    assert "> 報告期間：2026-01-26 — 2026-02-01" in report.markdown
    cited, missing = missing_citations(report.markdown, site)
    assert cited and missing == []
    # a citation to a file that is gone is reported
    (site / cited[0]).unlink()
    assert missing_citations(report.markdown, site)[1] == [cited[0]]


def test_a_backfilled_week_is_dated_by_its_own_sunday(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    later = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    fm, body = split_front_matter(render(wh, site, W05, generated=later).markdown)
    assert yaml.safe_load(fm)["date"] == date(2026, 2, 1)  # the week's as-of date, not the run's
    assert "產出時間：2026-12-01T08:00:00Z" in body  # 產出時間 stays the generation time


def test_header_lines_stay_separate_paragraphs(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    _, body = split_front_matter(render(wh, site, W05).markdown)
    head = body.split("---")[0]
    # consecutive '>' lines would be one paragraph once rendered: each header line is its own paragraph
    assert re.search(r"> 報告期間：.*\n>\n> 產出時間：.*\n>\n> 自動化程度：", head)


def test_hostile_scraped_text_is_data(site: Path) -> None:
    wh = Warehouse()
    hostile = dict(
        ANNOUNCEMENTS[1],
        announcement_id="hostile",
        slug="hostile-title",
        title_zh_tw="商務部公告 <script>alert(1)</script> {{ 7*7 }} {% if 1 %}x{% endif %} | 破表 | [連結](http://x)",
        importance=99,
    )
    seed_week(wh, site, W05, announcements=[hostile])
    md = render(wh, site, W05).markdown
    policy = section(md, "三、政策更新")
    assert "<script>" not in md and "{{ 7*7 }}" not in md and "{% if" not in md and "49" not in policy
    line = next(li for li in policy.splitlines() if "破表" in li)
    assert "\\|" in line and " | 破表 | " not in line  # table breakers escaped
    # the front matter stays valid YAML with the hostile title as its description
    assert front_matter_problems(md, W05) == []


def test_prose_cites_numbered_notes_and_repeats_no_sentence_template(site: Path) -> None:
    """Sections 一/二 carry no Extractor path in their prose (〔n〕 notes, listed under 來源 at the section's end), and
    no sentence template (figures and names masked) repeats more than twice in any section — in both editions."""
    from trade_pipeline.defs.trade_briefing.publish import publish
    from trade_pipeline.defs.trade_briefing.render import render_report
    from trade_pipeline.defs.trade_briefing.wording import repeated_templates

    from .support import GENERATED, facts_of

    wh = Warehouse()
    seed_three_weeks(wh, site)
    facts = list(facts_of(wh, site, W05))
    editions = [render_report(facts, "2026-W05", site, GENERATED, [], lang=lang) for lang in ("zh-TW", "en")]
    publish(wh, site, {W05: editions})
    for report, headings in zip(editions, (("一、出口重點", "二、進口重點"), ("I. Exports", "II. Imports"))):
        for heading in headings:
            body = section(report.markdown, heading)
            prose = [line for line in body.splitlines() if "Extractor/" in line and not line.startswith("- 〔")]
            assert prose == [], prose[:2]
            refs = set(
                re.findall(r"〔(\d+)〕", "\n".join(line for line in body.splitlines() if not line.startswith("- 〔")))
            )
            listed = re.findall(r"^- 〔(\d+)〕 `Extractor/", body, re.MULTILINE)
            assert refs and refs == set(listed) and listed == [str(i) for i in range(1, len(listed) + 1)]
        assert repeated_templates(report.markdown, report.claims.to_dicts()) == [], report.relpath


def test_the_repetition_check_sees_a_template_printed_three_times() -> None:
    from trade_pipeline.defs.trade_briefing.wording import repeated_templates

    body = (
        "## 一、出口重點\n\n"
        + "".join(
            f"{n}對中國出口 USD {v} 億，占其出口總額 {s}%。"
            for n, v, s in (("日本", "1,251", "17.79"), ("南韓", "1,330", "19.56"), ("台灣", "989", "20.93"))
        )
        + "\n"
    )
    line = body.split("\n")[2]
    claims = []
    for text, kind in (
        ("日本", "md_text"),
        ("南韓", "md_text"),
        ("台灣", "md_text"),
        ("USD 1,251 億", "usd"),
        ("USD 1,330 億", "usd"),
        ("USD 989 億", "usd"),
        ("17.79%", "pct"),
        ("19.56%", "pct"),
        ("20.93%", "pct"),
    ):
        claims.append({"slot": "x", "kind": kind, "line": 2, "col": line.index(text), "claim_text": text})
    [(sec, skeleton, n)] = repeated_templates(body, claims)
    assert (sec, n) == ("一、出口重點", 3) and skeleton == "〈md_text〉對中國出口 〈usd〉，占其出口總額 〈pct〉。"
    assert repeated_templates(body, claims, limit=3) == []
