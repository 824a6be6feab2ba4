"""Chart data → Vega-Lite (Vega-Altair) → SVG (vl-convert, no browser).

The SVG keeps text as text (``font-family`` = :data:`FONT_STACK`, so any CJK font the viewer has renders it);
vl-convert measures the text with the fonts it finds (the system's, plus ``TRADE_PIPELINE_FONT_DIR`` when set) to lay
it out. Same data + same fonts = the same bytes: no timestamps, no generated names, inline data in a fixed order.
Flagged points are drawn with a red outline and the subtitle says what that means.
"""

from __future__ import annotations

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
    HHI, SHARES, US_BALANCE, ChartData, Point,
)
from trade_pipeline.defs.briefing_charts.exposure import EXPOSURE

#: CSS font stack written into the SVG: Traditional-Chinese fonts first (Noto CJK from fonts-noto-cjk, WenQuanYi
#: from fonts-wqy-microhei — .ci/install-browser installs it), then the usual platform fonts.
FONT_STACK = ("Noto Sans CJK TC, Noto Sans TC, WenQuanYi Micro Hei, PingFang TC, Microsoft JhengHei, "
              "Heiti TC, sans-serif")
FONT_DIR_ENV = "TRADE_PIPELINE_FONT_DIR"
WIDTH = 640
REVIEW_COLOR = "#d62728"
YI = 1e8
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d", "#eeca3b"]


@functools.lru_cache(maxsize=None)
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
        out.append({
            "seq": i, "series": p.series, "x": p.x,
            "y": None if p.y is None else p.y / scale,
            "label": p.label, "flagged": bool(p.flags),
            "text": _bar_label(chart, p), "desc": point_description(chart, p),
        })
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
    what = {US_BALANCE: f"{p.series} {p.x}", HHI: f"{p.x} {p.series}", SHARES: f"{p.x} {p.series}（{p.label}）",
            EXPOSURE: f"{p.x}（{p.series}）"}[chart.chart_id]
    return f"{what}：{value}" + (" [REVIEW_NEEDED]" if p.flags else "")


def _bar_label(chart: ChartData, p: Point) -> str:
    if p.y is None:
        return "缺值 [REVIEW_NEEDED]"
    if chart.chart_id in (SHARES, EXPOSURE):
        return f"{p.label} {pct(p.y)}".strip()
    return ""


def _title(chart: ChartData) -> alt.TitleParams:
    subtitle = [chart.source_zh]
    if chart.flagged_points:
        subtitle.append("紅框：來源資料帶有檢核旗標，需人工審核 [REVIEW_NEEDED]")
    return alt.TitleParams(chart.title_zh, subtitle=subtitle, anchor="start", fontSize=15, subtitleFontSize=11,
                           subtitleColor="#555")


def _flag_stroke() -> dict[str, Any]:
    return {"stroke": alt.condition("datum.flagged", alt.value(REVIEW_COLOR), alt.value(None)),
            "strokeWidth": alt.condition("datum.flagged", alt.value(2.5), alt.value(0))}


def _color(chart: ChartData) -> alt.Color:
    return alt.Color("series:N", title=chart.series_title, sort=chart.series_order,
                     scale=alt.Scale(domain=chart.series_order, range=PALETTE[:max(1, len(chart.series_order))]),
                     legend=alt.Legend(orient="bottom", direction="horizontal", columns=6))


def _line(chart: ChartData) -> alt.TopLevelMixin:
    data = alt.Data(values=_values(chart, YI))
    x = alt.X("x:O", title=chart.x_title, sort=chart.x_order, scale=alt.Scale(domain=chart.x_order),
              axis=alt.Axis(labelAngle=-45))
    y = alt.Y("y:Q", title=chart.y_title, axis=alt.Axis(format=",.0f"))
    base = alt.Chart(data)
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#888").encode(y="zero:Q")
    # a missing month breaks the line (never bridged, never drawn as zero)
    lines = base.mark_line(strokeWidth=2, invalid="break-paths-show-domains").encode(
        x=x, y=y, color=_color(chart), detail="series:N", description=alt.value(None))
    points = base.mark_point(filled=True, size=36).encode(
        x=x, y=y, color=_color(chart), order="seq:Q", description="desc:N", **_flag_stroke())
    return alt.layer(zero, lines, points).properties(width=WIDTH, height=300)


