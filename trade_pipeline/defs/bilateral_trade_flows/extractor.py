"""Extractor markdown (the files the briefing cites), rendered from the week's DuckDB rows.

Layout: ``Extractor/bilateral_trade_flows/{export_flow,import_flow,trade_balance,market_concentration,
commodity_structure}/<reporter>-<view>-<year>.md``, e.g. ``156-hhi-2024.md``, ``842-export-2024.md``.

Every figure goes through ``core.formatting`` with the format kind the report uses for the same column (value →
``usd``, share → ``pct``, YoY → ``signed_pct``, balance → ``signed_usd``, HHI → ``hhi``, counts → ``count``), so a
figure reads the same in the report and in the file it cites; NULL prints ``--``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import polars as pl

from trade_pipeline.core import contract
from trade_pipeline.core import formatting as fmt
from trade_pipeline.core.partitions import as_of_instant, iso_week_label
from trade_pipeline.defs.bilateral_trade_flows.codes import FLOW_ZH, TAIWAN_ISO_CODE, TAIWAN_PARTNER_CODE

REVIEW = "[REVIEW_NEEDED]"
SOURCE_LINE = (
    "UN Comtrade API v1（comtradeapi.un.org，HS，年度，cmdCode=TOTAL；數值為 primaryValue：出口 FOB、進口 CIF）"
)
SOURCE_LINE_HS2 = (
    "UN Comtrade API v1（comtradeapi.un.org，HS，年度，cmdCode=HS 第 01–97 章，partnerCode=0 全世界；"
    "數值為 primaryValue：出口 FOB、進口 CIF）"
)


def _usd(row: dict, column: str) -> str:
    """A USD amount in the report's form ('USD 7,012 億'; '--' when NULL)."""
    return fmt.cell(fmt.usd, row, column)


def _pct(row: dict, column: str, signed: bool = False) -> str:
    return fmt.cell(fmt.signed_pct if signed else fmt.pct, row, column)


def _hhi(row: dict, column: str, signed: bool = False) -> str:
    """An HHI (or a change of it, signed) in the report's form: two decimals, no grouping ('1264.16')."""
    return fmt.cell(_signed_hhi if signed else fmt.hhi, row, column)


def _signed_hhi(value: float) -> str:
    text = fmt.hhi(value)
    return text if text.startswith("-") or text == "0.00" else f"+{text}"


def _count(row: dict, column: str) -> str:
    return fmt.cell(fmt.count, row, column)


def _source(view: str, key: str, reporter: int, year: int, table: str) -> AbstractContextManager[None]:
    """Name the file and rows a render formats, for the error a non-finite value raises."""
    return fmt.figure_source(
        f"[comtrade] {contract.comtrade_extractor_path(view, reporter, year)} from {table} "
        f"(week {key}, reporter {reporter}, year {year})"
    )


_CONFIDENCE_ORDER = {"低": 0, "中": 1, "高": 2}


def _confidence(frame: pl.DataFrame) -> str | None:
    """The file's confidence: the lowest of its rows (a file mixing a flagged and a clean flow is only as good as
    the flagged one)."""
    values = [v for v in frame["confidence"].drop_nulls().to_list() if v in _CONFIDENCE_ORDER]
    return min(values, key=_CONFIDENCE_ORDER.__getitem__) if values else None


def _fetched(frame: pl.DataFrame) -> str | None:
    if "fetched_at" not in frame.columns:
        return None
    values = [v for v in frame["fetched_at"].drop_nulls().to_list() if v]
    return max(values) if values else None


def _flags(flags: str | None) -> str:
    return f"{REVIEW} {flags}" if flags else "無"


def _reporter_note(reporter: int) -> str:
    if reporter == TAIWAN_ISO_CODE:
        return (
            "> 台灣不以 158 向 Comtrade 申報。本檔為**鏡像統計估計**（mirror statistics）：各夥伴申報自 490"
            "（Other Asia, nes，實務上即台灣）之進口 ≈ 台灣對該夥伴出口，各夥伴對 490 之出口 ≈ 台灣自該夥伴進口。"
            "夥伴進口為 CIF、出口為 FOB，與台灣自報數字有數個百分點的口徑差異。\n"
        )
    if reporter == TAIWAN_PARTNER_CODE:
        return "> 490「Other Asia, nes」為台灣以該代碼向 Comtrade 申報之數據（自報，身分對應為推定）。\n"
    return ""


