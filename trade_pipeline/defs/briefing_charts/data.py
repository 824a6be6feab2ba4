"""What each chart plots, as rows built from one week's layer tables (never from report text).

Every plotted point is a :class:`Point`: its value, and the layer cell it comes from (table, row key, column) — or,
for a monthly balance, the pair of cells it is the difference of (``derivation``). Every chart has one key figure
(a stored cell, printed in its alt text) so the report can print that figure as a verified claim. A point whose
source rows carry review flags keeps them, and is drawn marked; a value that is missing or not finite is stored as
NULL with a flag, never dropped.

The builders are pure functions of :class:`WeekTables` (the week's rows of each table) and a flag source (own flags
of a row, or the lead's lineage resolver: anything with ``row_flags(table, row)``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import FORMATTERS, round_half_up

CELL = "cell"  # y is the cell source_table.source_column of the row source_row_key
EXPORT_MINUS_IMPORT = "export_minus_import"  # y = value of the flow='export' row − value of the flow='import' row

#: Tables the charts read (the policy-exposure table only when it exists).
CHART_TABLES = (
    contract.CENSUS_MONTHLY_FLOWS,
    contract.CENSUS_TRADE_BALANCE,
    contract.MARKET_CONCENTRATION,
    contract.PARTNER_RANKINGS,
    contract.COMTRADE_PARTNER_FLOWS,
    contract.POLICY_TRADE_EXPOSURE,
)

#: Taiwan appears twice in the Comtrade tables, both rows named 台灣: its own filing (490) and the mirror (158).
TAIWAN_SUFFIX = {490: "（自報）", 158: "（鏡像）"}

Row = dict[str, Any]


class FlagSource(Protocol):
    def row_flags(self, table: str, row: Row) -> tuple[str, ...]: ...


class OwnFlags:
    """A row's own ``review_flags`` (no lineage)."""

    def row_flags(self, table: str, row: Row) -> tuple[str, ...]:
        return tuple(contract.split_flags(row.get("review_flags")))


class LineageFlags:
    """Effective flags: a row's own plus the QUALITY flags of the rows it is computed from (``core.lineage``), for
    the tables the contract keys; own flags for any other table."""

    def __init__(self, resolver: Any):  # core.lineage.LineageResolver over the run's weeks
        self.resolver = resolver

    def row_flags(self, table: str, row: Row) -> tuple[str, ...]:
        own = contract.split_flags(row.get("review_flags"))
        if table not in contract.TABLE_KEYS:
            return tuple(own)
        return _merge(own, self.resolver.row_flags(table, row))


@dataclass
class WeekTables:
    """One week's rows of each chart table; a table absent from ``rows`` does not exist in the warehouse."""

    key: str  # partition key (the week's Monday)
    iso_week: str
    rows_by_table: dict[str, list[Row]] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        return table in self.rows_by_table

    def rows(self, table: str) -> list[Row]:
        return self.rows_by_table.get(table, [])


#: Field metadata of where a figure comes from (its source cell): stored with the chart and checked by verify, never
#: drawn — so not part of what a chart's SVG is keyed by (render.chart_key: every other field is). The same drawing of
#: another week names that week's rows.
PROVENANCE = {"drawn": False}


@dataclass(frozen=True)
class Point:
    series: str
    x: str
    y: float | None
    source_table: str = field(metadata=PROVENANCE)
    source_row_key: dict[str, Any] = field(metadata=PROVENANCE)
    source_column: str = field(metadata=PROVENANCE)
    derivation: str = field(default=CELL, metadata=PROVENANCE)
    label: str = ""  # text drawn beside the mark (e.g. the partner of a share bar)
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyFigure:
    """The one figure a chart's alt text states: a stored cell, and how it is printed (core.formatting kind)."""

    kind: str
    value: float
    table: str = field(metadata=PROVENANCE)
    row_key: dict[str, Any] = field(metadata=PROVENANCE)
    column: str = field(metadata=PROVENANCE)
    flags: tuple[str, ...] = ()

    @property
    def text_zh(self) -> str:
        return FORMATTERS[self.kind](self.value)

    @property
    def text_en(self) -> str:
        return english_figure(self.kind, self.value)


