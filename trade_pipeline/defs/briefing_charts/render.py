"""Chart data → Vega-Lite (Vega-Altair) → SVG (vl-convert, no browser).

The SVG keeps text as text (``font-family`` = :data:`FONT_STACK`, so any CJK font the viewer has renders it);
vl-convert measures the text with the fonts it finds (the system's, plus ``TRADE_PIPELINE_FONT_DIR`` when set) to lay
it out. Same data + same fonts = the same bytes: no timestamps, no generated names, inline data in a fixed order.
Flagged points are drawn with a red outline and the subtitle says what that means.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import subprocess
from typing import Any

import altair as alt
import vl_convert as vlc

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import hhi, pct, usd
from trade_pipeline.defs.briefing_charts.data import (
    HHI,
    SHARES,
    US_BALANCE,
    ChartData,
    Point,
)
from trade_pipeline.defs.briefing_charts.exposure import EXPOSURE

#: CSS font stack written into the SVG: Traditional-Chinese fonts first (Noto CJK from fonts-noto-cjk, WenQuanYi
#: from fonts-wqy-microhei — .ci/install-browser installs it), then the usual platform fonts.
FONT_STACK = (
    "Noto Sans CJK TC, Noto Sans TC, WenQuanYi Micro Hei, PingFang TC, Microsoft JhengHei, Heiti TC, sans-serif"
)
FONT_DIR_ENV = "TRADE_PIPELINE_FONT_DIR"
WIDTH = 640
POINTS = "points"  # the top-level dataset of a chart's points (one copy in the spec, referenced by every layer)
REVIEW_COLOR = "#d62728"
YI = 1e8
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d", "#eeca3b"]


@functools.cache
def _register_font_directory(path: str) -> None:
    vlc.register_font_directory(path)


def prepare_fonts() -> str | None:
    """Register ``$TRADE_PIPELINE_FONT_DIR`` with vl-convert (read at call time) and name the CJK font fontconfig
    would use (None when the machine has none: the SVG still carries the text, but its layout is measured with a
    fallback font — install fonts-noto-cjk or fonts-wqy-microhei)."""
    extra = os.environ.get(FONT_DIR_ENV)
    if extra and os.path.isdir(extra):
        _register_font_directory(os.path.abspath(extra))
    return cjk_font_family()


@functools.lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    if shutil.which("fc-list") is None:
        return None
    try:
        out = subprocess.run(["fc-list", ":lang=zh-tw", "family"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    families = sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})
    return families[0] if families else None


def _values(chart: ChartData, scale: float = 1.0) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(chart.points):
        out.append(
            {
                "seq": i,
                "series": p.series,
                "x": p.x,
                "y": None if p.y is None else p.y / scale,
                "y0": 0,
                "label": p.label,
                "flagged": bool(p.flags),
                "text": _bar_label(chart, p),
                "desc": point_description(chart, p),
            }
        )
    return out


def point_description(chart: ChartData, p: Point) -> str:
    """The mark's accessible label (its aria-label in the SVG): what it is and its value as the report prints it."""
    if p.y is None:
        value = "缺值"
    elif chart.chart_id == US_BALANCE:
        value = usd(p.y)
    elif chart.chart_id == HHI:
        value = f"HHI {hhi(p.y)}"
    else:
        value = pct(p.y)
    what = {
        US_BALANCE: f"{p.series} {p.x}",
        HHI: f"{p.x} {p.series}",
        SHARES: f"{p.x} {p.series}（{p.label}）",
        EXPOSURE: p.x,
    }[chart.chart_id]
    return f"{what}：{value}" + (" [REVIEW_NEEDED]" if p.flags else "")


def _bar_label(chart: ChartData, p: Point) -> str:
    if p.y is not None and chart.chart_id == SHARES:
        return f"{p.label} {pct(p.y)}".strip()
    if p.y is not None and chart.chart_id == EXPOSURE:
        return pct(p.y)
    return ""


def _title(chart: ChartData) -> alt.TitleParams:
    subtitle = [chart.source_zh]
    if chart.flagged_points:
        subtitle.append("紅框或「缺值」：來源資料帶有檢核旗標或缺漏，需人工審核 [REVIEW_NEEDED]")
    return alt.TitleParams(
        chart.title_zh, subtitle=subtitle, anchor="start", fontSize=15, subtitleFontSize=11, subtitleColor="#555"
    )


