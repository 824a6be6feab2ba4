"""Key provisions, controls table and timeline: on the sample articles and on real quoted texts (../shared)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline.defs.cn_export_control import controls
from trade_pipeline.defs.cn_export_control.extract import extract
from trade_pipeline.defs.cn_export_control.provisions import extract_provisions, find_customs_codes, find_thresholds

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from build_sample_mofcom import ARTICLES  # noqa: E402

BY_NO = {a.no: a for a in ARTICLES}
DERIVED = "agent-cross-border-trade/derived_md_at_5315732/cn_export_control/regulation_update"


def _sample(no: int):
    a = BY_NO[no]
    published = date.fromisoformat(a.page_date or a.date)
    facts = extract(a.title, a.paragraphs, published)
    return extract_provisions(a.paragraphs, publish_date=published, entities=facts.entities, attachments=a.attachments)


def _real(realdata: Path, pattern: str):
    path = next((realdata / DERIVED).glob(pattern))
    section = path.read_text(encoding="utf-8").split("## Key Provisions", 1)[1].split("## Supply Chain", 1)[0]
    return extract_provisions([line.strip() for line in section.splitlines() if line.strip()])


def test_lithium_battery_58_clauses_and_thresholds():
    ps = {p.clause_no: p for p in _sample(1178)}
    assert ps["一"].kind == "scope"
    assert [t.text for t in ps["一（一）"].thresholds] == ["重量能量密度 ≥ 300 Wh/kg"]
    assert [t.text for t in ps["一（二）"].thresholds] == ["压实密度 ≥ 2.5 g/cm³"]
    assert ps["一（一）"].kind == ps["一（三）"].kind == "item"
    assert ps["三"].kind == "effective" and ps["三"].effective_date == date(2025, 11, 8)


def test_graphite_inline_subclauses_and_revocation():
    ps = {p.clause_no: p for p in _sample(912)}
    assert [t.text for t in ps["一（一）"].thresholds] == ["纯度 > 99.9 %", "抗折强度 > 30 MPa", "密度 > 1.73 g/cm³"]
    assert ps["五"].kind == "revocation" and ps["五"].referenced_numbers == ["商务部、海关总署公告2006年第50号"]
    assert ps["二"].kind == "procedure"


def test_entity_list_lines_count_and_annex():
    ps = _sample(1173)
    assert [p.entity_name for p in ps if p.kind == "entity"][:2] == ["反无人机技术公司", "迪杰恩技术公司"]
    assert sum(p.kind == "entity" for p in ps) == 10
    listed = _sample(1164)
    assert [p.entity_count for p in listed if p.kind == "entity_list"] == [3]
    assert [p.text for p in listed if p.kind == "annex"] == ["附件 出口管制管控名单"]


def test_suspensions_split_per_cited_measure_with_windows():
    ps = [p for p in _sample(1186) if p.kind == "suspension"]
    assert [(p.referenced_numbers, p.entity_count, p.suspension_start, p.suspension_until) for p in ps] == [
        (["商务部公告2025年第13号"], 15, date(2025, 11, 10), None),
        (["商务部公告2025年第21号"], 16, date(2025, 11, 10), date(2026, 11, 9)),
    ]
    fdpr = [p for p in _sample(1199) if p.suspension_until]
    assert (fdpr[0].suspension_start, fdpr[0].suspension_until) == (date(2025, 11, 10), date(2026, 11, 9))


def test_rare_earth_technology_and_extraterritorial_value_threshold():
    tech = {p.clause_no: p for p in _sample(1170)}
    assert tech["一"].kind == "technology" and tech["一"].control_codes == ["1E902.a", "1E902.b"]
    assert tech["三"].kind == "prohibition"
    ex = {p.clause_no: p for p in _sample(1171)}
    assert [t.text for t in ex["一（一）"].thresholds] == ["价值比例 ≥ 0.1 %"]
    assert ex["三"].kind == "exemption"
    assert [p.clause_no for p in _sample(1171) if p.kind == "annex"] == ["附件1", "附件2"]


def test_country_measures_are_prohibitions_not_items():
    ps = {p.clause_no: p for p in _sample(1206)}
    assert ps["一"].kind == "prohibition" and ps["二"].kind == "liability"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("（参考海关商品编号：2617101000、2617109001）", ["2617101000", "2617109001"]),
        ("（参考税则号列：71051020）", ["71051020"]),
        ("非1C226项下管制的碳化钨(参考海关商品编号：2849902000)", ["2849902000"]),
        ("不含编号的条款", []),
    ],
)
def test_customs_codes(text, expected):
    assert find_customs_codes(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("微波功率在10千瓦以上", ["微波功率 ≥ 10 kW"]),
        ("平均粒径大于50 μm且小于等于500 μm", ["平均粒径 > 50 μm", "≤ 500 μm"]),
        ("缸径尺寸大于等于500毫米或设计使用压力大于等于5千兆帕", ["缸径尺寸 ≥ 500 mm", "设计使用压力 ≥ 5 GPa"]),
        ("用于14纳米及以下逻辑芯片", ["≤ 14 nm"]),
    ],
)
def test_thresholds(text, expected):
    assert [t.text for t in find_thresholds(text)] == expected


def test_real_tungsten_10_codes_and_technology(realdata: Path):
    ps = _real(realdata, "2025-02-04-商务部-海关总署公告2025年第10号*")
    assert ps[0].hs6 == ["284180"] and ps[0].kind == "item"
    by_code = {p.control_codes[0]: p for p in ps if p.control_codes and p.text.startswith(p.control_codes[0])}
    assert by_code["6C002.a"].customs_codes == ["2804500001"] and by_code["6C002.a"].kind == "item"
    assert by_code["6E002"].kind == "technology" and by_code["3E004"].kind == "technology"
    assert by_code["1C117.b"].hs6 == ["810210"]
    assert any(t.text == "钨含量 ≥ 97 %" for p in ps for t in p.thresholds)


def test_real_superhard_55_codes_exemption_and_effective(realdata: Path):
    ps = _real(realdata, "2025-10-09-商务部-海关总署公告2025年第55号*")
    kinds = {p.clause_no: p.kind for p in ps}
    assert kinds["一"] == "item" and kinds["五"] == "equipment" and kinds["六"] == "technology"
    assert {p.clause_no: p.hs6 for p in ps if p.hs6} == {
        "一": ["710510"],
        "二": ["710510"],
        "四": ["680421"],
        "五": ["847989"],
    }
    assert any(p.kind == "exemption" and "培育钻石" in p.text for p in ps)
    assert [p.effective_date for p in ps if p.kind == "effective"] == [date(2025, 11, 8)]


def test_real_antimony_33_every_item_has_its_codes(realdata: Path):
    ps = _real(realdata, "2024-08-26-商务部-海关总署公告2024年第33号*")
    items = [p for p in ps if p.kind in ("item", "equipment") and p.customs_codes]
    assert [p.hs6 for p in items][:3] == [["261710", "283090"], ["811010", "811020", "811090"], ["282580"]]
    assert [p.kind for p in ps if p.clause_no == "一、1"] == ["item", "equipment"]  # antimony ore, then the press


def _controls_for(nos: list[int], as_of: date) -> pl.DataFrame:
    from trade_pipeline.defs.cn_export_control.assets import (
        Announcement,  # noqa: F401
        provisions_frame,
    )

    rows = []
    for no in nos:
        a = BY_NO[no]
        published = date.fromisoformat(a.page_date or a.date)
        f = extract(a.title, a.paragraphs, published)
        rows.append(
            {
                "announcement_id": f"mofcom-{no}",
                "title": a.title,
                "title_zh_tw": a.title,
                "category": f.classification.category,
                "doc_number": f.doc_number,
                "entities": ";".join(f.entities),
                "controlled_item_keys": ";".join(f.item_keys),
                "effective_note": f.effective_note,
                "effective_date": f.effective_date,
                "publish_date": published,
                "countries": ";".join(f.countries),
                "extractor_path": f"Extractor/x/{no}.md",
                "review_flags": ";".join(f.flags),
                "body_text": "\n".join(a.paragraphs),
                "attachments": ";".join(f"{t}|{h}" for t, h in a.attachments),
            }
        )
    anns = pl.DataFrame(rows)
    return controls.measures(anns, provisions_frame(anns), as_of)


def test_status_as_of_the_weeks_end():
    df = _controls_for([1178, 1186, 912, 1171], date(2025, 10, 31))
    status = dict(zip(df["measure_id"], df["status"]))
    assert status["mofcom-1178"] == "not_yet_in_force"  # effective 2025-11-08
    assert status["mofcom-1171"] == "partly_in_force"  # parts from 2025-12-01
    assert status["ref-公告2025-21"] == "unknown"  # its suspension starts after the week: only the citation is known
    assert status["ref-公告2006-50"] == "expired"
    later = _controls_for([1178, 1186, 1171], date(2026, 2, 1))
    words = dict(zip(later["measure_id"], later["status_zh_tw"]))
    assert words["ref-公告2025-21"] == "暫停至 2026-11-09"
    assert words["ref-公告2025-13"].startswith("暫停中（自 2025-11-10 起")
    assert dict(zip(later["measure_id"], later["status"]))["mofcom-1171"] == "in_force"
    assert dict(zip(later["measure_id"], later["entity_count"]))["ref-公告2025-13"] == 15


def test_status_rule_suspension_that_ended():
    assert (
        controls.status(
            effective=date(2025, 1, 1),
            later_effective=None,
            suspended_from=date(2025, 2, 1),
            suspended_until=date(2025, 3, 1),
            revoked_on=None,
            as_of=date(2025, 4, 1),
        )[0]
        == "in_force"
    )


def test_timeline_orders_families_and_cites_announcements():
    df = controls.timeline(_controls_for([912, 1024, 1072, 1098, 1177, 1175, 1178], date(2026, 2, 1)))
    families = list(dict.fromkeys(df["family_key"]))
    assert families[:7] == [
        "graphite",
        "gallium_germanium",
        "antimony",
        "minor_metals",
        "rare_earth",
        "superhard",
        "lithium_battery",
    ]
    antimony = df.filter(pl.col("family_key") == "antimony")
    assert antimony["announcement_id"].to_list() == ["mofcom-1024", "mofcom-1072"]
    assert antimony["step_no"].to_list() == [1, 2]
    assert all(df["extractor_path"].str.starts_with("Extractor/"))
