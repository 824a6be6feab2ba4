"""Taiwan from mirror statistics (tiny crafted wire rows) and country names in Traditional Chinese."""

from __future__ import annotations

import polars as pl
import pytest

from trade_pipeline.defs.bilateral_trade_flows import metrics
from trade_pipeline.defs.bilateral_trade_flows.codes import area_name_zh
from trade_pipeline.defs.bilateral_trade_flows.parse import mirror_flow_rows, partner_flows_frame
from trade_pipeline.defs.bilateral_trade_flows.resources import FetchResult


def wire(reporter: int, iso: str, desc: str, flow: str, value: float, year: int = 2024, partner: int = 490) -> dict:
    return {
        "reporterCode": reporter,
        "reporterISO": iso,
        "reporterDesc": desc,
        "flowCode": flow,
        "refYear": year,
        "period": str(year),
        "partnerCode": partner,
        "partnerISO": "S19",
        "partnerDesc": "Other Asia, nes",
        "partner2Code": 0,
        "cmdCode": "TOTAL",
        "customsCode": "C00",
        "motCode": 0,
        "primaryValue": value,
        "cifvalue": value if flow == "M" else None,
        "fobvalue": value if flow == "X" else None,
        "isReported": True,
        "isAggregate": False,
        "legacyEstimationFlag": 0,
    }


MIRROR_ROWS = [
    wire(842, "USA", "USA", "M", 116.0),  # the US imports 116 from Taiwan -> Taiwan exports 116 to the US
    wire(842, "USA", "USA", "X", 42.0),  # the US exports 42 to Taiwan -> Taiwan imports 42 from the US
    wire(392, "JPN", "Japan", "M", 34.0),
    wire(392, "JPN", "Japan", "X", 50.0),
    wire(704, "VNM", "Viet Nam", "M", 10.0),
    wire(97, "EUR", "European Union", "M", 999.0),  # a reporter group: would double count its members
    wire(276, "DEU", "Germany", "M", 777.0),  # not released by the as-of instant (below)
    wire(484, "MEX", "Mexico", "M", 5.0, partner=0),  # not trade with 490
]
RELEASED = {(842, 2024), (392, 2024), (704, 2024), (97, 2024)}


def mirror_frame() -> pl.DataFrame:
    result = FetchResult(
        "mirror", "preview", "GET x?partnerCode=490", "rid", "2026-02-16T08:00:00+00:00", MIRROR_ROWS, len(MIRROR_ROWS)
    )
    return partner_flows_frame(mirror_flow_rows(result, RELEASED))


def test_mirror_swaps_direction_and_relabels_reporter_as_taiwan_158() -> None:
    flows = mirror_frame()
    got = {(r["partner_code"], r["flow"]): r for r in flows.iter_rows(named=True)}
    assert set(got) == {(842, "X"), (842, "M"), (392, "X"), (392, "M"), (704, "X")}
    assert got[(842, "X")]["primary_value_usd"] == 116.0 and got[(842, "X")]["source_flow"] == "M"
    assert got[(842, "M")]["primary_value_usd"] == 42.0 and got[(842, "M")]["source_flow"] == "X"
    assert got[(392, "X")]["primary_value_usd"] == 34.0 and got[(392, "M")]["primary_value_usd"] == 50.0
    for r in got.values():
        assert r["reporter_code"] == 158 and r["reporter_name_zh"] == "台灣"
        assert r["source_kind"] == "mirror" and r["source_reporter_code"] == r["partner_code"]
    assert got[(842, "X")]["partner_name_zh"] == "美國" and got[(704, "X")]["partner_name_zh"] == "越南"


