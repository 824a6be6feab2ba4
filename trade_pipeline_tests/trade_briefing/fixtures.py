"""Contract-shaped rows (docs/TABLES.md) for the briefing's tests, written with Warehouse.replace_partition.

Figures follow the seed report's published values where it had them (single-year 2024 Comtrade values are
the seed's two-year sums halved and rounded — fixture data, not facts), Census 2025 January–October YTD as the
seed printed them. Each week can be shifted (``hhi_shift``) so 上週/trend columns have something to compare.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from trade_pipeline.core.warehouse import Warehouse

W04, W05, W06 = "2026-01-19", "2026-01-26", "2026-02-02"
FETCHED = "2026-01-25T06:00:00+00:00"

# reporter: (name, level, hhi, top3 share, partner count, mirror, confidence, exports top3, imports top3)
REPORTERS: dict[int, dict[str, Any]] = {
    842: dict(
        name="美國",
        hhi=723.51,
        top3=40.54,
        count=223,
        mirror=False,
        conf="高",
        X=[(124, "加拿大", 349.4e9, 17.14), (484, "墨西哥", 334.0e9, 16.38), (156, "中國", 143.2e9, 7.02)],
        M=[(484, "墨西哥", 505.9e9, 15.48), (156, "中國", 438.9e9, 13.43), (124, "加拿大", 412.7e9, 12.63)],
    ),
    156: dict(
        name="中國",
        hhi=447.18,
        top3=27.34,
        count=220,
        mirror=False,
        conf="高",
        X=[(842, "美國", 524.7e9, 14.76), (344, "香港", 289.0e9, 8.13), (392, "日本", 158.2e9, 4.45)],
        M=[(490, "其他亞洲地區", 214.6e9, 8.36), (410, "南韓", 173.4e9, 6.76), (842, "美國", 163.6e9, 6.37)],
    ),
    392: dict(
        name="日本",
        hhi=894.65,
        top3=44.26,
        count=218,
        mirror=False,
        conf="高",
        X=[(842, "美國", 143.5e9, 20.11), (156, "中國", 125.6e9, 17.61), (410, "南韓", 46.6e9, 6.54)],
        M=[(156, "中國", 167.6e9, 22.48), (842, "美國", 80.5e9, 10.80), (36, "澳大利亞", 58.1e9, 7.79)],
    ),
    410: dict(
        name="南韓",
        hhi=911.24,
        top3=46.70,
        count=225,
        mirror=False,
        conf="高",
        X=[(156, "中國", 133.0e9, 19.59), (842, "美國", 127.8e9, 18.61), (704, "越南", 58.3e9, 8.50)],
        M=[(156, "中國", 142.3e9, 22.08), (842, "美國", 73.4e9, 11.39), (392, "日本", 47.6e9, 7.39)],
    ),
    276: dict(
        name="德國",
        hhi=1188.50,
        top3=53.37,
        count=62,
        mirror=False,
        conf="中",
        X=[(156, "中國", 53.45e9, 19.62), (616, "波蘭", 48.85e9, 17.94), (826, "英國", 43.1e9, 15.81)],
        M=[(703, "斯洛伐克", 10.9e9, 12.10), (156, "中國", 9.8e9, 10.90), (203, "捷克", 8.7e9, 9.60)],
    ),
    158: dict(
        name="台灣",
        hhi=1721.33,
        top3=64.80,
        count=188,
        mirror=True,
        conf="中",
        X=[(156, "中國", 151.2e9, 31.50), (842, "美國", 111.4e9, 23.20), (344, "香港", 48.6e9, 10.10)],
        M=[(156, "中國", 96.4e9, 27.00), (392, "日本", 49.3e9, 13.80), (842, "美國", 45.7e9, 12.80)],
    ),
}
TOP_CHAPTER = {  # reporter -> flow -> (hs2, desc_zh, value, share)
    842: {"X": ("27", "礦物燃料", 330.1e9, 16.02), "M": ("84", "機械及機械用具", 478.2e9, 14.63)},
    156: {"X": ("85", "電機設備", 945.3e9, 26.59), "M": ("85", "電機設備", 672.0e9, 26.19)},
    392: {"X": ("87", "車輛及其零件", 146.8e9, 20.57), "M": ("27", "礦物燃料", 183.5e9, 24.61)},
}

# Census 2025 Jan–Oct YTD per partner: (name, export, import, prev-year balance, chapters, detail)
CENSUS: dict[str, dict[str, Any]] = {
    "5700": dict(
        name="中國",
        X=87.1e9,
        M=262.5e9,
        prev=-241.3e9,
        ch=[
            ("85", "電機設備", 13.8e9, 69.8e9),
            ("84", "機械及機械用具", 9.1e9, 44.1e9),
            ("88", "航空器", 13.7e9, 0.3e9),
        ],
    ),
    "5830": dict(
        name="台灣",
        X=38.2e9,
        M=150.1e9,
        prev=-61.0e9,
        ch=[("84", "機械及機械用具", 13.3e9, 105.1e9), ("85", "電機設備", 5.1e9, 25.6e9)],
    ),
    "5880": dict(
        name="日本",
        X=65.2e9,
        M=124.9e9,
        prev=-57.4e9,
        ch=[("27", "礦物燃料", 10.5e9, 0.4e9), ("87", "車輛及其零件", 1.2e9, 37.4e9)],
    ),
    "5800": dict(
        name="南韓",
        X=55.3e9,
        M=110.8e9,
        prev=-55.9e9,
        ch=[("27", "礦物燃料", 14.4e9, 1.1e9), ("87", "車輛及其零件", 0.9e9, 31.4e9)],
    ),
    "4280": dict(
        name="德國",
        X=64.8e9,
        M=140.2e9,
        prev=-70.1e9,
        ch=[("84", "機械及機械用具", 8.2e9, 25.3e9), ("87", "車輛及其零件", 3.1e9, 22.7e9)],
    ),
}

ANNOUNCEMENTS: list[dict[str, Any]] = [
    dict(
        announcement_id="mofcom-2025-fdpr",
        slug="us-export-control-penetration-rule-suspension-nov2025",
        title="商务部新闻发言人就美方暂停实施穿透性规则答记者问",
        title_zh_tw="商務部新聞發言人就美方暫停實施穿透性規則答記者問",
        publish_date=date(2025, 11, 10),
        effective_date=date(2025, 11, 10),
        effective_note="暫停一年，至2026年11月9日",
        doc_number="",
        issuers="商務部",
        controlled_items="",
        entities="",
        countries="美國",
        category="international_cooperation",
        confidence="中",
        importance=9,
        fetch_status="ok",
        summary_zh_tw="美方自2025年11月10日起暫停實施出口管制穿透性規則一年。",
        review_flags="",
    ),
    dict(
        announcement_id="mofcom-2025-61",
        slug="mofcom-rare-earth-export-control-strengthening-oct2025",
        title="商务部公告2025年第61号 公布对境外相关稀土物项实施出口管制的决定",
        title_zh_tw="商務部公告2025年第61號 公布對境外相關稀土物項實施出口管制的決定",
        publish_date=date(2025, 10, 9),
        effective_date=date(2025, 10, 9),
        effective_note="自公布之日起施行",
        doc_number="商務部公告2025年第61號",
        issuers="商務部",
        controlled_items="稀土",
        entities="",
        countries="",
        category="controlled_item_change",
        confidence="高",
        importance=10,
        fetch_status="ok",
        summary_zh_tw="對含中國成分的境外稀土相關物項實施出口管制。",
        review_flags="immediate_major_control",
    ),
    dict(
        announcement_id="mofcom-2025-superhard",
        slug="superhard-materials-export-control-2025",
        title="关于对超硬材料相关物项实施出口管制的公告",
        title_zh_tw="關於對超硬材料相關物項實施出口管制的公告",
        publish_date=date(2025, 10, 9),
        effective_date=date(2025, 11, 8),
        effective_note="",
        doc_number="商務部 海關總署公告2025年第55號",
        issuers="商務部;海關總署",
        controlled_items="超硬材料;金剛石",
        entities="",
        countries="",
        category="controlled_item_change",
        confidence="高",
        importance=8,
        fetch_status="ok",
        summary_zh_tw="管制合成金剛石微粉、單晶、線鋸、砂輪等物項。",
        review_flags="",
    ),
    dict(
        announcement_id="mofcom-2025-uel",
        slug="mofcom-unreliable-entity-list-additions-oct2025",
        title="不可靠实体清单工作机制关于将14家外国实体列入不可靠实体清单的公告",
        title_zh_tw="不可靠實體清單工作機制關於將14家外國實體列入不可靠實體清單的公告",
        publish_date=date(2025, 10, 9),
        effective_date=None,
        effective_note="",
        doc_number="不可靠實體清單工作機制公告2025年第7號",
        issuers="不可靠實體清單工作機制",
        controlled_items="",
        entities="TechInsights",
        countries="加拿大",
        category="enforcement_action",
        confidence="高",
        importance=7,
        fetch_status="ok",
        summary_zh_tw="",
        review_flags="",
    ),
    dict(
        announcement_id="customs-2025-61",
        slug="customs-announcement-2025-61",
        title="海关总署公告2025年第61号",
        title_zh_tw="海關總署公告2025年第61號",
        publish_date=date(2025, 10, 9),
        effective_date=None,
        effective_note="",
        doc_number="海關總署公告2025年第61號",
        issuers="海關總署",
        controlled_items="",
        entities="",
        countries="",
        category="regulation_update",
        confidence="低",
        importance=3,
        fetch_status="title_only",
        summary_zh_tw="",
        review_flags="title_only",
    ),
    dict(
        announcement_id="mofcom-2026-graphite",
        slug="graphite-export-control-update-2026",
        title="商务部公告2026年第3号 关于优化调整石墨物项出口管制的公告",
        title_zh_tw="商務部公告2026年第3號 關於優化調整石墨物項出口管制的公告",
        publish_date=date(2026, 1, 28),
        effective_date=date(2026, 2, 15),
        effective_note="",
        doc_number="商務部公告2026年第3號",
        issuers="商務部",
        controlled_items="石墨",
        entities="",
        countries="",
        category="controlled_item_change",
        confidence="高",
        importance=8,
        fetch_status="ok",
        summary_zh_tw="調整高純度人造石墨與天然鱗片石墨的出口許可範圍。",
        review_flags="",
    ),
]


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    df = pl.DataFrame(rows, infer_schema_length=None)
    # an all-null measure (e.g. hhi_prev_week of a first week) is a DOUBLE column, as the layers write it
    numeric = [
        c for c, t in df.schema.items() if t == pl.Null and (c.endswith(("_usd", "_pct")) or c.startswith("hhi"))
    ]
    return df.with_columns(pl.col(numeric).cast(pl.Float64)) if numeric else df


def seed_week(
    warehouse: Warehouse,
    site_root: Path | None,
    key: str,
    *,
    hhi_shift: float = 0.0,
    prev_shift: float | None = None,
    revisions: bool = False,
    announcements: list[dict[str, Any]] | None = None,
    skip: tuple[str, ...] = (),
) -> None:
    """Write one week's partition of every table the report reads (and the Extractor files it cites).
    ``prev_shift``: the export HHI shift of the previous week, which the layer stores as hhi_prev_week."""
    as_of = date.fromisoformat(key)
    week_end = date.fromordinal(as_of.toordinal() + 6)
    # Point in time: a week's partition holds the announcements published by that week's end.
    anns = [a for a in (ANNOUNCEMENTS if announcements is None else announcements) if a["publish_date"] <= week_end]
    pr, tb, mc, cs = [], [], [], []
    for rc, r in REPORTERS.items():
        for flow in ("X", "M"):
            total = sum(v for _, _, v, _ in r[flow]) / (sum(s for *_, s in r[flow]) / 100.0)
            for rank, (pc, pname, value, share) in enumerate(r[flow], start=1):
                pr.append(
                    dict(
                        reporter_code=rc,
                        reporter_name_zh=r["name"],
                        flow=flow,
                        year=2024,
                        rank=rank,
                        partner_code=pc,
                        partner_name_zh=pname,
                        value_usd=value,
                        share_pct=share,
                        yoy_pct=None,
                        is_mirror=r["mirror"],
                        confidence=r["conf"],
                        review_flags="",
                    )
                )
            hhi = r["hhi"] + (hhi_shift if flow == "X" else 0.0)
            level = "低" if hhi < 1500 else ("中" if hhi <= 2500 else "高")
            ranked = r[flow]
            mc.append(
                dict(
                    reporter_code=rc,
                    reporter_name_zh=r["name"],
                    flow=flow,
                    year=2024,
                    hhi=hhi,
                    concentration_level=level,
                    top3_share_pct=r["top3"] if flow == "X" else sum(s for *_, s in ranked),
                    top3_partner_codes=",".join(str(p[0]) for p in ranked),
                    top3_partner_names_zh="、".join(p[1] for p in ranked),
                    partner_count=r["count"],
                    total_usd=total,
                    hhi_prev_year=None,
                    hhi_prev_week=(r["hhi"] + prev_shift) if prev_shift is not None and flow == "X" else None,
                    is_mirror=r["mirror"],
                    confidence=r["conf"],
                    review_flags="",
                )
            )
        exports = {pc: v for pc, _, v, _ in r["X"]}
        imports = {pc: v for pc, _, v, _ in r["M"]}
        for pc in sorted(set(exports) & set(imports)):
            bal = exports[pc] - imports[pc]
            pname = next(n for c, n, _, _ in r["X"] if c == pc)
            tb.append(
                dict(
                    reporter_code=rc,
                    partner_code=pc,
                    partner_name_zh=pname,
                    year=2024,
                    export_usd=exports[pc],
                    import_usd=imports[pc],
                    balance_usd=bal,
                    balance_label="順差" if bal > 0 else "逆差",
                    yoy_pct=None,
                    review_flags="",
                )
            )
        for flow, (hs2, desc, value, share) in TOP_CHAPTER.get(rc, {}).items():
            cs.append(
                dict(
                    reporter_code=rc,
                    flow=flow,
                    year=2024,
                    hs2=hs2,
                    hs2_desc=desc,
                    hs2_desc_zh=desc,
                    value_usd=value,
                    share_pct=share,
                    rank=1,
                    yoy_pct=None,
                )
            )
    ctb, ccd, cmf = [], [], []
    for cty, c in CENSUS.items():
        deficit = c["X"] - c["M"]
        ctb.append(
            dict(
                cty_code=cty,
                cty_name_zh=c["name"],
                year=2025,
                through_month=10,
                hs2="TOTAL",
                hs2_desc="TOTAL",
                hs2_desc_zh="總計",
                export_ytd_usd=c["X"],
                import_ytd_usd=c["M"],
                balance_usd=deficit,
                share_of_deficit_pct=None,
                prev_year_balance_usd=c["prev"],
                review_flags="",
            )
        )
        for hs2, desc, x, m in c["ch"]:
            bal = x - m
            ctb.append(
                dict(
                    cty_code=cty,
                    cty_name_zh=c["name"],
                    year=2025,
                    through_month=10,
                    hs2=hs2,
                    hs2_desc=desc,
                    hs2_desc_zh=desc,
                    export_ytd_usd=x,
                    import_ytd_usd=m,
                    balance_usd=bal,
                    share_of_deficit_pct=round(bal / deficit * 100, 2) if bal < 0 else None,
                    prev_year_balance_usd=None,
                    review_flags="",
                )
            )
        for flow, idx in (("export", 2), ("import", 3)):
            chapters = sorted(c["ch"], key=lambda ch: -ch[idx])
            total = c["X"] if flow == "export" else c["M"]
            for rank, ch in enumerate(chapters, start=1):
                ccd.append(
                    dict(
                        cty_code=cty,
                        cty_name_zh=c["name"],
                        flow=flow,
                        year=2025,
                        through_month=10,
                        rank=rank,
                        hs2=ch[0],
                        hs2_desc_zh=ch[1],
                        value_usd=ch[idx],
                        share_pct=round(ch[idx] / total * 100, 2),
                    )
                )
        for month in range(1, 11):
            cmf.append(
                dict(
                    cty_code=cty,
                    cty_name=c["name"].upper(),
                    cty_name_zh=c["name"],
                    flow="export",
                    year=2025,
                    month=month,
                    hs2="TOTAL",
                    hs2_desc="TOTAL",
                    value_usd=c["X"] / 10,
                    ytd_usd=c["X"] * month / 10,
                    mom_pct=None,
                    yoy_pct=None,
                    request_id=f"census-{cty}-{month}",
                    fetched_at=FETCHED,
                    review_flags="",
                )
            )
    rev = (
        [
            dict(
                cty_code="5700",
                flow="import",
                year=2025,
                month=9,
                hs2="85",
                previous_usd=7.10e9,
                revised_usd=7.32e9,
                change_usd=0.22e9,
            )
        ]
        if revisions
        else []
    )
    ann_rows = []
    for a in anns:
        row = {k: v for k, v in a.items()}
        row.update(
            url=f"http://exportcontrol.mofcom.gov.cn/article/{a['slug']}.html",
            column_ids="9",
            referenced_numbers="",
            extractor_path=f"Extractor/cn_export_control/{a['slug']}.md",
        )
        ann_rows.append(row)
    tables = {
        "partner_rankings": pr,
        "trade_balances": tb,
        "market_concentration": mc,
        "commodity_structure": cs,
        "census_trade_balance": ctb,
        "census_country_detail": ccd,
        "census_monthly_flows": cmf,
        "census_revisions": rev,
        "census_release_status": [
            dict(latest_year=2025, latest_month=10, months_available="2025-01..2025-10", as_of=as_of)
        ],
        "mofcom_announcements": ann_rows,
    }
    for table, rows in tables.items():
        if table in skip:
            continue
        if not rows:
            rows_df = (
                pl.DataFrame(
                    schema={
                        "cty_code": pl.Utf8,
                        "flow": pl.Utf8,
                        "year": pl.Int64,
                        "month": pl.Int64,
                        "hs2": pl.Utf8,
                        "previous_usd": pl.Float64,
                        "revised_usd": pl.Float64,
                        "change_usd": pl.Float64,
                    }
                )
                if table == "census_revisions"
                else None
            )
            if rows_df is None:
                continue
            warehouse.replace_partition(table, key, rows_df)
        else:
            warehouse.replace_partition(table, key, _frame(rows))
    if site_root is not None:
        write_extractor_files(site_root, ann_rows)


def write_extractor_files(site_root: Path, announcements: list[dict[str, Any]]) -> list[str]:
    """Stand-ins for the layers' Extractor markdown, at the paths the layers write."""
    rels = []
    for rc in REPORTERS:
        for cat, stem in (
            ("export_flow", "export"),
            ("import_flow", "import"),
            ("trade_balance", "balance"),
            ("market_concentration", "hhi"),
            ("commodity_structure", "commodity"),
        ):
            rels.append(f"Extractor/bilateral_trade_flows/{cat}/{rc}-{stem}-2024.md")
    for cty in CENSUS:
        for cat, stem in (
            ("monthly_export", "export"),
            ("monthly_import", "import"),
            ("trade_balance", "balance"),
            ("country_detail", "detail"),
        ):
            rels.append(f"Extractor/us_trade_census/{cat}/us-{stem}-{cty}-2025.md")
    rels += [a["extractor_path"] for a in announcements]
    for rel in rels:
        path = site_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# fixture stand-in for {rel}\n", encoding="utf-8")
    return rels


def seed_three_weeks(warehouse: Warehouse, site_root: Path) -> None:
    seed_week(warehouse, site_root, W04, hhi_shift=-2.0)
    seed_week(warehouse, site_root, W05, prev_shift=-2.0, revisions=True)
    seed_week(warehouse, site_root, W06, hhi_shift=3.5, prev_shift=0.0)


GENERATED_AT = datetime(2026, 1, 28, 12, 0, 0).isoformat() + "Z"