@dataclass
class ChartData:
    chart_id: str
    title_zh: str
    source_zh: str  # subtitle: where the figures come from
    points: list[Point] = field(default_factory=list)
    key: KeyFigure | None = None
    #: alt text with the key figure; built by the chart's builder from the figure's printed form
    alt: Callable[[str, str], tuple[str, str]] | None = None
    #: alt text when there is no key figure to state (what the chart shows, no figure)
    plain: tuple[str, str] = ("", "")
    x_title: str = ""
    y_title: str = ""
    series_title: str = ""
    series_order: list[str] = field(default_factory=list)
    x_order: list[str] = field(default_factory=list)
    skip_reason: str | None = None  # set: the chart is not drawn this week (stored with the reason)
    source_absent: bool = False  # skipped because its (optional) table does not exist in this warehouse at all

    @property
    def flagged_points(self) -> list[Point]:
        return [p for p in self.points if p.flags]

    def alt_texts(self) -> tuple[str, str]:
        """(zh, en) alt text; the key figure appears once, as FORMATTERS[key.kind] prints it (zh), with
        [REVIEW_NEEDED] after it when the figure's row is flagged."""
        if self.key is None or self.alt is None:
            return self.alt_parts("")
        mark = " [REVIEW_NEEDED]" if self.key.flags else ""
        zh, en = self.alt_parts(KEY_PLACEHOLDER)
        return (
            zh.replace(KEY_PLACEHOLDER, self.key.text_zh + mark),
            en.replace(KEY_PLACEHOLDER, self.key.text_en + mark),
        )

    def alt_parts(self, placeholder: str = "\ue010") -> tuple[str, str]:
        """(zh, en) alt text with ``placeholder`` where the key figure (and its review mark) stands — the report
        prints the figure there as its own claim, bound to the key cell (no placeholder without a key figure)."""
        if self.key is None or self.alt is None:
            zh, en = self.plain
        else:
            zh, en = self.alt(placeholder, placeholder)
        if self.flagged_points:
            zh += "圖中標紅框或標「缺值」的數據點需人工審核 [REVIEW_NEEDED]。"
            en += " Points outlined in red or marked 缺值 (missing) need review [REVIEW_NEEDED]."
        return zh, en


#: Stands for the key figure in :meth:`ChartData.alt_parts` (a private-use character no text contains).
KEY_PLACEHOLDER = "\ue010"


def english_figure(kind: str, value: float) -> str:
    """The key figure in English running text (USD in billions; percentages and HHI as the zh formatter prints)."""
    if kind in ("usd", "usd_amount", "signed_usd"):
        bn = round_half_up(value / 1e9, 1)
        sign = "+" if kind == "signed_usd" and bn > 0 else ""
        return f"USD {sign}{bn:,.1f} bn" if kind != "usd_amount" else f"{sign}{bn:,.1f} bn"
    return FORMATTERS[kind](value)


def jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def row_key(tables: WeekTables, table: str, row: Row, drop: Iterable[str] = ()) -> dict[str, Any]:
    """{'week_start': …, <contract.TABLE_KEYS[table] columns>} of a row (the form the report's facts use), minus
    ``drop`` (a key that names several rows)."""
    skip = set(drop)
    return {"week_start": tables.key, **{k: jsonable(row.get(k)) for k in contract.TABLE_KEYS[table] if k not in skip}}


def key_json(key: dict[str, Any]) -> str:
    return json.dumps(key, ensure_ascii=False, sort_keys=True)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _value_flags(value: Any) -> list[str]:
    """Flags of a value that cannot be plotted: missing, or stored but not a finite number."""
    if value is None:
        return ["missing_value"]
    return [] if _finite(value) is not None else ["value_not_finite"]