def _hhi(chart: ChartData) -> alt.TopLevelMixin:
    data = alt.Data(values=_values(chart))
    x = alt.X("x:N", title=chart.x_title, sort=chart.x_order, scale=alt.Scale(domain=chart.x_order),
              axis=alt.Axis(labelAngle=0, labelLimit=120))
    bars = alt.Chart(data).mark_bar(invalid="break-paths-show-domains").encode(
        x=x, xOffset=alt.XOffset("series:N", sort=chart.series_order), y=alt.Y("y:Q", title=chart.y_title),
        color=_color(chart), order="seq:Q", description="desc:N", **_flag_stroke())
    bands = [{"band": contract.HHI_LOW_BELOW, "text": "中度集中"}, {"band": contract.HHI_HIGH_ABOVE, "text": "高度集中"}]
    rules = alt.Chart(alt.Data(values=bands)).mark_rule(strokeDash=[4, 4], color="#888").encode(y="band:Q")
    labels = alt.Chart(alt.Data(values=bands)).mark_text(align="right", dy=-6, color="#555", fontSize=10).encode(
        y="band:Q", x=alt.value(WIDTH), text="text:N")
    return alt.layer(bars, rules, labels).properties(width=WIDTH, height=300)


def _hbars(chart: ChartData) -> alt.TopLevelMixin:
    data = alt.Data(values=_values(chart))
    rows = max(1, len(chart.points))
    y = alt.Y("x:N", title=None, sort=chart.x_order, scale=alt.Scale(domain=chart.x_order),
              axis=alt.Axis(labelLimit=220))
    offset = alt.YOffset("series:N", sort=chart.series_order)
    x = alt.X("y:Q", title=chart.y_title, axis=alt.Axis(format=".0f"))
    bars = alt.Chart(data).mark_bar(invalid="break-paths-show-domains").encode(
        y=y, yOffset=offset, x=x, color=_color(chart), order="seq:Q", description="desc:N", **_flag_stroke())
    text = alt.Chart(data).mark_text(align="left", dx=3, fontSize=10, color="#333").encode(
        y=y, yOffset=offset, x=alt.X("y:Q"), text="text:N", description=alt.value(None))
    return alt.layer(bars, text).properties(width=WIDTH - 180, height=max(160, 15 * rows))


LAYOUTS = {US_BALANCE: _line, HHI: _hhi, SHARES: _hbars, EXPOSURE: _hbars}


def chart_spec(chart: ChartData, description: str) -> dict[str, Any]:
    """The Vega-Lite spec (a plain dict) of a chart."""
    layer = LAYOUTS[chart.chart_id](chart)
    spec = (layer.properties(title=_title(chart), description=description, background="white",
                             padding={"left": 10, "right": 24, "top": 10, "bottom": 10})
            .configure(font=FONT_STACK)
            .configure_view(stroke=None)
            .configure_axis(labelFontSize=11, titleFontSize=12, grid=True, gridColor="#e6e6e6")
            .configure_legend(labelFontSize=11, titleFontSize=12, symbolType="square"))
    return spec.to_dict(validate=True)


def render_svg(chart: ChartData, description: str) -> str:
    """The chart's SVG text."""
    prepare_fonts()
    spec = chart_spec(chart, description)
    svg = vlc.vegalite_to_svg(json.dumps(spec, ensure_ascii=False, sort_keys=True))
    return svg if svg.endswith("\n") else svg + "\n"


