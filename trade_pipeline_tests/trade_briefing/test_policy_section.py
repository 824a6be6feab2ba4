"""Section 三 on contract-shaped rows: provisions (capped, de-duplicated, in Traditional characters), the controls
table, the timeline, exposure tables with missing and flagged figures, and the exposure watch list.

No Dagster: the tables are written, the facts built, the report rendered and published (publishing verifies every
printed figure in place first, so a figure that could not be traced fails the test).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from trade_pipeline.core import contract
from trade_pipeline.core.warehouse import Warehouse

from .fixtures import ANNOUNCEMENTS, W05, seed_week
from .support import render, section

RARE, SUPERHARD = "mofcom-2025-61", "mofcom-2025-superhard"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    return root


def _announcements() -> list[dict[str, Any]]:
    """The fixture announcements, 第61號 as the layer stores an article without zh-TW renderings: 文號, issuers and
    the effective-date quote in Simplified only."""
    out = []
    for a in ANNOUNCEMENTS:
        a = dict(a)
        if a["announcement_id"] == RARE:
            a.update(doc_number="商务部公告2025年第61号", issuers="商务部", effective_note="自公布之日起实施")
        out.append(a)
    return out


def _provisions() -> list[dict[str, Any]]:
    def p(seq: int, kind: str, text: str, clause: str = "", **extra: Any) -> dict[str, Any]:
        return dict(
            announcement_id=RARE,
            doc_number_zh_tw="商務部公告2025年第61號",
            seq=seq,
            clause_no_zh_tw=clause,
            kind=kind,
            kind_zh_tw={
                "scope": "管制範圍",
                "item": "管制物項",
                "procedure": "程序",
                "effective": "生效條款",
                "annex": "附件",
            }[kind],
            text_zh_tw=text,
            thresholds_zh_tw=extra.get("thresholds", ""),
            customs_codes="",
            hs6_codes="",
            entity_count=None,
            suspension_start=None,
            suspension_until=None,
            review_flags="",
        )

    rows = [p(1, "scope", "滿足以下特性的物項，未經許可，不得出口：", "一")]
    rows += [
        p(
            1 + i,
            "item",
            f"稀土物項第{i}類",
            f"一（{'一二三四五六七八九十'[i - 1]}）",
            thresholds="價值比例 ≥ 0.1 %" if i == 1 else "",
        )
        for i in range(1, 11)
    ]
    rows += [
        p(12, "procedure", "出口經營者應當辦理出口許可手續。", "二"),
        p(13, "effective", "本公告自公布之日起實施。", "三"),
        p(14, "annex", "附件1 物項清單"),
        p(15, "annex", "附件1 物項清單"),
    ]
    return rows


def _controls() -> list[dict[str, Any]]:
    base = dict(
        status_as_of=date(2026, 2, 1),
        later_effective_date=None,
        families="",
        countries="",
        entity_count=None,
        suspended_from=None,
        suspended_until=None,
        revoked_on=None,
        cited_by="",
        review_flags="",
        item_keys="",
        has_goods=True,
    )
    return [
        dict(
            base,
            measure_id=RARE,
            announcement_id=RARE,
            doc_number="商务部公告2025年第61号",
            doc_number_zh_tw="商務部公告2025年第61號",
            title_zh_tw="商務部公告2025年第61號",
            measure_kind="extraterritorial",
            measure_kind_zh_tw="境外再出口管制",
            items_zh_tw="稀土",
            publish_date=date(2025, 10, 9),
            effective_date=date(2025, 10, 9),
            status="in_force",
            status_zh_tw="生效中（自 2025-10-09 起）",
            extractor_path="Extractor/cn_export_control/mofcom-rare-earth-export-control-strengthening-oct2025.md",
        ),
        dict(
            base,
            measure_id=SUPERHARD,
            announcement_id=SUPERHARD,
            doc_number="商务部 海关总署公告2025年第55号",
            doc_number_zh_tw="商務部、海關總署公告2025年第55號",
            title_zh_tw="關於對超硬材料相關物項實施出口管制的公告",
            measure_kind="item_control",
            measure_kind_zh_tw="物項出口管制",
            items_zh_tw="超硬材料",
            publish_date=date(2025, 10, 9),
            effective_date=date(2025, 11, 8),
            status="in_force",
            status_zh_tw="生效中（自 2025-11-08 起）",
            extractor_path="Extractor/cn_export_control/superhard-materials-export-control-2025.md",
        ),
        dict(
            base,
            measure_id="ref-公告2025-13",
            announcement_id="mofcom-2025-fdpr",
            doc_number="商务部公告2025年第13号",
            doc_number_zh_tw="商務部公告2025年第13號",
            title_zh_tw="",
            measure_kind="referenced",
            measure_kind_zh_tw="引用的措施",
            items_zh_tw="",
            publish_date=None,
            effective_date=None,
            status="suspended",
            status_zh_tw="暫停至 2026-11-09",
            entity_count=15,
            has_goods=False,
            extractor_path="Extractor/cn_export_control/us-export-control-penetration-rule-suspension-nov2025.md",
        ),
    ]


def _timeline() -> list[dict[str, Any]]:
    return [
        dict(
            family_key="rare_earth",
            family_order=5,
            family_zh_tw="稀土",
            step_no=1,
            event_date=date(2025, 10, 9),
            event="extraterritorial",
            event_zh_tw="管制延伸至境外再出口",
            measure_id=RARE,
            announcement_id=RARE,
            doc_number="",
            doc_number_zh_tw="商務部公告2025年第61號",
            items_zh_tw="稀土",
            status="in_force",
            status_zh_tw="生效中（自 2025-10-09 起）",
            summary_zh_tw="",
            extractor_path="Extractor/cn_export_control/mofcom-rare-earth-export-control-strengthening-oct2025.md",
            review_flags="",
        ),
        dict(
            family_key="superhard",
            family_order=6,
            family_zh_tw="超硬材料",
            step_no=1,
            event_date=date(2025, 11, 8),
            event="item_control",
            event_zh_tw="實施出口管制",
            measure_id=SUPERHARD,
            announcement_id=SUPERHARD,
            doc_number="",
            doc_number_zh_tw="",
            items_zh_tw="超硬材料",
            status="in_force",
            status_zh_tw="生效中（自 2025-11-08 起）",
            summary_zh_tw="",
            extractor_path="Extractor/cn_export_control/superhard-materials-export-control-2025.md",
            review_flags="",
        ),
    ]


def _exposure_row(measure: str, hs6: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(
        row_key=f"{measure}|{hs6}",
        measure_id=measure,
        announcement_id=measure,
        doc_number_zh_tw={RARE: "商務部公告2025年第61號", SUPERHARD: "商務部、海關總署公告2025年第55號"}[measure],
        measure_status="in_force",
        hs6=hs6,
        hs6_desc_zh_tw=None,
        item_keys="",
        items_zh_tw="",
        hs6_scope=None,
        basis_kinds=None,
        basis_refs=None,
        mapping_confidence=None,
        cn_export_year=None,
        cn_export_world_usd=None,
        **{f"cn_export_to_{p}_usd": None for p in ("842", "392", "410", "276", "490")},
        cn_export_rest_usd=None,
        **{f"share_to_{p}_pct": None for p in ("842", "392", "410", "276", "490")},
        share_rest_pct=None,
        us_import_year=None,
        us_import_through_month=None,
        us_import_ytd_usd=None,
        us_import_from_cn_ytd_usd=None,
        cn_share_of_us_imports_pct=None,
        us_import_ytd_prev_usd=None,
        us_import_from_cn_ytd_prev_usd=None,
        us_import_yoy_pct=None,
        us_import_from_cn_yoy_pct=None,
        cn_request_ids="",
        us_request_ids="",
        review_flags="",
    )
    row.update(values)
    return row


def _figures(year: int, world: float, us_from_cn: float, cn_yoy: float) -> dict[str, Any]:
    return dict(
        cn_export_year=year,
        cn_export_world_usd=world,
        share_to_842_pct=21.5,
        share_to_392_pct=5.25,
        share_to_410_pct=11.0,
        share_to_276_pct=4.0,
        share_to_490_pct=3.0,
        share_rest_pct=55.25,
        us_import_year=2025,
        us_import_through_month=10,
        us_import_ytd_usd=us_from_cn * 2.5,
        us_import_from_cn_ytd_usd=us_from_cn,
        cn_share_of_us_imports_pct=40.0,
        us_import_yoy_pct=3.5,
        us_import_from_cn_yoy_pct=cn_yoy,
        cn_export_to_842_usd=world * 0.215,
    )


def _exposure() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = [
        _exposure_row(
            SUPERHARD,
            "710510",
            hs6_desc_zh_tw="鑽石之粉末",
            items_zh_tw="人造金剛石微粉",
            hs6_scope="broader",
            basis_kinds="announcement",
            mapping_confidence="高",
            **_figures(2024, 4.2e8, 7.0e7, -60.0),
        ),
        # the reply had no row for this code: China's figures are NULL and flagged (never 0)
        _exposure_row(
            SUPERHARD,
            "680421",
            hs6_desc_zh_tw="砂輪等：黏聚之合成或天然鑽石製",
            items_zh_tw="人造金剛石砂輪",
            hs6_scope="exact",
            basis_kinds="concordance",
            mapping_confidence="中",
            **{
                **_figures(2024, 0.0, 6.6e7, -16.8),
                "cn_export_world_usd": None,
                "share_to_842_pct": None,
                "share_rest_pct": None,
            },
            review_flags="code_not_in_reply",
        ),
        # a code whose latest released year differs from the others: each row says its own year
        _exposure_row(
            SUPERHARD,
            "820299",
            hs6_desc_zh_tw="其他鋸片",
            items_zh_tw="人造金剛石線鋸",
            hs6_scope="broader",
            basis_kinds="concordance",
            mapping_confidence="低",
            **_figures(2023, 9.7e8, 1.0e8, -46.0),
        ),
        _exposure_row(RARE, "", items_zh_tw="稀土", review_flags="no_hs_mapping"),
    ]
    watch = [
        dict(
            rule_key="us_imports_from_cn_halved",
            rule_zh_tw="美國自中國進口此管制 HS 碼年減 50 % 以上",
            threshold=-50.0,
            column_name="us_import_from_cn_yoy_pct",
            value=-60.0,
            exposure_row_key=f"{SUPERHARD}|710510",
            measure_id=SUPERHARD,
            doc_number_zh_tw="商務部、海關總署公告2025年第55號",
            hs6="710510",
            hs6_desc_zh_tw="鑽石之粉末",
            review_flags="",
        )
    ]
    return rows, watch


def _seed(wh: Warehouse, site: Path) -> None:
    seed_week(wh, site, W05, announcements=_announcements())
    exposure, watch = _exposure()
    for table, rows in (
        (contract.MOFCOM_PROVISIONS, _provisions()),
        (contract.MOFCOM_CONTROLS, _controls()),
        (contract.MOFCOM_CONTROL_TIMELINE, _timeline()),
        (contract.POLICY_TRADE_EXPOSURE, exposure),
        (contract.POLICY_EXPOSURE_WATCHLIST, watch),
    ):
        wh.replace_partition(table, W05, pl.DataFrame(rows, infer_schema_length=None))


def test_section_three_prints_provisions_controls_timeline_and_exposure_and_verifies(site: Path) -> None:
    wh = Warehouse()
    _seed(wh, site)
    report = render(wh, site, W05)  # publishing verifies every printed figure in place
    sec = section(report.markdown, "三、政策更新")
    item = sec.split("**商務部公告2025年第61號 公布對境外相關稀土物項")[1].split("\n2. ")[0]
    # 文號, issuers and the effective-date quote stored in Simplified only: printed converted
    assert "文號：商務部公告2025年第61號" in item and "原文：自公布之日起實施" in item
    assert "商务部" not in report.markdown and "实施" not in report.markdown
    # provisions: the lead-in, the procedure and (with a quote printed) the effective clause are left out; the
    # repeated annex once; eight printed and the rest counted
    assert "滿足以下特性" not in item and "出口許可手續" not in item and "本公告自公布之日起實施" not in item
    assert (
        item.count("〈管制物項〉") == 8 and "一（一） 〈管制物項〉稀土物項第1類（技術門檻：價值比例 ≥ 0.1 %）" in item
    )
    assert "另有 3 條，見來源檔案" in item  # items 9 and 10 and the annex
    # the controls table (own measures by date, the referenced one last) and the timeline
    controls = sec.split("### 管制措施一覽")[1].split("\n### ")[0]
    rows = [line for line in controls.splitlines() if line.startswith("| 商務部")]
    assert [r.split(" | ")[0] for r in rows] == [
        "| 商務部公告2025年第61號",
        "| 商務部、海關總署公告2025年第55號",
        "| 商務部公告2025年第13號",
    ]
    assert "暫停至 2026-11-09 | 15 家 |" in rows[2] and "截至 2026-02-01" in controls
    timeline = sec.split("### 管制演進時間軸")[1].split("\n### ")[0]
    assert "| 超硬材料 | 2025-11-08 | （無文號） | 實施出口管制 | 超硬材料 |" in timeline
    # exposure: largest Chinese exports first; a missing figure is '--' and marked; per-row years when they differ
    exposure = sec.split("### 管制物項的貿易曝險")[1].split("\n### ")[0]
    superhard = exposure.split("#### 商務部、海關總署公告2025年第55號")[1].split("\n#### ")[0]
    codes = [line.split(" | ")[0] for line in superhard.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert codes == ["| 820299†", "| 710510†", "| 680421"]
    assert "中國出口年度各碼不一" in superhard and "| 9.7 億（2023 年） |" in superhard
    missing = next(line for line in superhard.splitlines() if line.startswith("| 680421"))
    assert (
        "| -- [REVIEW_NEEDED]（2024 年） |" in missing
        and "| 1.7 億 [REVIEW_NEEDED] | 0.66 億 [REVIEW_NEEDED] |" in missing
    )
    rare = exposure.split("#### 商務部公告2025年第61號")[1].split("\n#### ")[0]
    assert "- 稀土：此管制物項沒有對應的 HS 碼，無法估算貿易額" in rare
    # the flag's words, and what it touches, are listed under 數據期間與限制
    assert "回覆中沒有此 HS 碼的資料列，數字從缺（管制物項貿易曝險）" in report.markdown


def test_an_exposure_rule_fires_a_watch_item_with_its_figure(site: Path) -> None:
    wh = Warehouse()
    _seed(wh, site)
    watch = section(render(wh, site, W05).markdown, "五、觀察清單")
    [item] = [line for line in watch.splitlines() if "管制物項貿易曝險" in line]
    assert "**管制物項貿易曝險：美國自中國進口此管制 HS 碼年減 50 % 以上**" in item
    assert (
        "HS 710510（鑽石之粉末）-60.00%（2025 年累計至 10 月，美國自中國進口 USD 0.70 億），受商務部、海關總署公告2025年第55號管制"
        in item
    )
