"""`trade-pipeline verify` and publish-after-verify: every figure checked at its place, against the layer tables.

Each tampering a reader or reviewer could do to a published report — swap two figures, change a unit, edit a table
cell, change a stored value afterwards, add a number — is rejected naming the slot; a genuine swing publishes with
its flag; a failed verify publishes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trade_pipeline import cli
from trade_pipeline.core import contract
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.facts.model import Fact
from trade_pipeline.defs.trade_briefing.printing import REVIEW_MARK
from trade_pipeline.defs.trade_briefing.publish import VerificationFailed, publish, verify_published
from trade_pipeline.defs.trade_briefing.render import render_index, render_report

from .fixtures import W05, seed_week
from .support import GENERATED, facts_of, render, section


@pytest.fixture
def site(isolated_data_dir: Path) -> Path:
    root = isolated_data_dir / "site"  # the site the CLI's Site() resource resolves to
    root.mkdir()
    return root


@pytest.fixture
def published(site: Path) -> tuple[Warehouse, Path]:
    wh = Warehouse()
    seed_week(wh, site, W05)
    report = render(wh, site, W05)
    return wh, site / report.relpath


def _verify_after(wh: Warehouse, path: Path, old: str, new: str) -> list:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    (outcome,) = verify_published(wh, path.parents[2], [path])
    return outcome.mismatches


def test_the_untouched_report_verifies(published: tuple[Warehouse, Path]) -> None:
    wh, path = published
    (outcome,) = verify_published(wh, path.parents[2], [path])
    assert outcome.passed and outcome.figures > 100 and outcome.claims > outcome.figures


def test_two_swapped_figures_are_rejected_by_slot(published: tuple[Warehouse, Path]) -> None:
    wh, path = published
    low = re.search(r"中國 HHI 最低（([\d.]+)），(.+?)最高（([\d.]+)）", path.read_text(encoding="utf-8"))
    assert low, "summary sentence on HHI extremes"
    sentence, a, b = low.group(0), low.group(1), low.group(3)
    swapped = sentence.replace(a, "@").replace(b, a).replace("@", b)
    bad = _verify_after(wh, path, sentence, swapped)
    assert {m.slot for m in bad} >= {"concentration.low.hhi", "concentration.high.hhi"}
    assert all(m.printed in (a, b) and m.expected in (a, b) for m in bad if m.slot.endswith(".hhi"))


def test_a_changed_unit_is_rejected(published: tuple[Warehouse, Path]) -> None:
    wh, path = published
    hhi = re.search(r"中國 HHI 最低（([\d.]+)）", path.read_text(encoding="utf-8")).group(1)
    bad = _verify_after(wh, path, f"最低（{hhi}）", f"最低（{hhi}%）")
    assert [(m.slot, m.printed, m.expected) for m in bad] == [("concentration.low.hhi", f"{hhi}%", hhi)]


def test_an_edited_table_cell_is_rejected(published: tuple[Warehouse, Path]) -> None:
    wh, path = published
    row = next(
        line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("| 美國（842） | 2024 年 |")
    )
    cells = row.split(" | ")
    share = cells[3]
    assert share.endswith("%")
    edited = " | ".join(cells[:3] + ["99.99%"] + cells[4:])
    bad = _verify_after(wh, path, row, edited)
    assert [(m.slot, m.printed, m.expected) for m in bad] == [("exports.842.top3_share", "99.99%", share)]


def test_a_stored_value_changed_after_publishing_is_rejected(published: tuple[Warehouse, Path]) -> None:
    wh, path = published
    with wh.connect() as conn:
        conn.execute(
            f"UPDATE {contract.MARKET_CONCENTRATION} SET hhi = hhi + 10 WHERE reporter_code = 842 "
            "AND flow = 'X' AND week_start = ?::DATE",
            [W05],
        )
    (outcome,) = verify_published(wh, path.parents[2], [path])
    slots = {m.slot for m in outcome.mismatches}
    assert "exports.842.hhi" in slots and all(s and "842" in s or s and s.startswith("concentration.") for s in slots)
    assert all("no longer give" in m.problem for m in outcome.mismatches)


def test_a_number_outside_any_recorded_place_is_an_orphan(published: tuple[Warehouse, Path]) -> None:
    wh, path = published
    bad = _verify_after(wh, path, "## 五、觀察清單\n", "## 五、觀察清單\n\n美國對越南逆差 USD 1,234 億。\n")
    assert [(m.slot, m.printed) for m in bad] == [(None, "1,234")]


def test_the_cli_lists_every_mismatch_and_exits_non_zero(published: tuple[Warehouse, Path], capsys) -> None:
    wh, path = published
    assert cli.main(["verify", str(path)]) == 0
    hhi = re.search(r"中國 HHI 最低（([\d.]+)）", path.read_text(encoding="utf-8")).group(1)
    path.write_text(path.read_text(encoding="utf-8").replace(f"最低（{hhi}）", "最低（999.99）"), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "concentration.low.hhi" in out and "999.99" in out and hhi in out


def test_a_genuine_swing_publishes_with_its_flag_in_words(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    with wh.connect() as conn:  # the layer's YoY rule flagged the US's largest export market (a genuine swing)
        conn.execute(
            f"UPDATE {contract.PARTNER_RANKINGS} SET yoy_pct = 104.0, review_flags = 'yoy_gt_50pct' "
            "WHERE reporter_code = 842 AND flow = 'X' AND rank = 1"
        )
    md = render(wh, site, W05).markdown  # publishing verifies: the run would fail if the flag broke it
    exports = section(md, "一、出口重點")
    us = next(line for line in exports.splitlines() if line.startswith("**出口市場**"))
    assert f"美國的最大出口市場為加拿大（USD 3,494 億 {REVIEW_MARK}，占 17.14% {REVIEW_MARK}）" in us
    assert contract.FLAGS["yoy_gt_50pct"].zh in md and "yoy_gt_50pct" not in md and "yoy\\_gt" not in md


def test_a_flag_removed_from_a_published_figure_is_rejected(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    with wh.connect() as conn:
        conn.execute(
            f"UPDATE {contract.MARKET_CONCENTRATION} SET review_flags = 'truncated' "
            "WHERE reporter_code = 392 AND flow = 'X'"
        )
    path = site / render(wh, site, W05).relpath
    text = path.read_text(encoding="utf-8")
    assert f"894.65 {REVIEW_MARK}" in text
    path.write_text(text.replace(f"894.65 {REVIEW_MARK}", "894.65", 1), encoding="utf-8")
    (outcome,) = verify_published(wh, site, [path])
    assert [(m.slot, m.printed) for m in outcome.mismatches] == [("exports.392.hhi", "894.65")]
    assert "without [REVIEW_NEEDED]" in outcome.mismatches[0].problem


def test_a_failed_verify_leaves_the_published_report_and_index_byte_identical(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    report = render(wh, site, W05)
    index_text, _ = render_index(site)
    (site / "Narrator/trade_briefing/index.md").write_text(index_text, encoding="utf-8")
    before = {p: p.read_bytes() for p in (site / "Narrator/trade_briefing").iterdir()}
    # facts that no longer agree with the layer tables (a stale or corrupted briefing_facts row)
    facts = [
        Fact(
            f.slot, f.kind, f.value + 1.0, f.text, f.source_table, f.source_key, f.source_column, f.depends_on, f.flags
        )
        if f.slot == "exports.842.hhi"
        else f
        for f in facts_of(wh, site, W05)
    ]
    bad = render_report(facts, report.iso_week, site, GENERATED, [])
    with pytest.raises(VerificationFailed) as err:
        publish(wh, site, {W05: [bad]})
    assert "exports.842.hhi" in str(err.value)
    after = {p: p.read_bytes() for p in (site / "Narrator/trade_briefing").iterdir()}
    assert after == before  # same files (no staged leftovers), same bytes


def test_a_quality_flag_upstream_marks_every_figure_derived_from_it(site: Path) -> None:
    wh = Warehouse()
    seed_week(wh, site, W05)
    with wh.connect() as conn:  # one month of the China export total is missing at the source
        conn.execute(
            f"UPDATE {contract.CENSUS_MONTHLY_FLOWS} SET review_flags = 'value_missing' "
            "WHERE cty_code = '5700' AND flow = 'export' AND month = 3"
        )
        # a NOTICE flag upstream (a genuine month-on-month swing) stays on its own row
        conn.execute(
            f"UPDATE {contract.CENSUS_MONTHLY_FLOWS} SET review_flags = 'mom_gt_30pct' "
            "WHERE cty_code = '5880' AND flow = 'export' AND month = 4"
        )
    md = render(wh, site, W05).markdown
    table = next(line for line in md.splitlines() if line.startswith("| 中國 | "))
    assert table.count(REVIEW_MARK) >= 3  # export, import? no: export, balance, prev-year balance of the row
    japan = next(line for line in md.splitlines() if line.startswith("| 日本 | "))
    assert REVIEW_MARK not in japan
    limits = section(md, "免責聲明")
    assert contract.FLAGS["value_missing"].zh in limits and "value_missing" not in limits


def test_flag_words_are_words() -> None:
    for flag in contract.FLAGS.values():
        assert not re.search(r"\d", flag.zh) and not re.search(r"\d", flag.en), flag.code
        assert flag.kind in (contract.QUALITY, contract.NOTICE)
    assert contract.flag_words(["not_a_registered_code"]) == [contract.UNKNOWN_FLAG.zh]


# --- the English edition: the same facts, English forms, verified the same way --------------------------------------


@pytest.fixture
def published_en(site: Path) -> tuple[Warehouse, Path]:
    wh = Warehouse()
    seed_week(wh, site, W05)
    zh = render_report(list(facts_of(wh, site, W05)), "2026-W05", site, GENERATED, [])
    en = render_report(list(facts_of(wh, site, W05)), "2026-W05", site, GENERATED, [], lang="en")
    assert en.relpath.endswith("2026-W05-trade-briefing.en.md") and en.lang == "en"
    publish(wh, site, {W05: [zh, en]})
    return wh, site / en.relpath


def test_the_english_edition_verifies(published_en: tuple[Warehouse, Path]) -> None:
    wh, path = published_en
    outcomes = verify_published(wh, path.parents[2])  # both editions of the week, each in its language
    assert len(outcomes) == 2 and all(o.passed for o in outcomes), [str(m) for o in outcomes for m in o.mismatches]
    text = path.read_text(encoding="utf-8")
    assert "the United States sells most to Canada (USD 349.4 bn, 17.14%)" in text
    assert "億" not in text.split("## III.")[0] and "Jan–Oct 2025" in text


def test_a_tampered_english_figure_is_rejected_naming_its_slot(published_en: tuple[Warehouse, Path]) -> None:
    wh, path = published_en
    bad = _verify_after(wh, path, "Canada (USD 349.4 bn, 17.14%)", "Canada (USD 359.4 bn, 17.14%)")
    assert [(m.slot, m.printed, m.expected) for m in bad] == [
        ("exports.842.top.1.value", "USD 359.4 bn", "USD 349.4 bn")
    ]


def test_a_zh_unit_in_the_english_edition_is_rejected(published_en: tuple[Warehouse, Path]) -> None:
    wh, path = published_en
    bad = _verify_after(wh, path, "Canada (USD 349.4 bn, 17.14%)", "Canada (USD 3,494 億, 17.14%)")
    assert [(m.slot, m.printed) for m in bad] == [("exports.842.top.1.value", "USD 3,494 億")]


def test_a_tampered_english_month_is_rejected(published_en: tuple[Warehouse, Path]) -> None:
    wh, path = published_en
    bad = _verify_after(
        wh, path, "(US Census Bureau, Jan–Oct 2025 year to date)", "(US Census Bureau, Jan–Nov 2025 year to date)"
    )
    assert [(m.slot, m.printed, m.expected) for m in bad] == [("census.through_month", "Nov", "Oct")]


def test_an_edited_front_matter_description_or_title_is_rejected(published: tuple[Warehouse, Path]) -> None:
    """The description (the 本週變化 headline the site's index lists) and the title are printed outside the body's
    claims: they are recomputed from the facts and compared whole, so a figure slipped into them is caught."""
    wh, path = published
    text = path.read_text(encoding="utf-8")
    description = re.search(r"^description: (.*)$", text, flags=re.M)
    assert description, "front matter description"
    forged = description.group(0)[:-1] + '；HHI：中國 436.43 → 1264.16"'
    mismatches = _verify_after(wh, path, description.group(0), forged)
    assert [m.slot for m in mismatches] == ["front_matter.description"], [str(m) for m in mismatches]
    assert "1264.16" in mismatches[0].printed and "1264.16" not in mismatches[0].expected
    path.write_text(text, encoding="utf-8")
    mismatches = _verify_after(wh, path, 'title: "2026 年第 05 週"', 'title: "2026 年第 06 週"')
    assert [m.slot for m in mismatches] == ["front_matter.title"], [str(m) for m in mismatches]


# --- the publishing step's check: what publish verified is not verified twice, anything changed since is ----------


def test_the_check_reuses_publishing_s_verification_only_for_exactly_what_was_verified(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trade_pipeline.defs.trade_briefing import publish as publish_module

    wh = Warehouse()
    seed_week(wh, site, W05)
    zh = render_report(list(facts_of(wh, site, W05)), "2026-W05", site, GENERATED, [])
    facts = publish_module.recomputed_facts(wh, [W05], site)
    verified: dict = {}
    publish(wh, site, {W05: [zh]}, facts, verified)
    path = site / zh.relpath
    assert set(verified) == {zh.relpath} and verified[zh.relpath].outcome.passed

    calls = []
    real = publish_module.verify_report
    monkeypatch.setattr(publish_module, "verify_report", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    (outcome,) = verify_published(wh, site, [path], facts, verified)
    assert outcome.passed and calls == []  # the published bytes and stored claims are what publish verified

    # a figure edited on disk after publishing: verified again, and rejected
    text = path.read_text(encoding="utf-8")
    hhi = re.search(r"中國 HHI 最低（([\d.]+)）", text).group(1)
    path.write_text(text.replace(f"中國 HHI 最低（{hhi}）", "中國 HHI 最低（9999.99）", 1), encoding="utf-8")
    (outcome,) = verify_published(wh, site, [path], facts, verified)
    assert calls == [zh.relpath] and not outcome.passed
    path.write_text(text, encoding="utf-8")

    # a stored claim changed after publishing: verified again
    with wh.connect() as conn:
        conn.execute(
            f"UPDATE {contract.BRIEFING_CLAIMS} SET col = col + 1 WHERE rowid = (SELECT min(rowid) FROM "
            f"{contract.BRIEFING_CLAIMS} WHERE kind = 'hhi')"
        )
    (outcome,) = verify_published(wh, site, [path], facts, verified)
    assert calls == [zh.relpath, zh.relpath] and not outcome.passed
