"""The policy-exposure chart: China's share of US imports of each controlled HS6 code (the ``policy_trade_exposure``
table of the policy_exposure layer). Optional: when the table does not exist, or lacks the columns below, the chart
is stored as skipped with the reason, and the other charts are unaffected.

The table has one row per measure × code; a code's share of US imports is a property of the code, so a code listed
by several measures is one bar (its row: the first measure's, by row key). Should two measures' rows of one code
disagree, each is its own bar, labelled with its measure. Rows without a code (a measure with no mapped HS code) are
not trade figures and are not charted.
"""

from __future__ import annotations

import math

from trade_pipeline.core import contract
from trade_pipeline.defs.briefing_charts.data import (
    CELL,
    ChartData,
    FlagSource,
    KeyFigure,
    Point,
    WeekTables,
    _finite,
    _merge,
    _month_en,
    _skipped,
    _value_flags,
    jsonable,
)

EXPOSURE = "policy_exposure"
#: Columns the chart reads.
ROW_KEY = "row_key"  # the table's own row key: '<measure_id>|<hs6>'
CODE_COLUMN = "hs6"
ITEM_COLUMN = "hs6_desc_zh_tw"
MEASURE_COLUMN = "doc_number_zh_tw"
SHARE_COLUMN = "cn_share_of_us_imports_pct"
YEAR_COLUMN, MONTH_COLUMN = "us_import_year", "us_import_through_month"
REQUIRED = (ROW_KEY, CODE_COLUMN, MEASURE_COLUMN, SHARE_COLUMN)
MAX_BARS = 15


def _key(tables: WeekTables, row: dict) -> dict:
    return {"week_start": tables.key, ROW_KEY: jsonable(row.get(ROW_KEY))}


def policy_exposure(tables: WeekTables, flags: FlagSource) -> ChartData:
    title = "管制物項：美國自中國進口占比"
    table = contract.POLICY_TRADE_EXPOSURE
    if not tables.has(table):
        return _skipped(EXPOSURE, title, f"{table} 資料表不存在（政策曝險資料尚未建置）", source_absent=True)
    rows = tables.rows(table)
    if rows:
        missing = sorted({c for c in REQUIRED if c not in rows[0]})
        if missing:
            return _skipped(EXPOSURE, title, f"{table} 缺少欄位 {', '.join(missing)}")
    coded = [r for r in rows if str(r.get(CODE_COLUMN) or "").strip()]
    if not coded:
        return _skipped(EXPOSURE, title, f"{table} 本週沒有對應 HS 碼的資料列")

    # one bar per code and value (the same code under several measures carries the same share)
    groups: dict[tuple[str, float | None], list[dict]] = {}
    for r in sorted(coded, key=lambda r: str(r[ROW_KEY])):
        groups.setdefault((str(r[CODE_COLUMN]), _finite(r.get(SHARE_COLUMN))), []).append(r)
    per_code: dict[str, int] = {}
    for code, _ in groups:
        per_code[code] = per_code.get(code, 0) + 1

    def order(item: tuple[tuple[str, float | None], list[dict]]) -> tuple[float, str, str]:
        (code, share), members = item
        return (-share if share is not None else math.inf, code, str(members[0][ROW_KEY]))

    ranked = sorted(groups.items(), key=order)
    shown = ranked[:MAX_BARS]
    points = []
    for (code, share), members in shown:
        first = members[0]
        item = str(first.get(ITEM_COLUMN) or "")
        x = f"HS {code}" + (f" {item}" if item else "")
        if per_code[code] > 1:  # the measures disagree about this code: tell the bars apart
            x += f"（{first.get(MEASURE_COLUMN) or first[ROW_KEY]}）"
        measures = "、".join(dict.fromkeys(str(m.get(MEASURE_COLUMN) or "") for m in members if m.get(MEASURE_COLUMN)))
        points.append(
            Point(
                series="美國自中國進口占比",
                x=x,
                y=share,
                source_table=table,
                source_row_key=_key(tables, first),
                source_column=SHARE_COLUMN,
                derivation=CELL,
                label=measures,
                flags=_merge(*(flags.row_flags(table, m) for m in members), _value_flags(first.get(SHARE_COLUMN))),
            )
        )
    top = next(((k, m[0]) for k, m in shown if k[1] is not None), None)
    key = alt = None
    if top is not None:
        (code, share), row = top
        key = KeyFigure("pct", share, table, _key(tables, row), SHARE_COLUMN, _merge(flags.row_flags(table, row)))
        item = str(row.get(ITEM_COLUMN) or "")
        year, month = row.get(YEAR_COLUMN), row.get(MONTH_COLUMN)
        period_zh = f"{int(year)} 年 1-{int(month)} 月" if year and month else ""
        period_en = (
            (f" in January-{_month_en(int(month))} {int(year)}" if int(month) > 1 else f" in January {int(year)}")
            if year and month
            else ""
        )
        omitted = len(ranked) > len(shown)

        def alt(fig_zh: str, fig_en: str) -> tuple[str, str]:
            zh = (
                f"美國自中國進口占比最高的管制物項為 HS {code}{('（' + item + '）') if item else ''}，"
                f"{period_zh}占美國該項進口 {fig_zh}；圖為各管制物項美國自中國進口的占比"
                f"{'（僅列占比最高者）' if omitted else ''}。"
            )
            en = (
                f"Of the controlled codes, China supplies the largest share of US imports of HS {code}: {fig_en}"
                f"{period_en}; the chart shows China's share of US imports of each controlled code"
                f"{' (the highest shares only)' if omitted else ''}."
            )
            return zh, en

    return ChartData(
        chart_id=EXPOSURE,
        title_zh=title,
        source_zh="資料來源：US Census Bureau（HS6 進口）、中國商務部公告（管制物項對應 HS）",
        points=points,
        key=key,
        alt=alt,
        plain=(
            "圖為各管制物項美國自中國進口的占比；本週沒有可引用的數值。",
            "The chart shows China's share of US imports of each controlled code; no value is available.",
        ),
        x_title="管制物項",
        y_title="美國自中國進口占比（%）",
        series_title="",
        series_order=["美國自中國進口占比"],
        x_order=[p.x for p in points],
    )