def _merge(*groups: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for group in groups:
        for code in group:
            if code and code not in out:
                out.append(code)
    return tuple(out)


def reporter_label(row: Row) -> str:
    code = int(row["reporter_code"])
    name = row.get("reporter_name_zh")
    if not name:
        return f"報告國 ({code})"
    suffix = TAIWAN_SUFFIX.get(code) or ("（鏡像）" if row.get("is_mirror") else "")
    return f"{name}{suffix}"


def _latest_per_reporter(rows: list[Row], flow: str) -> dict[int, int]:
    latest: dict[int, int] = {}
    for r in rows:
        if r.get("flow") == flow and r.get("year") is not None:
            rc = int(r["reporter_code"])
            latest[rc] = max(latest.get(rc, r["year"]), r["year"])
    return latest


def _skipped(chart_id: str, title: str, reason: str, source_absent: bool = False) -> ChartData:
    return ChartData(chart_id=chart_id, title_zh=title, source_zh="", skip_reason=reason, source_absent=source_absent)


# --------------------------------------------------------------------------------------------------------------------
# 1. US balance by month per partner (US Census country totals)
# --------------------------------------------------------------------------------------------------------------------
US_BALANCE = "us_balance_monthly"


def us_balance_monthly(tables: WeekTables, flags: FlagSource) -> ChartData:
    title = "美國對主要貿易夥伴每月貿易差額"
    table = contract.CENSUS_MONTHLY_FLOWS
    totals = [r for r in tables.rows(table) if r.get("hs2") == "TOTAL"]
    if not totals:
        return _skipped(US_BALANCE, title, f"{table} 本週沒有國家總額（hs2 = TOTAL）資料列")
    pairs: dict[tuple[str, int, int], dict[str, list[Row]]] = {}
    names: dict[str, str] = {}
    for r in totals:
        pairs.setdefault((str(r["cty_code"]), int(r["year"]), int(r["month"])), {}).setdefault(
            str(r["flow"]), []
        ).append(r)
        if r.get("cty_name_zh"):
            names.setdefault(str(r["cty_code"]), str(r["cty_name_zh"]))

    # Key figure: the partner with the largest year-to-date deficit (a stored cell of census_trade_balance).
    ytd_table = contract.CENSUS_TRADE_BALANCE
    ytd = sorted(
        (r for r in tables.rows(ytd_table) if r.get("hs2") == "TOTAL" and _finite(r.get("balance_usd")) is not None),
        key=lambda r: (_finite(r["balance_usd"]), str(r["cty_code"])),
    )
    ytd_rank = {str(r["cty_code"]): i for i, r in enumerate(ytd)}
    partners = sorted({c for c, _, _ in pairs}, key=lambda c: (ytd_rank.get(c, len(ytd_rank)), c))
    label = {c: names.get(c) or f"夥伴 ({c})" for c in partners}

    points: list[Point] = []
    for cty in partners:
        for c, year, month in sorted(k for k in pairs if k[0] == cty):
            flows = pairs[(c, year, month)]
            ex, im = flows.get("export", []), flows.get("import", [])
            point_flags: list[str] = []
            if len(ex) != 1 or len(im) != 1:
                point_flags.append("series_missing")  # a flow missing (or stored twice): no balance to plot
            for r in ex + im:  # a balance inherits the quality problems of both cells, not their notices
                point_flags.extend(contract.quality_flags(flags.row_flags(table, r)))
            value = None
            if len(ex) == 1 and len(im) == 1:
                e, i = _finite(ex[0].get("value_usd")), _finite(im[0].get("value_usd"))
                point_flags.extend(_value_flags(ex[0].get("value_usd")) + _value_flags(im[0].get("value_usd")))
                value = e - i if e is not None and i is not None else None
            points.append(
                Point(
                    series=label[cty],
                    x=f"{year}-{month:02d}",
                    y=value,
                    source_table=table,
                    source_row_key=row_key(tables, table, (ex or im)[0], drop=("flow",)),
                    source_column="value_usd",
                    derivation=EXPORT_MINUS_IMPORT,
                    flags=_merge(point_flags),
                )
            )

    key = None
    alt = None
    first, last = min(p.x for p in points), max(p.x for p in points)
    if ytd:
        worst = ytd[0]
        key = KeyFigure(
            "usd",
            _finite(worst["balance_usd"]),
            ytd_table,
            row_key(tables, ytd_table, worst),
            "balance_usd",
            _merge(flags.row_flags(ytd_table, worst)),
        )
        who = str(worst.get("cty_name_zh") or label.get(str(worst["cty_code"])) or worst["cty_code"])
        who_en = str(worst.get("cty_name") or worst["cty_code"]).title()
        year, through = int(worst["year"]), int(worst["through_month"])
        deficit = key.value < 0

        def alt(fig_zh: str, fig_en: str) -> tuple[str, str]:
            zh = (
                f"美國對{who} {year} 年 1-{through} 月累計貿易差額 {fig_zh}，"
                f"{'為各夥伴中逆差最大' if deficit else '為各夥伴中最低'}；"
                f"圖為 {_ym_zh(first)}至 {_ym_zh(last)}各夥伴每月差額（出口減進口）。"
            )
            en = (
                f"US trade balance with {who_en}, January-{_month_en(through)} {year} year to date: {fig_en}, "
                f"{'the largest deficit of the partners shown' if deficit else 'the lowest of the partners shown'}; "
                f"the chart shows each partner's monthly balance (exports minus imports), {first} to {last}."
            )
            return zh, en

    plain = (
        f"圖為 {_ym_zh(first)}至 {_ym_zh(last)}美國對各夥伴每月貿易差額（出口減進口）；本週沒有可引用的累計差額。",
        f"The chart shows the US monthly trade balance (exports minus imports) with each partner, {first} to "
        f"{last}; no year-to-date balance is available this week.",
    )
    return ChartData(
        chart_id=US_BALANCE,
        title_zh=title,
        source_zh="資料來源：US Census Bureau（國家總額，出口減進口）",
        points=points,
        key=key,
        alt=alt,
        plain=plain,
        x_title="月份",
        y_title="差額（USD 億）",
        series_title="夥伴",
        series_order=[label[c] for c in partners],
        x_order=sorted({p.x for p in points}),
    )


def _ym_zh(ym: str) -> str:
    y, m = ym.split("-")
    return f"{int(y)} 年 {int(m)} 月"


def _month_en(month: int) -> str:
    return (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    )[month - 1]


# --------------------------------------------------------------------------------------------------------------------
# 2. HHI by reporter, latest year against the previous year (exports)
# --------------------------------------------------------------------------------------------------------------------
HHI = "hhi_vs_prev_year"


def hhi_vs_prev_year(tables: WeekTables, flags: FlagSource) -> ChartData:
    title = "各報告國出口市場集中度（HHI）與前一年度比較"
    table = contract.MARKET_CONCENTRATION
    rows = tables.rows(table)
    latest = _latest_per_reporter(rows, "X")
    chosen = [r for r in rows if r.get("flow") == "X" and latest.get(int(r["reporter_code"])) == r.get("year")]
    if not chosen:
        return _skipped(HHI, title, f"{table} 本週沒有出口（flow = X）資料列")
    chosen.sort(
        key=lambda r: (
            -(_finite(r.get("hhi")) if _finite(r.get("hhi")) is not None else -math.inf),
            int(r["reporter_code"]),
        )
    )
    years = {int(r["year"]) for r in chosen}
    same_year = len(years) == 1
    cur = f"{next(iter(years))} 年" if same_year else "最新年度"
    prev = f"{next(iter(years)) - 1} 年" if same_year else "前一年度"
    points: list[Point] = []
    x_order: list[str] = []
    for r in chosen:
        x = reporter_label(r) if same_year else f"{reporter_label(r)}（{int(r['year'])}）"
        x_order.append(x)
        own = flags.row_flags(table, r)
        for series, column in ((prev, "hhi_prev_year"), (cur, "hhi")):
            points.append(
                Point(
                    series=series,
                    x=x,
                    y=_finite(r.get(column)),
                    source_table=table,
                    source_row_key=row_key(tables, table, r),
                    source_column=column,
                    flags=_merge(own, _value_flags(r.get(column))),
                )
            )
    top = next((r for r in chosen if _finite(r.get("hhi")) is not None), None)
    key = alt = None
    if top is not None:
        key = KeyFigure(
            "hhi", _finite(top["hhi"]), table, row_key(tables, table, top), "hhi", _merge(flags.row_flags(table, top))
        )
        who, year = reporter_label(top), int(top["year"])

        def alt(fig_zh: str, fig_en: str) -> tuple[str, str]:
            zh = (
                f"出口市場集中度最高的是{who}，{year} 年 HHI 為 {fig_zh}；"
                f"圖為各報告國最新年度與前一年度的出口市場 HHI，虛線為中度與高度集中的門檻。"
            )
            en = (
                f"The most concentrated export markets are {_reporter_en(top)}'s, with an HHI of {fig_en} in {year}; "
                f"the chart compares each reporter's export-market HHI with the previous year "
                f"(dashed lines: the moderate and high concentration thresholds)."
            )
            return zh, en

    return ChartData(
        chart_id=HHI,
        title_zh=title,
        source_zh="資料來源：UN Comtrade（出口，依夥伴計算之 HHI）",
        points=points,
        key=key,
        alt=alt,
        plain=(
            "圖為各報告國最新年度與前一年度的出口市場 HHI；本週沒有可引用的數值。",
            "The chart compares each reporter's export-market HHI with the previous year; no value is available.",
        ),
        x_title="報告國",
        y_title="HHI",
        series_title="年度",
        series_order=[prev, cur],
        x_order=x_order,
    )


REPORTER_EN = {
    842: "the US",
    156: "China",
    392: "Japan",
    410: "Korea",
    276: "Germany",
    490: "Taiwan (own filing)",
    158: "Taiwan (mirror estimate)",
}


def _reporter_en(row: Row) -> str:
    code = int(row["reporter_code"])
    return REPORTER_EN.get(code, f"reporter {code}")


# --------------------------------------------------------------------------------------------------------------------
# 3. Top-3 export partners' shares per reporter
# --------------------------------------------------------------------------------------------------------------------
SHARES = "top_partner_shares"
TOP_N = 3


def top_partner_shares(tables: WeekTables, flags: FlagSource) -> ChartData:
    title = "各報告國前三大出口市場占比"
    table = contract.PARTNER_RANKINGS
    rows = tables.rows(table)
    latest = _latest_per_reporter(rows, "X")
    chosen = [
        r
        for r in rows
        if r.get("flow") == "X"
        and latest.get(int(r["reporter_code"])) == r.get("year")
        and r.get("rank") is not None
        and 1 <= int(r["rank"]) <= TOP_N
    ]
    if not chosen:
        return _skipped(SHARES, title, f"{table} 本週沒有出口（flow = X）排名資料列")
    first = {int(r["reporter_code"]): r for r in chosen if int(r["rank"]) == 1}

    def lead_share(rc: int) -> float:
        v = _finite(first[rc].get("share_pct")) if rc in first else None
        return -v if v is not None else math.inf

    reporters = sorted({int(r["reporter_code"]) for r in chosen}, key=lambda rc: (lead_share(rc), rc))
    by_reporter = {
        rc: sorted((r for r in chosen if int(r["reporter_code"]) == rc), key=lambda r: int(r["rank"]))
        for rc in reporters
    }
    same_year = len({int(r["year"]) for r in chosen}) == 1
    points: list[Point] = []
    x_order: list[str] = []
    series_order = [f"第 {n} 大" for n in range(1, TOP_N + 1)]
    for rc in reporters:
        ranked = by_reporter[rc]
        x = reporter_label(ranked[0]) if same_year else f"{reporter_label(ranked[0])}（{int(ranked[0]['year'])}）"
        x_order.append(x)
        for r in ranked:
            value = _finite(r.get("share_pct"))
            partner = str(r.get("partner_name_zh") or f"夥伴 ({r.get('partner_code')})")
            points.append(
                Point(
                    series=f"第 {int(r['rank'])} 大",
                    x=x,
                    y=value,
                    source_table=table,
                    source_row_key=row_key(tables, table, r),
                    source_column="share_pct",
                    label=partner,
                    flags=_merge(flags.row_flags(table, r), _value_flags(r.get("share_pct"))),
                )
            )
    top = next((first[rc] for rc in reporters if rc in first and _finite(first[rc].get("share_pct")) is not None), None)
    key = alt = None
    if top is not None:
        key = KeyFigure(
            "pct",
            _finite(top["share_pct"]),
            table,
            row_key(tables, table, top),
            "share_pct",
            _merge(flags.row_flags(table, top)),
        )
        who, partner, year = (
            reporter_label(top),
            str(top.get("partner_name_zh") or top["partner_code"]),
            int(top["year"]),
        )
        partner_en = _partner_en(tables, top)

        def alt(fig_zh: str, fig_en: str) -> tuple[str, str]:
            zh = (
                f"單一市場依賴最高的是{who}：{year} 年對{partner}出口占其出口總額 {fig_zh}；"
                f"圖為各報告國前三大出口市場的占比。"
            )
            en = (
                f"The highest reliance on one export market is {_reporter_en(top)}'s: exports to {partner_en} were "
                f"{fig_en} of its {year} exports; the chart shows each reporter's top three export markets' shares."
            )
            return zh, en

    return ChartData(
        chart_id=SHARES,
        title_zh=title,
        source_zh="資料來源：UN Comtrade（出口，夥伴排名）",
        points=points,
        key=key,
        alt=alt,
        plain=(
            "圖為各報告國前三大出口市場的占比；本週沒有可引用的數值。",
            "The chart shows each reporter's top three export markets' shares; no value is available.",
        ),
        x_title="報告國",
        y_title="占出口總額（%）",
        series_title="排名",
        series_order=series_order,
        x_order=x_order,
    )


def _partner_en(tables: WeekTables, ranking: Row) -> str:
    """The partner's English name from the Comtrade rows the ranking was computed from (its code otherwise)."""
    for r in tables.rows(contract.COMTRADE_PARTNER_FLOWS):
        if (r.get("reporter_code"), r.get("partner_code"), r.get("flow"), r.get("year")) == (
            ranking.get("reporter_code"),
            ranking.get("partner_code"),
            ranking.get("flow"),
            ranking.get("year"),
        ) and r.get("partner_name"):
            return str(r["partner_name"])
    return f"partner {ranking.get('partner_code')}"


# --------------------------------------------------------------------------------------------------------------------
# all charts of a week
# --------------------------------------------------------------------------------------------------------------------
BUILDERS: tuple[Callable[[WeekTables, FlagSource], ChartData], ...] = (
    us_balance_monthly,
    hhi_vs_prev_year,
    top_partner_shares,
)


def build_charts(tables: WeekTables, flags: FlagSource | None = None) -> list[ChartData]:
    from trade_pipeline.defs.briefing_charts.exposure import policy_exposure

    source = flags or OwnFlags()
    return [builder(tables, source) for builder in (*BUILDERS, policy_exposure)]