def _color(chart: ChartData) -> alt.Color:
    return alt.Color(
        "series:N",
        title=chart.series_title,
        sort=chart.series_order,
        scale=alt.Scale(domain=chart.series_order, range=PALETTE[: max(1, len(chart.series_order))]),
        legend=alt.Legend(orient="bottom", direction="horizontal", columns=6) if len(chart.series_order) > 1 else None,
    )


def _flagged(data: alt.NamedData) -> alt.Chart:
    """The flagged points only: drawn again on top, outlined in red (no accessible label: the mark below has it)."""
    return alt.Chart(data).transform_filter(FLAGGED)


def _missing(data: alt.NamedData) -> alt.Chart:
    """The points without a value: the word 缺值 in red where the mark would start (never a zero-sized mark)."""
    return alt.Chart(data).transform_filter(MISSING)


def _missing_text(offset: dict[str, float], **encoding: Any) -> alt.Chart:
    return (
        _missing(alt.NamedData(POINTS))
        .mark_text(color=REVIEW_COLOR, fontSize=10, fontWeight="bold", aria=False, **offset)
        .encode(text=alt.TextValue("缺值"), **encoding)
    )


# Channels are built as objects, not shorthand strings or dicts: Altair validates every wrapped dict against the
# Vega-Lite schema, which cost more than drawing the chart.
FLAGGED = alt.FieldEqualPredicate(field="flagged", equal=True)
MISSING = alt.FieldValidPredicate(field="y", valid=False)
NO_DESCRIPTION = alt.DescriptionValue(None)


def _line(chart: ChartData) -> alt.TopLevelMixin:
    data = alt.NamedData(POINTS)
    x = alt.X(
        "x:O",
        title=chart.x_title,
        sort=chart.x_order,
        scale=alt.Scale(domain=chart.x_order),
        axis=alt.Axis(labelAngle=-45),
    )
    y = alt.Y("y:Q", title=chart.y_title, axis=alt.Axis(format=",.0f"))
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#888").encode(y=alt.Y("zero:Q"))
    # a missing month breaks the line (never bridged, never drawn as zero)
    lines = (
        alt.Chart(data)
        .mark_line(strokeWidth=2, invalid="break-paths-show-domains")
        .encode(x=x, y=y, color=_color(chart), detail=alt.Detail("series:N"), description=NO_DESCRIPTION)
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=36)
        .encode(x=x, y=y, color=_color(chart), order=alt.Order("seq:Q"), description=alt.Description("desc:N"))
    )
    rings = (
        _flagged(data)
        .mark_point(filled=False, size=150, strokeWidth=2.5, color=REVIEW_COLOR, aria=False)
        .encode(x=x, y=y)
    )
    missing = _missing_text({"dy": 10}, x=x, y=alt.Y("y0:Q"))
    return alt.layer(zero, lines, points, rings, missing).properties(width=WIDTH, height=300)


def _hhi(chart: ChartData) -> alt.TopLevelMixin:
    data = alt.NamedData(POINTS)
    x = alt.X(
        "x:N",
        title=chart.x_title,
        sort=chart.x_order,
        scale=alt.Scale(domain=chart.x_order),
        axis=alt.Axis(labelAngle=0, labelLimit=120),
    )
    offset = alt.XOffset("series:N", sort=chart.series_order, scale=alt.Scale(domain=chart.series_order))
    y = alt.Y("y:Q", title=chart.y_title)
    bars = (
        alt.Chart(data)
        .mark_bar(invalid="break-paths-show-domains")
        .encode(
            x=x,
            xOffset=offset,
            y=y,
            color=_color(chart),
            order=alt.Order("seq:Q"),
            description=alt.Description("desc:N"),
        )
    )
    outline = (
        _flagged(data)
        .mark_bar(fillOpacity=0, stroke=REVIEW_COLOR, strokeWidth=2.5, aria=False)
        .encode(x=x, xOffset=offset, y=y)
    )
    bands = [
        {"band": contract.HHI_LOW_BELOW, "text": "中度集中"},
        {"band": contract.HHI_HIGH_ABOVE, "text": "高度集中"},
    ]
    rules = alt.Chart(alt.Data(values=bands)).mark_rule(strokeDash=[4, 4], color="#888").encode(y=alt.Y("band:Q"))
    labels = (
        alt.Chart(alt.Data(values=bands))
        .mark_text(align="right", dy=-6, color="#555", fontSize=10)
        .encode(y=alt.Y("band:Q"), x=alt.XValue(WIDTH), text=alt.Text("text:N"))
    )
    missing = _missing_text({"dy": -8}, x=x, xOffset=offset, y=alt.Y("y0:Q"))
    return alt.layer(bars, outline, rules, labels, missing).properties(width=WIDTH, height=300)


