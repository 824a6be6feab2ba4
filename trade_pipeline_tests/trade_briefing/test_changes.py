"""本週變化: what a week's partition adds to the previous one, every figure a fact re-derived by verify; "no change"
only when everything compared is equal, "not comparable" when last week has no partition."""

from __future__ import annotations

from pathlib import Path

import pytest

from trade_pipeline.core import contract
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.facts import stored_rows, week_facts
from trade_pipeline.defs.trade_briefing.facts.model import build_tree
from trade_pipeline.defs.trade_briefing.render import changes_headline
from trade_pipeline_tests.trade_briefing.fixtures import ANNOUNCEMENTS, W04, W05, seed_week
from trade_pipeline_tests.trade_briefing.support import facts_of, render, section

OLD_ANNOUNCEMENTS = [a for a in ANNOUNCEMENTS if str(a["publish_date"]) <= "2026-01-25"]


@pytest.fixture
def site(isolated_data_dir: Path) -> Path:
    root = isolated_data_dir / "site"
    root.mkdir()
    return root


def _store_facts(wh: Warehouse, site: Path, key: str) -> None:
    """What the briefing_facts asset stores for ``key`` (last week's facts, for the review-flag comparison)."""
    import polars as pl

    book = facts_of(wh, site, key)
    wh.replace_partition(contract.BRIEFING_FACTS, key, pl.DataFrame(stored_rows(book)))


def test_a_first_week_is_not_compared_and_never_says_no_change(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    changes = section(render(wh, site, W05).markdown, "本週變化")
    assert "無分區資料可比較" in changes and "本週無變化" not in changes


def test_identical_weeks_say_no_change_plainly(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W04, announcements=OLD_ANNOUNCEMENTS)
    seed_week(wh, site, W05, announcements=OLD_ANNOUNCEMENTS)
    with wh.connect() as conn:  # a flag carried by both weeks is not new
        conn.execute(
            "UPDATE market_concentration SET review_flags = 'truncated' WHERE reporter_code = 392 AND flow = 'X'"
        )
    _store_facts(wh, site, W04)
    report = render(wh, site, W05)
    changes = section(report.markdown, "本週變化")
    assert changes.strip().startswith("本週無變化：與上週（2026-W04）分區相比") and "未比較" not in changes
    assert report.front["description"] == "本週無變化"


def test_small_hhi_moves_make_it_no_material_change(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W04, hhi_shift=-2.0, announcements=OLD_ANNOUNCEMENTS)
    seed_week(wh, site, W05, prev_shift=-2.0, announcements=OLD_ANNOUNCEMENTS)
    _store_facts(wh, site, W04)
    changes = section(render(wh, site, W05).markdown, "本週變化")
    assert "本週無重大變化" in changes and "未達 10 點的小幅變動" in changes


def test_a_new_month_hhi_moves_new_and_changed_announcements_and_new_flags_are_named(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W04, hhi_shift=-30.0)
    seed_week(wh, site, W05, prev_shift=-30.0, revisions=True)
    _store_facts(wh, site, W04)
    with wh.connect() as conn:
        conn.execute("UPDATE census_release_status SET latest_month = 11 WHERE week_start = ?::DATE", [W05])
        conn.execute(
            "UPDATE census_trade_balance SET balance_usd = balance_usd - 10e9 "
            "WHERE week_start = ?::DATE AND hs2 = 'TOTAL' AND cty_code = '5700'",
            [W05],
        )
        conn.execute(
            "UPDATE mofcom_announcements SET effective_date = DATE '2025-12-01' "
            "WHERE week_start = ?::DATE AND announcement_id = 'mofcom-2025-61'",
            [W05],
        )
        conn.execute(
            "UPDATE market_concentration SET review_flags = 'truncated' "
            "WHERE week_start = ?::DATE AND reporter_code = 392 AND flow = 'X'",
            [W05],
        )
    report = render(wh, site, W05)  # publishing verifies every figure of 本週變化 against the tables
    changes = section(report.markdown, "本週變化")
    assert "資料延伸至 2025 年 11 月（上週至 2025 年 10 月）" in changes
    assert (
        "US Census 數據修正**：1 筆月度數據與上週不同，變動最大者為中國 2025 年 9 月進口（HS85），修正 USD +2.2 億"
        in changes
    )
    # fixtures: every export HHI moved by 30 points; the largest first, with its direction
    assert "**出口市場 HHI 變動**（10 點以上）：" in changes and "美國由 693.51 升至 723.51" in changes
    assert "| 中國 | -1,754 億 | -1,854 億 |" in changes  # the year-to-date balance before and after
    assert (
        "**新收錄政策公告**：1 筆，「商務部公告2026年第3號 關於優化調整石墨物項出口管制的公告」（2026-01-28）"
        in changes
    )
    assert (
        "**政策公告內容更新**：1 筆，「商務部公告2025年第61號 公布對境外相關稀土物項實施出口管制的決定」（生效日期）"
        in changes
    )
    new_flags = next(line for line in changes.splitlines() if line.startswith("- **新增 [REVIEW_NEEDED] 標記**"))
    assert contract.FLAGS["truncated"].zh in new_flags and "日本" in new_flags
    assert "本週無變化" not in changes
    headline = report.front["description"]
    assert headline.startswith("US Census 新增 2025 年 11 月數據") and "新增公告 1 筆" in headline


def test_last_week_built_in_the_same_pass_equals_last_week_stored(site: Path) -> None:
    """A single-run backfill builds W04 and W05 together: W05 compares with the W04 facts of the same pass, which
    are exactly what the asset stores for W04 — so verify (which reads the stored W04 facts) recomputes W05 alike."""
    wh = Warehouse()
    seed_week(wh, site, W04, hhi_shift=-30.0)
    seed_week(wh, site, W05, prev_shift=-30.0, revisions=True)
    with wh.connect() as conn:
        conn.execute(
            "UPDATE market_concentration SET review_flags = 'truncated' "
            "WHERE week_start = ?::DATE AND reporter_code = 392 AND flow = 'X'",
            [W05],
        )
    together = [book for _, book in week_facts(wh, [W04, W05], site)]
    _store_facts(wh, site, W04)
    alone = facts_of(wh, site, W05)
    assert together[1].frame().equals(alone.frame())
    tree = build_tree(list(alone))
    assert tree.changes.review.has_new and tree.changes.hhi.has_moves
    assert "新增審核標記" in changes_headline(tree)


def test_english_edition_says_the_same_changes(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W04, hhi_shift=-30.0)
    seed_week(wh, site, W05, prev_shift=-30.0, revisions=True)
    _store_facts(wh, site, W04)
    from trade_pipeline.defs.trade_briefing.publish import publish
    from trade_pipeline.defs.trade_briefing.render import render_report
    from trade_pipeline_tests.trade_briefing.support import GENERATED

    en = render_report(list(facts_of(wh, site, W05)), "2026-W05", site, GENERATED, [], lang="en")
    publish(wh, site, {W05: [en]})
    changes = section(en.markdown, "What changed this week")
    assert "the United States rose from 693.51 to 723.51" in changes
    assert "**Newly listed announcements**: 1," in changes