def _header(
    title: str,
    key: str,
    reporter: int,
    year: int,
    fetched: str | None,
    confidence: str | None,
    flags: str,
    source_kind: str,
    source: str = SOURCE_LINE,
) -> str:
    return (
        f"# {title}\n\n"
        f"- 來源：{source}\n"
        f"- 資料種類：{'鏡像統計（mirror）' if source_kind == 'mirror' else '申報數據（reported）'}\n"
        f"- 期間：{year} 年（單一年度，非多年加總）\n"
        f"- 截至週次：{iso_week_label(key)}（as-of {as_of_instant(key).isoformat()}）\n"
        f"- 擷取時間：{fetched or fmt.MISSING}\n"
        f"- 信心度：{confidence or fmt.MISSING}\n"
        f"- 審核旗標：{_flags(flags)}\n\n" + _reporter_note(reporter)
    )


def render_flow(key: str, reporter: int, flow: str, year: int, ranking: pl.DataFrame, conc: dict | None) -> str:
    view = "export_flow" if flow == "X" else "import_flow"
    with _source(view, key, reporter, year, "partner_rankings, market_concentration"):
        return _render_flow(key, reporter, flow, year, ranking, conc)


def _render_flow(key: str, reporter: int, flow: str, year: int, ranking: pl.DataFrame, conc: dict | None) -> str:
    first = ranking.row(0, named=True)
    flags = ";".join(sorted({f for x in ranking["review_flags"].to_list() for f in (x or "").split(";") if f}))
    name = first["reporter_name_zh"]
    out = [
        _header(
            f"{name}（{reporter}）{year} 年{FLOW_ZH[flow]}夥伴排名",
            key,
            reporter,
            year,
            _fetched(ranking),
            _confidence(ranking),
            flags,
            first["source_kind"],
        )
    ]
    if conc:
        out.append(
            f"\n{FLOW_ZH[flow]}總額（排除 World 與 nes/特殊區域）：{_usd(conc, 'total_usd')}；"
            f"夥伴數 {_count(conc, 'partner_count')}；前三大合計占比 {_pct(conc, 'top3_share_pct')}；"
            f"HHI {_hhi(conc, 'hhi')}（{conc['concentration_level'] or fmt.MISSING}）\n"
        )
    out.append(
        "\n| 排名 | 夥伴 | 代碼 | 金額 | 占比 | 年增率 | 去年排名 | 旗標 |\n|---:|---|---:|---:|---:|---:|---:|---|\n"
    )
    for r in ranking.sort("rank").iter_rows(named=True):
        out.append(
            f"| {r['rank']} | {r['partner_name_zh']} | {r['partner_code']} | {_usd(r, 'value_usd')} | "
            f"{_pct(r, 'share_pct')} | {_pct(r, 'yoy_pct', True)} | {r['rank_prev_year'] or fmt.MISSING} | "
            f"{REVIEW if r['review_flags'] else ''} |\n"
        )
    out.append(f"\n請求 ID：{', '.join(sorted(set(ranking['request_id'].drop_nulls().to_list())))}\n")
    return "".join(out)


def render_balance(key: str, reporter: int, year: int, bal: pl.DataFrame, top_n: int = 20) -> str:
    with _source("trade_balance", key, reporter, year, "trade_balances"):
        return _render_balance(key, reporter, year, bal, top_n)


def _render_balance(key: str, reporter: int, year: int, bal: pl.DataFrame, top_n: int) -> str:
    world = bal.filter(pl.col("is_world"))
    partners = bal.filter(~pl.col("is_world"))
    flags = ";".join(sorted({f for x in bal["review_flags"].to_list() for f in (x or "").split(";") if f}))
    first = bal.row(0, named=True)
    out = [
        _header(
            f"{first['reporter_name_zh']}（{reporter}）{year} 年貿易收支",
            key,
            reporter,
            year,
            _fetched(bal),
            _confidence(bal),
            flags,
            "mirror" if first["is_mirror"] else "reported",
        )
    ]
    if not world.is_empty():
        w = world.row(0, named=True)
        out.append(
            f"\n對全世界：出口 {_usd(w, 'export_usd')}，進口 {_usd(w, 'import_usd')}，"
            f"差額 {fmt.cell(fmt.signed_usd, w, 'balance_usd')}（{w['balance_label'] or fmt.MISSING}；"
            f"年增 {_pct(w, 'yoy_pct', True)}）\n"
        )
    for title, frame in (
        ("最大順差", partners.sort("balance_usd", descending=True, nulls_last=True).head(top_n)),
        ("最大逆差", partners.sort("balance_usd", nulls_last=True).head(top_n)),
    ):
        out.append(
            f"\n## {title}\n\n| 夥伴 | 代碼 | 出口 | 進口 | 差額 | 標示 | 差額年變動 | 旗標 |\n"
            "|---|---:|---:|---:|---:|---|---:|---|\n"
        )
        for r in frame.iter_rows(named=True):
            out.append(
                f"| {r['partner_name_zh']} | {r['partner_code']} | {fmt.cell(fmt.usd_amount, r, 'export_usd')} | "
                f"{fmt.cell(fmt.usd_amount, r, 'import_usd')} | {fmt.cell(fmt.signed_usd, r, 'balance_usd')} | "
                f"{r['balance_label'] or fmt.MISSING} | {_pct(r, 'yoy_pct', True)} | {REVIEW if r['review_flags'] else ''} |\n"
            )
    return "".join(out)