def test_mirror_metrics_are_labelled_mirror_with_reduced_confidence() -> None:
    flows = mirror_frame()
    conc = metrics.concentration(flows)
    x = conc.filter(pl.col("flow") == "X").row(0, named=True)
    assert x["reporter_code"] == 158 and x["is_mirror"] and x["source_kind"] == "mirror"
    total = 116 + 34 + 10
    assert x["total_usd"] == total and x["partner_count"] == 3
    assert x["hhi"] == pytest.approx(sum((v / total * 100) ** 2 for v in (116, 34, 10)))
    assert x["top3_partner_names_zh"] == "美國、日本、越南"
    # three partners are far from full coverage: 低, flagged; a well-covered mirror is 中, never 高
    assert x["confidence"] == "低" and "mirror_low_coverage" in x["review_flags"].split(";")
    assert metrics.confidence_for(158, True, "") == "中"
    assert metrics.confidence_for(490, False, "") == "中"  # 490 as reporter: Taiwan's own filing
    assert metrics.confidence_for(842, False, "") == "高"

    ranks = metrics.rankings(flows)
    assert ranks["is_mirror"].to_list() == [True] * ranks.height
    assert set(ranks["confidence"]) == {"低"}  # the same coverage rule as the concentration row
    assert all("mirror_low_coverage" in f.split(";") for f in ranks["review_flags"].to_list())
    bal = metrics.balances(flows).filter(pl.col("partner_code") == 842).row(0, named=True)
    assert (bal["export_usd"], bal["import_usd"], bal["balance_usd"], bal["balance_label"]) == (116, 42, 74, "順差")
    assert bal["is_mirror"]


@pytest.mark.parametrize(
    "code, name",
    [
        (124, "加拿大"),
        (484, "墨西哥"),
        (704, "越南"),
        (344, "香港"),
        (446, "澳門"),
        (156, "中國"),
        (392, "日本"),
        (410, "南韓"),
        (276, "德國"),
        (702, "新加坡"),
        # Comtrade codes that are not ISO 3166 numeric
        (842, "美國"),
        (251, "法國"),
        (699, "印度"),
        (757, "瑞士"),
        (579, "挪威"),
        # Taiwan's two codes, World and a nes area
        (490, "台灣"),
        (158, "台灣"),
        (0, "全世界"),
    ],
)
def test_country_names_in_traditional_chinese(code: int, name: str) -> None:
    assert area_name_zh(code) == name


def test_names_come_from_cldr_not_a_hand_list() -> None:
    from babel import Locale

    territories = Locale.parse("zh_Hant_TW").territories
    for code, alpha2 in ((124, "CA"), (484, "MX"), (704, "VN"), (36, "AU"), (643, "RU"), (528, "NL")):
        assert area_name_zh(code) == territories[alpha2]
    # an unknown numeric code still resolves through the wire's ISO alpha-3; else the English fallback
    assert area_name_zh(9999, "VNM") == "越南"
    assert area_name_zh(9998, None, "Atlantis") == "Atlantis"
    assert "特別行政區" not in area_name_zh(344) and "特別行政區" not in area_name_zh(446)


def test_every_current_comtrade_reporter_gets_a_chinese_name(realdata) -> None:
    """The real v1 Reporters.json (comtradr capture): each current country resolves by its numeric Comtrade code
    alone (no wire ISO text) to the CLDR name of its ISO alpha-3, never to an English fallback."""
    import json
    import re

    from trade_pipeline.defs.bilateral_trade_flows.codes import _zh_from_iso3

    path = realdata / "comtrade" / "reference" / "v1_Reporters.json"
    if not path.is_file():
        pytest.skip("Reporters.json absent")
    rows = [
        r
        for r in json.loads(path.read_text(encoding="utf-8-sig"))["results"]
        if not r.get("isGroup") and not r.get("entryExpiredDate")
    ]
    assert len(rows) > 200
    for r in rows:
        name = area_name_zh(r["reporterCode"])
        assert not re.search(r"[A-Za-z]", name) and not name.startswith("地區"), r
        assert name == _zh_from_iso3(r["reporterCodeIsoAlpha3"]), r
