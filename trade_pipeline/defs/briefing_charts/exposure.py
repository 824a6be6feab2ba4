"""The policy-exposure chart: China's share of US imports of each controlled code (issue 14's
``policy_trade_exposure`` table). Optional: when the table does not exist, or lacks the columns below, the chart is
stored as skipped with the reason, and the other charts are unaffected."""

from __future__ import annotations

import math

from trade_pipeline.core import contract
from trade_pipeline.defs.briefing_charts.data import (
    CELL, ChartData, FlagSource, KeyFigure, Point, WeekTables, _finite, _merge, _skipped, _value_flags, jsonable,
)

EXPOSURE = "policy_exposure"
#: Columns the chart reads: the measure, the code and its label, and the plotted share.
MEASURE_COLUMN = "doc_number"
CODE_COLUMN = "hs_code"
ITEM_COLUMN = "item_zh"
SHARE_COLUMN = "cn_share_of_us_imports_pct"
#: The row key of an exposure row (measure × code).
KEY_COLUMNS = ("announcement_id", CODE_COLUMN)
REQUIRED = (MEASURE_COLUMN, CODE_COLUMN, SHARE_COLUMN, *KEY_COLUMNS)
MAX_BARS = 20


def policy_exposure(tables: WeekTables, flags: FlagSource) -> ChartData:
    title = "管制物項：美國自中國進口占比"
    table = contract.POLICY_TRADE_EXPOSURE
    if not tables.has(table):
        return _skipped(EXPOSURE, title, f"{table} 資料表不存在（政策曝險資料尚未建置）", source_absent=True)
    rows = tables.rows(table)
    if not rows:
        return _skipped(EXPOSURE, title, f"{table} 本週沒有資料列")
    missing = sorted({c for c in REQUIRED if c not in rows[0]})
    if missing:
        return _skipped(EXPOSURE, title, f"{table} 缺少欄位 {', '.join(missing)}")

    def share(r: dict) -> float:
        v = _finite(r.get(SHARE_COLUMN))
        return -v if v is not None else math.inf

    ordered = sorted(rows, key=lambda r: (share(r), str(r.get(CODE_COLUMN)), str(r.get(MEASURE_COLUMN))))
    shown = ordered[:MAX_BARS]
    points = []
    for r in shown:
        item = r.get(ITEM_COLUMN) or ""
        x = f"HS {r[CODE_COLUMN]}" + (f" {item}" if item else "")
        points.append(Point(
            series=str(r.get(MEASURE_COLUMN) or "—"), x=x, y=_finite(r.get(SHARE_COLUMN)), source_table=table,
            source_row_key={"week_start": tables.key, **{k: jsonable(r.get(k)) for k in KEY_COLUMNS}},
            source_column=SHARE_COLUMN, derivation=CELL,
            flags=_merge(flags.row_flags(table, r), _value_flags(r.get(SHARE_COLUMN)))))
    top = next((r for r in shown if _finite(r.get(SHARE_COLUMN)) is not None), None)
    key = alt = None
    if top is not None:
        key = KeyFigure("pct", _finite(top[SHARE_COLUMN]), table,
                        {"week_start": tables.key, **{k: jsonable(top.get(k)) for k in KEY_COLUMNS}}, SHARE_COLUMN,
                        _merge(flags.row_flags(table, top)))
        code, item = top[CODE_COLUMN], top.get(ITEM_COLUMN) or ""
        omitted = len(ordered) - len(shown)

        def alt(fig_zh: str, fig_en: str) -> tuple[str, str]:
            zh = (f"美國自中國進口占比最高的管制物項為 HS {code}{('（' + item + '）') if item else ''}，"
                  f"占美國該項進口 {fig_zh}；圖為各管制物項美國自中國進口的占比"
                  f"{'（僅列占比最高者）' if omitted else ''}。")
            en = (f"Of the controlled codes, China supplies the largest share of US imports of HS {code}: {fig_en}; "
                  f"the chart shows China's share of US imports of each controlled code"
                  f"{' (the highest shares only)' if omitted else ''}.")
            return zh, en

    return ChartData(
        chart_id=EXPOSURE, title_zh=title, source_zh="資料來源：US Census Bureau、中國商務部公告（管制物項對應 HS）",
        points=points, key=key, alt=alt,
        plain=("圖為各管制物項美國自中國進口的占比；本週沒有可引用的數值。",
               "The chart shows China's share of US imports of each controlled code; no value is available."),
        x_title="管制物項", y_title="美國自中國進口占比（%）", series_title="公告",
        series_order=sorted({p.series for p in points}), x_order=[p.x for p in points])
