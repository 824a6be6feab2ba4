"""Extraction over article pages in the real site's structure (the embedded sample's pages) and unit rules."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date

import pytest

from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline.defs.cn_export_control.extract import (
    classify,
    extract,
    find_controlled_items,
    find_doc_numbers,
    find_effective_dates,
    find_suspension,
    importance,
)
from trade_pipeline.defs.cn_export_control.parse import garbled_reason, parse_article_html


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_sample_mofcom", PROJECT_ROOT / "scripts" / "build_sample_mofcom.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


BUILDER = _builder()
BY_NO = {a.no: a for a in BUILDER.ARTICLES}


def _extract(no: int):
    a = BY_NO[no]
    page = parse_article_html(BUILDER.article_html(a))
    return page, extract(
        a.title,
        page.paragraphs,
        page.publish_date or date.fromisoformat(a.date),
        body_title=page.title,
        source=page.source,
    )


def test_page_structure_script_vars_body_and_stop_markers():
    page, _ = _extract(1171)
    assert page.script_vars["articleId"] == "1171"
    assert page.publish_date == date(2025, 10, 9)
    assert page.paragraphs[0] == "商务部公告2025年第61号"
    assert "2025年10月9日" in page.paragraphs
    assert not any("本网站所载信息" in p or "打印本页" in p or "主办单位" in p for p in page.paragraphs)
    assert [href for _, href in page.attachments] == [
        "/upload/uploadfile/attach/202510/09/20251009153023001.pdf",
        "/upload/uploadfile/attach/202510/09/20251009153023002.pdf",
    ]


def test_rare_earth_61_number_dates_items_category():
    _, ex = _extract(1171)
    assert ex.doc_number == "商务部公告2025年第61号"  # the list title omits 年
    assert ex.issuers == ["商务部"]
    assert ex.effective_date == date(2025, 10, 9)  # "其他规定自公布之日起实施" is the earliest clause
    assert "2025-12-01" in ex.effective_note
    assert ex.item_keys == ["rare_earth"]
    assert (ex.classification.category, ex.classification.confidence) == ("controlled_item_change", "高")
    assert "immediate_major_control" in ex.flags


def test_graphite_number_from_body_header_and_referenced_number():
    _, ex = _extract(912)
    assert ex.doc_number == "商务部、海关总署公告2023年第39号"
    assert ex.effective_date == date(2023, 12, 1)
    assert ex.referenced_numbers == ["商务部、海关总署公告2006年第50号"]
    assert ex.item_keys == ["graphite"]
    assert ex.classification.category == "controlled_item_change"
    assert "immediate_major_control" not in ex.flags


def test_antimony_compound_does_not_add_indium():
    _, ex = _extract(1024)
    assert ex.doc_number == "商务部、海关总署公告2024年第33号"
    assert ex.effective_date == date(2024, 9, 15)
    assert ex.item_keys == ["antimony", "superhard_materials"]


def test_five_minerals_effective_on_publication():
    _, ex = _extract(1098)
    assert set(ex.item_keys) == {"tungsten", "tellurium", "bismuth", "molybdenum", "indium"}
    assert ex.effective_date == date(2025, 2, 4)
    assert ex.classification.confidence == "高"
    assert "immediate_major_control" in ex.flags


def test_us_46_prefers_page_publish_time_over_list_date():
    page, ex = _extract(1072)
    assert page.publish_date == date(2024, 12, 3)  # list row says 2024-12-17
    assert ex.effective_date == date(2024, 12, 3)
    assert ex.item_keys == ["gallium", "germanium", "antimony", "graphite", "superhard_materials"]
    assert ex.countries == ["美國"]


def test_unreliable_entity_list_entities_not_items():
    _, ex = _extract(1173)
    assert ex.classification.category == "enforcement_action"
    assert ex.entities[:2] == ["反无人机技术公司", "迪杰恩技术公司"]
    assert len(ex.entities) == 10
    assert "drones" not in ex.item_keys
    assert ex.issuers == ["不可靠实体清单工作机制"]


def test_spokesperson_answer_numbers_are_references_not_own():
    _, ex = _extract(1186)
    assert ex.doc_number == ""
    assert ex.referenced_numbers == ["商务部公告2025年第13号", "商务部公告2025年第21号"]
    assert ex.effective_date == date(2025, 11, 10)
    assert ex.classification.category == "enforcement_action"


def test_order_with_chinese_numeral_year_and_state_council_order():
    _, ex = _extract(1157)
    assert ex.doc_number == "商务部令2025年第5号"
    assert ex.classification.category == "enforcement_action"
    _, reg = _extract(1057)
    assert reg.doc_number == "国务院令第792号"
    assert reg.effective_date == date(2024, 12, 1)
    assert reg.classification.category == "regulation_update"


def test_fdpr_suspension_and_dialogue_are_international():
    assert _extract(1199)[1].classification.category == "international_cooperation"
    assert _extract(1185)[1].classification.category == "international_cooperation"


def test_japan_2026_1_dual_use_to_a_country():
    _, ex = _extract(1206)
    assert ex.doc_number == "商务部公告2026年第1号"
    assert ex.item_keys == ["dual_use_items"] and ex.countries == ["日本"]
    assert ex.classification.confidence == "高"
    assert "immediate_major_control" in ex.flags


@pytest.mark.parametrize(
    "text, expected",
    [
        ("商务部公告2025第61号 公布…", ["商务部公告2025年第61号"]),
        ("商务部 海关总署公告 2025 年 第 58 号", ["商务部、海关总署公告2025年第58号"]),
        ("商务部、国家密码管理局、海关总署公告2020年第63号", ["商务部、国家密码局、海关总署公告2020年第63号"]),
        ("不可靠实体清单工作机制公告2025年第7号", ["不可靠实体清单工作机制公告2025年第7号"]),
        ("中华人民共和国商务部令二〇二五年第5号", ["商务部令2025年第5号"]),
        ("海关总署公告2025年第56号；商务部公告2026年第11号", ["海关总署公告2025年第56号", "商务部公告2026年第11号"]),
        ("没有文号的标题", []),
    ],
)
def test_doc_numbers(text, expected):
    assert [d.text for d in find_doc_numbers(text)] == expected


def test_effective_date_phrases():
    pub = date(2025, 10, 9)
    assert [c.effective for c in find_effective_dates("本公告自2025年11月8日起正式实施。", pub)] == [date(2025, 11, 8)]
    assert [c.effective for c in find_effective_dates("本公告自发布之日起生效。", pub)] == [pub]
    assert [c.effective for c in find_effective_dates("自2024年1月1日起执行", pub)] == [date(2024, 1, 1)]
    assert find_effective_dates("发言人表示将继续沟通。", pub) == []


def test_generic_item_only_without_specific_ones():
    assert find_controlled_items("两用物项对美国出口管制，镓、锗") == ["gallium", "germanium"]
    assert find_controlled_items("加强两用物项对日本出口管制") == ["dual_use_items"]


def test_undecidable_category_is_low_confidence_policy_guidance():
    c = classify("海关总署公告2025年第61号", "")
    assert (c.category, c.confidence, c.undecided) == ("policy_guidance", "低", True)
    title_only = classify("商务部公告2025年第51号 公布将3家美国实体列入出口管制管控名单决定", "")
    assert (title_only.category, title_only.confidence) == ("enforcement_action", "中")


def test_content_title_mismatch():
    ex = extract(
        "商务部公告2025第61号 公布对境外相关稀土物项实施出口管制的决定",
        ["商务部公告2025年第58号", "对锂电池实施出口管制，未经许可不得出口。"],
        date(2025, 10, 9),
    )
    assert "content_title_mismatch" in ex.flags


def test_importance_rules():
    ws, we = date(2026, 1, 26), date(2026, 2, 1)
    base = dict(
        category="controlled_item_change",
        effective_date=None,
        week_start=ws,
        week_end=we,
        list_change=False,
        major_item=True,
        has_doc_number=True,
        title_only=False,
    )
    new = importance(publish_date=date(2026, 1, 27), **base)
    old = importance(publish_date=date(2025, 10, 9), **base)
    assert new - old == 30 + (12 - 0) - (12 - 3)
    eff = importance(publish_date=date(2025, 10, 9), **{**base, "effective_date": date(2026, 1, 28)})
    assert eff - old == 25
    listing = importance(
        publish_date=date(2025, 10, 9),
        **{**base, "category": "enforcement_action", "list_change": True, "major_item": False},
    )
    guidance = importance(
        publish_date=date(2025, 10, 9), **{**base, "category": "policy_guidance", "major_item": False}
    )
    assert listing > guidance
    assert importance(publish_date=date(2025, 10, 9), **{**base, "title_only": True}) == old - 20


@pytest.mark.parametrize("text", ["????2025?61?", "bad \ufffd byte", "å…¬å‘Šæ–‡ä»¶", "锟斤拷锟斤拷"])
def test_garbled_detection(text):
    assert garbled_reason(text)


def test_clean_text_is_not_garbled():
    assert garbled_reason("商务部公告2025年第61号 — Q&A? yes.") == ""


def test_suspension_periods_stated_or_one_year():
    # 1199: a stated period (美方 FDPR suspension); 1186 / 1187: "自…起…暂停实施…一年"
    fdpr = _extract(1199)[1]
    assert fdpr.suspension is not None
    assert (fdpr.suspension.start, fdpr.suspension.until) == (date(2025, 11, 10), date(2026, 11, 9))
    assert fdpr.effective_date == date(2025, 11, 10)
    for no in (1186, 1187):
        s = _extract(no)[1].suspension
        assert s is not None and (s.start, s.until) == (date(2025, 11, 10), date(2026, 11, 9)), no
    # a control that takes effect is not a suspension
    assert _extract(1171)[1].suspension is None
    assert find_suspension("自2024年2月29日起暂停实施相关措施一年。").until == date(2025, 2, 27)
    assert find_suspension("停止实施2025年3月4日公布的相关措施。") is None