def render_concentration(key: str, reporter: int, year: int, conc: pl.DataFrame) -> str:
    with _source("market_concentration", key, reporter, year, "market_concentration"):
        return _render_concentration(key, reporter, year, conc)


def _render_concentration(key: str, reporter: int, year: int, conc: pl.DataFrame) -> str:
    flags = ";".join(sorted({f for x in conc["review_flags"].to_list() for f in (x or "").split(";") if f}))
    first = conc.row(0, named=True)
    out = [
        _header(
            f"{first['reporter_name_zh']}（{reporter}）{year} 年市場集中度（HHI）",
            key,
            reporter,
            year,
            _fetched(conc),
            _confidence(conc),
            flags,
            first["source_kind"],
        )
    ]
    out.append(
        "\n| 流向 | HHI | 集中度 | 前三大占比 | 前三大夥伴 | 夥伴數 | 總額 | 去年 HHI | 較去年 | 上週 HHI | 較上週 | 旗標 |\n"
        "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|\n"
    )
    for r in conc.sort("flow", descending=True).iter_rows(named=True):
        out.append(
            f"| {FLOW_ZH[r['flow']]} | {_hhi(r, 'hhi')} | {r['concentration_level'] or fmt.MISSING} | "
            f"{_pct(r, 'top3_share_pct')} | {r['top3_partner_names_zh'] or fmt.MISSING} | "
            f"{_count(r, 'partner_count')} | {_usd(r, 'total_usd')} | {_hhi(r, 'hhi_prev_year')} | "
            f"{_hhi(r, 'hhi_change_vs_prev_year', True)} | {_hhi(r, 'hhi_prev_week')} | "
            f"{_hhi(r, 'hhi_change_vs_prev_week', True)} | "
            f"{(REVIEW + ' ' + r['review_flags']) if r['review_flags'] else ''} |\n"
        )
    low, high = fmt.format_as("int", contract.HHI_LOW_BELOW), fmt.format_as("int", contract.HHI_HIGH_ABOVE)
    out.append(
        f"\nHHI = Σ(夥伴占比%)²，0–10,000；<{low} 低、{low}–{high} 中、>{high} 高。"
        "占比以排除 World 與 nes/特殊區域後之夥伴合計為分母。\n"
    )
    return "".join(out)


def render_commodity(key: str, reporter: int, year: int, comm: pl.DataFrame, top_n: int = 15) -> str:
    with _source("commodity_structure", key, reporter, year, "commodity_structure"):
        return _render_commodity(key, reporter, year, comm, top_n)


def _render_commodity(key: str, reporter: int, year: int, comm: pl.DataFrame, top_n: int) -> str:
    flags = ";".join(sorted({f for x in comm["review_flags"].to_list() for f in (x or "").split(";") if f}))
    first = comm.row(0, named=True)
    out = [
        _header(
            f"{first['reporter_name_zh']}（{reporter}）{year} 年商品結構（HS2，對全世界）",
            key,
            reporter,
            year,
            _fetched(comm),
            _confidence(comm),
            flags,
            "reported",
            SOURCE_LINE_HS2,
        )
    ]
    for flow in ("X", "M"):
        part = comm.filter(pl.col("flow") == flow).sort("rank").head(top_n)
        if part.is_empty():
            continue
        out.append(
            f"\n## {FLOW_ZH[flow]}\n\n| 排名 | HS2 | 品項 | 金額 | 占比 | 年增率 |\n|---:|---|---|---:|---:|---:|\n"
        )
        for r in part.iter_rows(named=True):
            out.append(
                f"| {r['rank']} | {r['hs2']} | {r['hs2_desc_zh'] or r['hs2_desc']} | {_usd(r, 'value_usd')} | "
                f"{_pct(r, 'share_pct')} | {_pct(r, 'yoy_pct', True)} |\n"
            )
    return "".join(out)
