"""Chart rules on small hand-made weeks: flags travel to the points they touch and are drawn, missing values are kept
(as NULL, flagged) and never drawn as zero, the optional exposure chart draws when its table exists and skips
cleanly when it does not, and scraped text stays text in the SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from trade_pipeline.core import contract
from trade_pipeline.defs.briefing_charts.data import WeekTables, build_charts
from trade_pipeline.defs.briefing_charts.render import REVIEW_COLOR, render_svg

KEY, WEEK = "2026-01-26", "2026-W05"


def _census(cty: str, name: str, flow: str, month: int, value, flags: str = "") -> dict:
    return {
        "cty_code": cty,
        "cty_name": name.upper(),
        "cty_name_zh": name,
        "flow": flow,
        "year": 2025,
        "month": month,
        "hs2": "TOTAL",
        "value_usd": value,
        "review_flags": flags,
    }


def _week(census: list[dict], exposure: list[dict] | None = None, key: str = KEY, iso_week: str = WEEK) -> WeekTables:
    tables = WeekTables(
        key,
        iso_week,
        {
            contract.CENSUS_MONTHLY_FLOWS: census,
            contract.CENSUS_TRADE_BALANCE: [
                {
                    "cty_code": "5700",
                    "cty_name": "CHINA",
                    "cty_name_zh": "中國",
                    "year": 2025,
                    "through_month": 2,
                    "hs2": "TOTAL",
                    "balance_usd": -3.0e10,
                    "review_flags": "",
                }
            ],
            contract.MARKET_CONCENTRATION: [],
            contract.PARTNER_RANKINGS: [],
        },
    )
    if exposure is not None:
        tables.rows_by_table[contract.POLICY_TRADE_EXPOSURE] = exposure
    return tables


def _chart(tables: WeekTables, chart_id: str):
    return next(c for c in build_charts(tables) if c.chart_id == chart_id)


def test_quality_flags_mark_a_balance_point_and_notices_do_not() -> None:
    chart = _chart(
        _week(
            [
                _census("5700", "中國", "export", 1, 1.0e10),
                _census("5700", "中國", "import", 1, 2.5e10, "mom_gt_30pct"),
                _census("5700", "中國", "export", 2, 1.2e10, "partial_fetch"),
                _census("5700", "中國", "import", 2, 2.0e10),
            ]
        ),
        "us_balance_monthly",
    )
    jan, feb = chart.points
    assert (jan.x, jan.y, jan.flags) == ("2025-01", 1.0e10 - 2.5e10, ())  # a notice stays on its own row
    assert (feb.x, feb.y, feb.flags) == ("2025-02", 1.2e10 - 2.0e10, ("partial_fetch",))
    zh, en = chart.alt_texts()
    assert "[REVIEW_NEEDED]" in zh and "[REVIEW_NEEDED]" in en
    svg = render_svg(chart, zh)
    labels = [el.get("aria-label") for el in ET.fromstring(svg).iter() if el.get("aria-roledescription") == "point"]
    assert sorted(labels) == ["中國 2025-01：USD -150 億", "中國 2025-02：USD -80 億 [REVIEW_NEEDED]"]
    assert REVIEW_COLOR in svg and "需人工審核" in svg


def test_a_missing_value_or_flow_is_stored_flagged_and_never_drawn_as_zero() -> None:
    chart = _chart(
        _week(
            [
                _census("5700", "中國", "export", 1, 1.0e10),
                _census("5700", "中國", "import", 1, 2.5e10),
                _census("5700", "中國", "export", 2, None, "value_missing"),
                _census("5700", "中國", "import", 2, 2.0e10),
                _census("5700", "中國", "export", 3, float("nan")),
                _census("5700", "中國", "import", 3, 2.0e10),
                _census("5700", "中國", "export", 4, 1.0e10),  # April's import row is absent
            ]
        ),
        "us_balance_monthly",
    )
    by_month = {p.x: p for p in chart.points}
    assert set(by_month) == {"2025-01", "2025-02", "2025-03", "2025-04"}  # nothing dropped
    assert by_month["2025-02"].y is None and "value_missing" in by_month["2025-02"].flags
    assert by_month["2025-03"].y is None and "value_not_finite" in by_month["2025-03"].flags
    assert by_month["2025-04"].y is None and "series_missing" in by_month["2025-04"].flags
    for code in ("value_not_finite", "series_missing", "missing_value"):
        assert code in contract.FLAGS  # every flag a chart sets is registered, with reader-facing words
    svg = render_svg(chart, chart.alt_texts()[0])
    points = [el.get("aria-label") for el in ET.fromstring(svg).iter() if el.get("aria-roledescription") == "point"]
    assert points == ["中國 2025-01：USD -150 億"]  # the other months have no mark, and no zero
    texts = [t.text for t in ET.fromstring(svg).iter() if t.tag.endswith("text")]
    assert texts.count("缺值") == 3  # … but the word 缺值 in red where each missing point would be
    assert chart.key is not None and "[REVIEW_NEEDED]" in chart.alt_texts()[0]
    # without a year-to-date row there is no key figure: the alt text says what the chart shows, with no figure
    no_key = _week(_week([]).rows(contract.CENSUS_MONTHLY_FLOWS))
    no_key.rows_by_table[contract.CENSUS_MONTHLY_FLOWS] = [
        _census("5700", "中國", "export", 1, 1.0e10),
        _census("5700", "中國", "import", 1, 2.5e10),
    ]
    no_key.rows_by_table[contract.CENSUS_TRADE_BALANCE] = []
    chart = _chart(no_key, "us_balance_monthly")
    assert chart.key is None and chart.alt_texts()[0].startswith("圖為 2025 年 1 月至 2025 年 1 月")


def test_exposure_chart_skips_cleanly_without_its_table_and_draws_with_it() -> None:
    absent = _chart(_week([]), "policy_exposure")
    assert absent.skip_reason and absent.source_absent and absent.points == []
    incomplete = _chart(_week([], exposure=[{"hs6": "850760"}]), "policy_exposure")
    assert incomplete.skip_reason and "缺少欄位" in incomplete.skip_reason and not incomplete.source_absent

    def row(measure: int, hs6: str, item: str, share, flags: str = "") -> dict:
        return {
            "row_key": f"mofcom-{measure}|{hs6}",
            "doc_number_zh_tw": f"公告第{measure}號",
            "hs6": hs6,
            "hs6_desc_zh_tw": item,
            "cn_share_of_us_imports_pct": share,
            "us_import_year": 2025,
            "us_import_through_month": 11,
            "review_flags": flags,
        }

    rows = [
        row(1178, "850760", "鋰離子蓄電池", 71.25),
        row(1177, "280530", "<script>alert(1)</script>", 35.5, "partial_fetch"),
        row(1171, "280530", "<script>alert(1)</script>", 35.5),  # the same code under a second measure: one bar
        row(1180, "", "", None, "no_hs_mapping"),  # a measure without a code: no trade figure to chart
    ]
    chart = _chart(_week([], exposure=rows), "policy_exposure")
    assert chart.skip_reason is None and [p.y for p in chart.points] == [71.25, 35.5]
    assert chart.key.value == 71.25 and chart.key.text_zh == "71.25%" and "71.25%" in chart.alt_texts()[0]
    assert "2025 年 1-11 月" in chart.alt_texts()[0]
    # the bar of a code listed twice carries the flags of both rows, and points at the first by row key
    assert (
        chart.points[1].flags == ("partial_fetch",)
        and chart.points[1].source_row_key["row_key"] == "mofcom-1171|280530"
    )
    # two measures disagreeing about one code: two bars, each named with its measure
    split = _chart(
        _week([], exposure=[row(1177, "280530", "稀土", 35.5), row(1171, "280530", "稀土", 30.0)]), "policy_exposure"
    )
    assert [p.x for p in split.points] == ["HS 280530 稀土（公告第1177號）", "HS 280530 稀土（公告第1171號）"]
    svg = render_svg(chart, chart.alt_texts()[0])
    root = ET.fromstring(svg)  # scraped text is escaped text in the SVG, never markup
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert any("<script>alert(1)</script>" in (t.text or "") for t in root.iter() if t.tag.endswith("text"))


def test_charts_differing_only_in_a_value_are_drawn_apart(monkeypatch) -> None:  # noqa: ANN001
    """The step's SVG memo (``drawn``) is keyed by everything a chart is drawn from: an identical chart of another
    week (its points' source cells name that week's rows) is converted once, a revised value or a new flag is a new
    drawing."""
    from trade_pipeline.defs.briefing_charts import render

    converted = []
    real = render.vlc.vegalite_to_svg
    monkeypatch.setattr(render.vlc, "vegalite_to_svg", lambda spec: converted.append(1) or real(spec))
    rows = [_census("5700", "中國", "export", 1, 1.0e10), _census("5700", "中國", "import", 1, 2.5e10)]
    revised = [dict(rows[0]), dict(rows[1], value_usd=2.6e10)]
    flagged = [dict(rows[0]), dict(rows[1], review_flags="partial_fetch")]
    first = _chart(_week(rows), "us_balance_monthly")
    again = _chart(_week([dict(r) for r in rows], key="2026-02-02", iso_week="2026-W06"), "us_balance_monthly")
    assert again.points[0].source_row_key != first.points[0].source_row_key  # another week's cells, same drawing
    second = _chart(_week(revised), "us_balance_monthly")
    third = _chart(_week(flagged), "us_balance_monthly")
    drawn: dict = {}
    svg1, svg2 = render_svg(first, "同一圖說", drawn), render_svg(second, "同一圖說", drawn)
    assert svg1 != svg2 and "USD -160 億" in svg2 and len(converted) == 2
    assert render_svg(again, "同一圖說", drawn) == svg1 and len(converted) == 2  # drawn once
    svg3 = render_svg(third, "同一圖說", drawn)
    assert svg3 != svg1 and REVIEW_COLOR in svg3 and len(converted) == 3
    render_svg(first, "另一圖說", drawn)
    assert len(converted) == 4  # the description is part of the spec: another key
    assert render_svg(first, "同一圖說") == svg1 and len(converted) == 5  # no memo given: converted again