def _hbars(chart: ChartData) -> alt.TopLevelMixin:
    data = alt.NamedData(POINTS)
    rows = max(1, len(chart.points))
    y = alt.Y(
        "x:N", title=None, sort=chart.x_order, scale=alt.Scale(domain=chart.x_order), axis=alt.Axis(labelLimit=220)
    )
    offset = alt.YOffset("series:N", sort=chart.series_order, scale=alt.Scale(domain=chart.series_order))
    x = alt.X("y:Q", title=chart.y_title, axis=alt.Axis(format=".0f"))
    bars = (
        alt.Chart(data)
        .mark_bar(invalid="break-paths-show-domains")
        .encode(
            y=y,
            yOffset=offset,
            x=x,
            color=_color(chart),
            order=alt.Order("seq:Q"),
            description=alt.Description("desc:N"),
        )
    )
    outline = (
        _flagged(data)
        .mark_bar(fillOpacity=0, stroke=REVIEW_COLOR, strokeWidth=2.5, aria=False)
        .encode(y=y, yOffset=offset, x=x)
    )
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=3, fontSize=10, color="#333")
        .encode(y=y, yOffset=offset, x=alt.X("y:Q"), text=alt.Text("text:N"), description=NO_DESCRIPTION)
    )
    missing = _missing_text({"dx": 14}, y=y, yOffset=offset, x=alt.X("y0:Q"))
    return alt.layer(bars, outline, text, missing).properties(width=WIDTH - 180, height=max(160, 15 * rows))


LAYOUTS = {US_BALANCE: _line, HHI: _hhi, SHARES: _hbars, EXPOSURE: _hbars}


def chart_spec(chart: ChartData, description: str) -> dict[str, Any]:
    """The Vega-Lite spec (a plain dict) of a chart."""
    layer = LAYOUTS[chart.chart_id](chart)
    spec = (
        layer.properties(
            title=_title(chart),
            description=description,
            background="white",
            padding={"left": 10, "right": 24, "top": 10, "bottom": 10},
        )
        .configure(font=FONT_STACK)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12, grid=True, gridColor="#e6e6e6")
        .configure_legend(labelFontSize=11, titleFontSize=12, symbolType="square")
    )
    out = spec.to_dict(validate=False)
    # The points go in once, as a top-level dataset, after Altair has built the spec: Altair deep-copies inline data
    # on every operation, which made a chart of a hundred points cost a second to specify.
    out.setdefault("datasets", {})[POINTS] = _values(chart, YI if chart.chart_id == US_BALANCE else 1.0)
    return out


def _frozen(value: Any) -> Any:
    """A hashable image of ``value`` with everything drawn in it: dataclasses field by field (callables left out: a
    chart's alt-text builder, represented by what it builds; fields marked ``data.PROVENANCE`` left out: a source
    cell is not drawn), lists and tuples item by item, dicts by sorted key."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__qualname__,
            tuple(
                (f.name, _frozen(getattr(value, f.name)))
                for f in dataclasses.fields(value)
                if f.metadata.get("drawn", True) and not callable(getattr(value, f.name))
            ),
        )
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((repr(k), _frozen(v)) for k, v in value.items()), key=lambda kv: kv[0])))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(_frozen(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(v) for v in value)))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return value


def chart_key(chart: ChartData, description: str) -> tuple:
    """Everything a chart is drawn from, taken whole (never a hand-picked list of fields): every field of the chart and
    its points (titles, orders, values, labels, flags, key figure) but the source cells (``data.PROVENANCE``: not
    drawn, and another week's), its alt texts and the description. A new field is part of the key unless marked."""
    return (_frozen(chart), chart.alt_texts(), description)


def render_svg(chart: ChartData, description: str, drawn: dict[tuple, str] | None = None) -> str:
    """The chart's SVG text. ``drawn``: the SVGs the caller (one step) has converted already, by :func:`chart_key`,
    so the weeks of a backfill that redraw an identical chart (annual Comtrade data, monthly Census releases) specify
    and convert it once; the fonts registered do not change within a step."""
    prepare_fonts()
    key = chart_key(chart, description) if drawn is not None else None
    if key is not None and key in drawn:
        return drawn[key]
    svg = vlc.vegalite_to_svg(json.dumps(chart_spec(chart, description), ensure_ascii=False, sort_keys=True))
    svg = svg if svg.endswith("\n") else svg + "\n"
    if key is not None:
        drawn[key] = svg
    return svg
