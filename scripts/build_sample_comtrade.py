"""Build the embedded offline Comtrade sample: data/sample/captures/comtrade/*.json (deterministic, no network).

    .venv/bin/python scripts/build_sample_comtrade.py

What is real and what is filler is documented in data/sample/captures/comtrade/README.md:

- Main partners' annual values (USD bn) below are published national figures as recalled and rounded (US Census,
  China customs, Japan MOF, Korea KITA, Destatis converted at the annual EUR/USD rate, Taiwan MOF); where the
  seed report only had a 2023+2024 sum, the sum was split in proportion to the published annual figures.
  They are approximations, not bit-exact Comtrade records.
- 2022 (needed by the 2025 weeks: until a reporter's 2024 data appear, it uses 2022 and 2023) is filler derived
  from 2023 (world total × a factor in [1.00, 1.12), partners × a factor in [0.90, 1.10)), except the real Comtrade
  records of the comtradr vignette (ropensci/comtradr inst/extdata/vignette_data_{1,2}.rda, as in
  ../shared/realdata/raw/comtrade/comtradr_vignette/): US imports from Germany, Japan and Mexico and China's exports
  to Korea, Mexico and the US in 2022, carried below to the dollar.
- Everything else (small partners, nes/special areas, HS2 chapters outside the top ones, mirror reporters other
  than the five targets, release dates) is deterministic filler: a SHA-256 of the keys drives it, so every run
  writes byte-identical files. Release dates move through the year: each reporter's year Y appears between March
  and mid-September of Y+1, so the 2025 weeks switch from 2022/2023 to 2023/2024 reporter by reporter.

Queries are built with the client's own parameter builders, so replay keys match what the client sends.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pycountry  # noqa: E402

from trade_pipeline.core.http import CAPTURE_FORMAT, CaptureStore, request_key  # noqa: E402
from trade_pipeline.core.partitions import FIRST_WEEK_START  # noqa: E402
from trade_pipeline.defs.bilateral_trade_flows.codes import COMTRADE_TO_ISO_NUMERIC, HS2_CODES  # noqa: E402
from trade_pipeline.defs.bilateral_trade_flows.fetch import candidate_years  # noqa: E402
from trade_pipeline.defs.bilateral_trade_flows.resources import (  # noqa: E402
    AVAILABILITY_PATH,
    DEFAULT_BASE_URL,
    PREVIEW_PATH,
    availability_params,
    hs2_world_params,
    mirror_params,
    partner_totals_params,
)

OUT = ROOT / "data" / "sample" / "captures" / "comtrade"
# Every reply was "recorded" at one instant, as a backfill run today would fetch today's data; which reporter-years a
# week may use is decided by the availability list's firstReleased dates (point in time), not by this stamp.
RECORDED_AT = "2026-02-16T08:00:00+00:00"
YEARS = (2022, 2023, 2024)
BASE_YEAR = 2023  # the year the published tables below are anchored on; 2022 and 2024 filler follow its shape
LAST_WEEK_START = "2026-02-16"  # ISO 2026-W08, the sample's last as-of week
WEEKS = [
    (date.fromisoformat(FIRST_WEEK_START) + timedelta(days=7 * i)).isoformat()
    for i in range((date.fromisoformat(LAST_WEEK_START) - date.fromisoformat(FIRST_WEEK_START)).days // 7 + 1)
]

REPORTERS = {
    842: ("USA", "USA"),
    156: ("CHN", "China"),
    392: ("JPN", "Japan"),
    410: ("KOR", "Rep. of Korea"),
    276: ("DEU", "Germany"),
    490: ("S19", "Other Asia, nes"),
}
# Comtrade spellings of partners that appear in the published tables below
COMTRADE_NAMES = {
    842: "USA",
    410: "Rep. of Korea",
    344: "China, Hong Kong SAR",
    446: "China, Macao SAR",
    490: "Other Asia, nes",
    643: "Russian Federation",
    704: "Viet Nam",
    784: "United Arab Emirates",
    826: "United Kingdom",
    528: "Netherlands",
    757: "Switzerland",
    203: "Czechia",
    699: "India",
    251: "France",
    579: "Norway",
}

# ---- published annual values, USD bn: {reporter: {flow: {"world": (2023, 2024), partner: (2023, 2024)}}} ---------
PUBLISHED: dict[int, dict[str, dict[object, tuple[float, float]]]] = {
    842: {
        "X": {
            "world": (2019.5, 2064.6),
            124: (353.3, 349.4),
            484: (323.2, 334.0),
            156: (147.8, 143.5),
            392: (75.7, 79.7),
            276: (76.6, 75.6),
            826: (74.3, 79.9),
            528: (84.0, 90.7),
            410: (65.1, 66.2),
            76: (44.0, 49.7),
            490: (40.0, 42.3),
            702: (43.1, 46.0),
            699: (40.0, 41.8),
            251: (41.5, 45.4),
        },
        "M": {
            "world": (3168.5, 3358.3),
            484: (479.7, 510.3),
            156: (449.0, 461.6),
            124: (428.4, 422.4),
            276: (164.0, 165.2),
            392: (151.6, 152.6),
            410: (118.8, 135.4),
            704: (118.3, 141.2),
            490: (90.4, 119.8),
            699: (86.3, 90.0),
            372: (82.6, 104.0),
            380: (78.3, 78.6),
            757: (65.2, 64.0),
            826: (66.2, 70.1),
        },
    },
    156: {
        "X": {
            "world": (3380.0, 3577.3),
            842: (500.3, 524.7),
            344: (276.3, 289.1),
            392: (157.5, 152.0),
            410: (149.0, 146.2),
            704: (137.6, 161.9),
            699: (117.7, 120.5),
            643: (111.0, 115.5),
            276: (100.7, 107.0),
            528: (100.5, 91.1),
            458: (87.4, 101.5),
            484: (81.5, 90.2),
            826: (79.4, 81.4),
            702: (76.9, 80.0),
            764: (75.7, 86.0),
            36: (74.3, 72.1),
            490: (68.5, 74.0),
            360: (65.2, 72.4),
        },
        "M": {
            "world": (2556.8, 2586.9),
            490: (199.2, 217.9),
            410: (166.1, 177.1),
            842: (165.1, 164.6),
            392: (160.2, 156.5),
            36: (158.9, 137.5),
            643: (129.1, 129.8),
            76: (122.4, 116.1),
            276: (106.3, 94.9),
            458: (101.7, 112.4),
            704: (92.2, 95.8),
            360: (65.0, 67.0),
            682: (60.3, 56.0),
        },
    },
    392: {
        "X": {
            "world": (717.3, 707.2),
            842: (145.6, 141.1),
            156: (126.0, 125.1),
            410: (47.5, 45.7),
            490: (42.7, 43.6),
            344: (30.7, 30.8),
            764: (28.4, 26.0),
            702: (21.8, 22.5),
            704: (20.5, 21.5),
            276: (19.9, 18.7),
        },
        "M": {
            "world": (785.8, 742.4),
            156: (171.1, 164.1),
            842: (81.9, 79.1),
            36: (65.4, 57.0),
            784: (38.4, 35.4),
            682: (33.7, 30.8),
            490: (33.8, 34.8),
            410: (31.3, 30.6),
            704: (26.7, 27.4),
            276: (27.9, 24.7),
            764: (25.5, 25.0),
        },
    },
    410: {
        "X": {
            "world": (632.2, 683.6),
            156: (124.8, 133.0),
            842: (116.3, 128.4),
            704: (53.5, 58.3),
            392: (29.0, 29.6),
            344: (21.1, 31.6),
            490: (20.1, 24.4),
            699: (17.9, 18.7),
        },
        "M": {
            "world": (642.6, 632.0),
            156: (140.2, 142.5),
            842: (71.2, 73.0),
            392: (47.7, 47.5),
            36: (39.1, 33.6),
            682: (32.9, 31.6),
            704: (26.9, 27.9),
            490: (23.0, 27.1),
            276: (21.1, 20.5),
        },
    },
    276: {  # Destatis EUR figures at 1.081 (2023) / 1.082 (2024) USD per EUR
        "X": {
            "world": (1702.6, 1683.6),
            842: (170.7, 174.5),
            251: (130.0, 127.6),
            528: (120.2, 119.5),
            156: (105.2, 97.4),
            616: (105.7, 107.7),
            380: (101.0, 96.7),
            40: (102.4, 94.8),
            826: (86.1, 89.5),
            757: (72.9, 73.5),
            203: (64.0, 61.0),
            56: (62.3, 58.4),
            724: (56.0, 57.8),
        },
        "M": {
            "world": (1476.6, 1423.9),
            156: (169.9, 169.0),
            528: (111.4, 106.5),
            842: (102.4, 98.9),
            616: (88.0, 88.5),
            380: (75.7, 73.2),
            251: (75.3, 72.9),
            203: (70.3, 69.3),
            757: (66.0, 63.0),
            40: (59.5, 56.3),
            56: (55.0, 52.0),
        },
    },
    490: {
        "X": {
            "world": (432.4, 475.1),
            156: (99.2, 98.9),
            842: (76.2, 111.4),
            344: (53.1, 51.8),
            392: (31.6, 32.9),
            702: (27.4, 32.4),
            410: (21.5, 26.8),
            458: (13.8, 14.9),
            704: (12.5, 13.3),
        },
        "M": {
            "world": (351.9, 394.8),
            156: (64.3, 74.7),
            392: (46.0, 48.0),
            842: (40.6, 44.5),
            410: (25.0, 33.1),
            36: (16.4, 14.1),
            458: (14.9, 16.7),
            682: (11.6, 11.2),
            276: (10.9, 11.0),
        },
    },
}

# Approximate HS2 shares (%) of the top chapters per reporter × flow; the rest is filler.
HS2_TOP: dict[tuple[int, str], dict[str, float]] = {
    (842, "X"): {"27": 15, "84": 11.5, "85": 8.5, "87": 7, "88": 6.5, "90": 5.5, "30": 5, "71": 4, "39": 3.5},
    (842, "M"): {"84": 15, "85": 14, "87": 12, "30": 6, "27": 6, "90": 4, "71": 3, "94": 2.5, "39": 2.5},
    (156, "X"): {"85": 26, "84": 16.5, "87": 4.5, "39": 3.5, "94": 3.3, "73": 3, "72": 2.7, "90": 2.5, "95": 2.3},
    (156, "M"): {"85": 24, "27": 20, "26": 8, "84": 7, "90": 4, "29": 3, "12": 2.5, "71": 2.5, "87": 2},
    (392, "X"): {"87": 22, "84": 19, "85": 15, "90": 5, "72": 4, "39": 3.5, "71": 2.5, "38": 2.5, "29": 2},
    (392, "M"): {"27": 24, "85": 15, "84": 9, "30": 5, "26": 3, "90": 3, "87": 3, "29": 2.5, "03": 2},
    (410, "X"): {"85": 30, "87": 12, "84": 11, "27": 7.5, "39": 4.5, "72": 4.5, "89": 3.5, "29": 3, "90": 2.5},
    (410, "M"): {"27": 26, "85": 19, "84": 10, "26": 4, "29": 3, "90": 3, "87": 3, "72": 2.5, "28": 2},
    (276, "X"): {"84": 17, "87": 17, "85": 11, "30": 8, "90": 5.5, "39": 4, "29": 3, "88": 2.5, "73": 2.5},
    (276, "M"): {"85": 13, "84": 12, "87": 10, "27": 9, "30": 7, "90": 4, "39": 3.5, "29": 3, "88": 2},
    (490, "X"): {"85": 60, "84": 18, "90": 3, "39": 3, "72": 2, "27": 1.5, "73": 1.5, "29": 1.5, "87": 1.2},
    (490, "M"): {"85": 35, "84": 20, "27": 17, "90": 4, "29": 2.5, "87": 2, "72": 2, "71": 2, "26": 1.5},
}
HS2_DESC = {  # Comtrade-style English titles of the chapters that carry published shares; others are filler text
    "03": "Fish and crustaceans, molluscs and other aquatic invertebrates",
    "12": "Oil seeds and oleaginous fruits; miscellaneous grains, seeds and fruit",
    "26": "Ores, slag and ash",
    "27": "Mineral fuels, mineral oils and products of their distillation",
    "28": "Inorganic chemicals",
    "29": "Organic chemicals",
    "30": "Pharmaceutical products",
    "38": "Chemical products n.e.c.",
    "39": "Plastics and articles thereof",
    "71": "Natural, cultured pearls; precious stones and metals",
    "72": "Iron and steel",
    "73": "Iron or steel articles",
    "84": "Nuclear reactors, boilers, machinery and mechanical appliances; parts thereof",
    "85": "Electrical machinery and equipment and parts thereof",
    "87": "Vehicles; other than railway or tramway rolling stock, and parts and accessories thereof",
    "88": "Aircraft, spacecraft and parts thereof",
    "89": "Ships, boats and floating structures",
    "90": "Optical, photographic, cinematographic, measuring, checking, medical or surgical instruments",
    "94": "Furniture; bedding, mattresses, cushions; lamps; prefabricated buildings",
    "95": "Toys, games and sports requisites",
}
SPECIAL_AREAS = {
    899: ("_X ", "Areas, nes", 0.0030),
    839: ("XX", "Special Categories", 0.0010),
    837: ("X1", "Bunkers", 0.0006),
    568: ("E19", "Other Europe, nes", 0.0002),
}
ISO_EXCLUDED = {"TW", "AQ", "BV", "HM", "UM", "CX", "CC", "GS", "IO", "TF", "SJ", "AX", "BQ", "EH"}
ISO_TO_COMTRADE = {iso: ct for ct, iso in COMTRADE_TO_ISO_NUMERIC.items() if ct != 490}


def u(*keys: object) -> float:
    """Deterministic uniform [0, 1) from the keys."""
    digest = hashlib.sha256("|".join(map(str, keys)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def universe() -> dict[int, tuple[str, str]]:
    """Comtrade partner code -> (ISO3, name) for every country the sample uses (pycountry + Comtrade codes)."""
    out = {}
    for c in pycountry.countries:
        if c.alpha_2 in ISO_EXCLUDED:
            continue
        num = int(c.numeric)
        code = ISO_TO_COMTRADE.get(num, num)
        out[code] = (c.alpha_3, COMTRADE_NAMES.get(code, getattr(c, "common_name", None) or c.name))
    out[490] = ("S19", "Other Asia, nes")
    return dict(sorted(out.items()))


UNIVERSE = universe()


def row(
    reporter: int,
    flow: str,
    year: int,
    partner: int,
    value: float,
    cmd: str = "TOTAL",
    cmd_desc: str = "All Commodities",
    reporter_meta: tuple[str, str] | None = None,
) -> dict:
    r_iso, r_desc = reporter_meta or REPORTERS.get(reporter) or UNIVERSE[reporter]
    if partner == 0:
        p_iso, p_desc = "W00", "World"
    elif partner in SPECIAL_AREAS:
        p_iso, p_desc = SPECIAL_AREAS[partner][:2]
    else:
        p_iso, p_desc = UNIVERSE[partner]
    value = float(round(value))
    return {
        "typeCode": "C",
        "freqCode": "A",
        "refPeriodId": year * 10000 + 101,
        "refYear": year,
        "refMonth": 52,
        "period": str(year),
        "reporterCode": reporter,
        "reporterISO": r_iso,
        "reporterDesc": r_desc,
        "flowCode": flow,
        "flowDesc": "Export" if flow == "X" else "Import",
        "partnerCode": partner,
        "partnerISO": p_iso,
        "partnerDesc": p_desc,
        "partner2Code": 0,
        "partner2ISO": "W00",
        "partner2Desc": "World",
        "classificationCode": "H6" if year >= 2022 else "H5",
        "classificationSearchCode": "HS",
        "isOriginalClassification": True,
        "cmdCode": cmd,
        "cmdDesc": cmd_desc,
        "aggrLevel": 0 if cmd == "TOTAL" else 2,
        "isLeaf": False,
        "customsCode": "C00",
        "customsDesc": "TOTAL CPC",
        "mosCode": "0",
        "motCode": 0,
        "motDesc": "TOTAL MOT",
        "qtyUnitCode": -1,
        "qtyUnitAbbr": "N/A",
        "qty": None,
        "isQtyEstimated": False,
        "altQtyUnitCode": -1,
        "altQtyUnitAbbr": "N/A",
        "altQty": None,
        "isAltQtyEstimated": False,
        "netWgt": None,
        "isNetWgtEstimated": False,
        "grossWgt": None,
        "isGrossWgtEstimated": False,
        "cifvalue": value if flow == "M" else None,
        "fobvalue": value if flow == "X" else None,
        "primaryValue": value,
        "legacyEstimationFlag": 0,
        "isReported": True,
        "isAggregate": False,
    }


# Filler shape only: larger trading economies first (roughly by goods trade), so the tail looks plausible.
LARGER_ECONOMIES = (
    842,
    156,
    276,
    392,
    410,
    251,
    826,
    528,
    380,
    124,
    484,
    699,
    757,
    56,
    724,
    702,
    344,
    764,
    458,
    704,
    36,
    616,
    40,
    203,
    752,
    372,
    784,
    682,
    643,
    76,
    360,
    608,
    208,
    246,
    348,
    792,
    376,
    710,
    32,
    152,
    620,
    642,
    579,
    554,
    170,
    604,
    818,
    586,
    50,
    566,
    12,
    398,
    634,
    414,
    512,
    48,
    364,
    368,
    804,
)


def filler(total: float, partners: list[int], known_min: float, salt: str) -> dict[int, float]:
    """Spread ``total`` over ``partners`` with a Zipf-like tail whose largest value stays below ``known_min``."""
    rank = {c: i for i, c in enumerate(LARGER_ECONOMIES)}
    order = sorted(partners, key=lambda p: rank.get(p, len(rank)) + 6 * u("order", salt.split("/")[0], p))
    offset = 12
    s = 1.3
    while True:
        weights = [(i + 1 + offset) ** -s * (0.85 + 0.3 * u("jit", salt, p)) for i, p in enumerate(order)]
        scale = total / sum(weights)
        if max(weights) * scale < 0.9 * known_min or s <= 0.05:
            return {p: w * scale for p, w in zip(order, weights)}
        s -= 0.05


# REAL: Comtrade records for 2022 (primaryValue, USD) from the comtradr vignette data (ropensci/comtradr
# inst/extdata/vignette_data_1.rda and vignette_data_2.rda, e2300df1; ../shared/realdata/raw/comtrade/comtradr_vignette/).
REAL_2022_USD: dict[tuple[int, str], dict[int, float]] = {
    (842, "M"): {276: 150408499381.0, 392: 154445161543.0, 484: 459177656357.0},
    (156, "X"): {410: 162621428186.0, 484: 77534943659.0, 842: 582756110047.0},
}


def partner_values(reporter: int) -> dict[tuple[str, int], dict[int, float]]:
    """(flow, year) -> partner -> USD, including World (0) and the special areas."""
    out = {}
    for flow in ("X", "M"):
        table = PUBLISHED[reporter][flow]
        # ~200-230 partners: leave out a deterministic handful of small countries per reporter × flow
        candidates = [p for p in UNIVERSE if p != reporter and u("drop", reporter, flow, p) > 0.08]
        candidates = [p for p in candidates if not (reporter == 490 and p == 490)]
        known = {p: v for p, v in table.items() if p != "world"}
        fill_partners = [p for p in candidates if p not in known]
        for year in YEARS:
            if year == 2022:  # FILLER (2023 × a factor), except the real vignette records
                world = table["world"][0] * 1e9 * (1.0 + 0.12 * u("world2022", reporter, flow))
                real = REAL_2022_USD.get((reporter, flow), {})
                known_usd = {
                    p: real.get(p, v[0] * 1e9 * (0.9 + 0.2 * u("p2022", reporter, flow, p))) for p, v in known.items()
                }
            else:
                i = year - BASE_YEAR
                world = table["world"][i] * 1e9
                known_usd = {p: v[i] * 1e9 for p, v in known.items()}
            values: dict[int, float] = {0: world}
            special = 0.0
            for code, (_, _, share) in SPECIAL_AREAS.items():
                if u("special", reporter, flow, code) > 0.2:
                    values[code] = world * share * (0.8 + 0.4 * u("sv", reporter, flow, code, year))
                    special += values[code]
            values.update(known_usd)
            rest = world - special - sum(known_usd.values())
            assert rest > 0, (reporter, flow, year)
            # 2022 / 2024 filler follows 2023's shape with a per-partner growth factor, then matches the residual
            base = filler(rest, fill_partners, min(known_usd.values()), f"{reporter}/{flow}")
            if year != BASE_YEAR:
                salt = "growth" if year == 2024 else f"growth{year}"
                base = {p: v * (0.9 + 0.22 * u(salt, reporter, flow, p)) for p, v in base.items()}
                k = rest / sum(base.values())
                base = {p: v * k for p, v in base.items()}
            values.update(base)
            out[(flow, year)] = values
    return out


def hs2_values(reporter: int, flow: str, year: int, world: float) -> dict[str, float]:
    top = HS2_TOP[(reporter, flow)]
    keys = {2024: (), 2022: (2022,)}  # 2023 is the base year; the other years drift a little from its shares
    drift = {c: 1 + (0.06 * (u("hsd", reporter, flow, c, *keys[year]) - 0.5) if year in keys else 0) for c in HS2_CODES}
    covered = world * 0.995  # chapter 99 / unallocated remainder
    top_usd = {c: covered * s / 100 * drift[c] for c, s in top.items()}
    others = [c for c in HS2_CODES if c not in top]
    weights = {c: (0.05 + u("hsw", reporter, flow, c) ** 3) * drift[c] for c in others}
    rest = covered - sum(top_usd.values())
    return {**top_usd, **{c: rest * w / sum(weights.values()) for c, w in weights.items()}}


def capture(store: CaptureStore, path: str, params: list[tuple[str, str]], rows: list[dict], elapsed: str) -> None:
    url = DEFAULT_BASE_URL + path
    body = json.dumps(
        {"elapsedTime": elapsed, "count": len(rows), "data": rows, "error": ""},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    doc = {
        "format": CAPTURE_FORMAT,
        "source": "comtrade",
        "request": {"method": "GET", "url": url, "params": [list(p) for p in params], "form": None},
        "response": {"status": 200, "headers": {"content-type": "application/json; charset=utf-8"}, "body": body},
        "recorded_at": RECORDED_AT,
    }
    store.put(request_key("GET", url, params), doc)


def release_dates(reporter: int, year: int) -> tuple[str, str] | None:
    """firstReleased / lastReleased of an annual dataset, or None when it is not released by RECORDED_AT.

    FILLER dates: year Y appears between 1 March and mid-September of Y+1 (so every 2023 dataset is out before the
    first week, 2025-W02, and the 2024 datasets arrive one by one through 2025)."""
    if year >= 2025:
        return None  # nobody's 2025 annual data is out in the sample (weeks 2026-W01..W08 use 2023/2024)
    if reporter not in REPORTERS and year == 2024:
        roll = u("late", reporter)
        if roll < 0.07:
            return None  # a few small reporters have not released 2024 at all
        if roll < 0.12:  # released during the sample window: the Taiwan mirror gains them from 2026-W05 on
            first = datetime(2026, 1, 27, 9, 30) + timedelta(hours=int(48 * u("h", reporter)))
            return first.isoformat() + ".0000000", (first + timedelta(days=3)).isoformat() + ".0000000"
    start = datetime(year + 1, 3, 1) + timedelta(
        days=int(200 * u("first", reporter, year)), minutes=int(1440 * u("m", reporter))
    )
    last = start + timedelta(days=30 + int(150 * u("last", reporter, year)))
    return start.isoformat(timespec="microseconds") + "0", last.isoformat(timespec="microseconds") + "0"


def main(out: Path = OUT) -> None:
    if out.exists():
        for old in out.glob("*.json"):
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    store = CaptureStore(out)
    values = {r: partner_values(r) for r in REPORTERS}

    # 1. partner totals (1.7 recipe, preview): one capture per reporter × flow × year
    for reporter, per in values.items():
        for (flow, year), partners in per.items():
            rows = [row(reporter, flow, year, p, v) for p, v in sorted(partners.items())]
            capture(store, PREVIEW_PATH, partner_totals_params(reporter, [flow], [year], True), rows, "0.41 secs")

    # 2. HS2 chapters against World
    for reporter, per in values.items():
        for (flow, year), partners in per.items():
            hs = hs2_values(reporter, flow, year, partners[0])
            rows = []
            for code in HS2_CODES:
                r = row(
                    reporter,
                    flow,
                    year,
                    0,
                    hs[code],
                    cmd=code,
                    cmd_desc=HS2_DESC.get(code, f"HS chapter {code} (sample filler description)"),
                )
                r["isLeaf"] = False
                rows.append(r)
            capture(store, PREVIEW_PATH, hs2_world_params(reporter, [flow], [year], True), rows, "0.33 secs")

    # 3. mirror: every reporter's trade with partner 490 (reporterCode omitted)
    taiwan = values[490]
    for flow in ("X", "M"):
        taiwan_flow = "M" if flow == "X" else "X"  # P's exports to 490 = Taiwan's imports from P
        for year in YEARS:
            rows = []
            for reporter in UNIVERSE:
                if reporter == 490 or release_dates(reporter, year) is None:
                    continue
                if reporter in values:
                    value = values[reporter][(flow, year)].get(490)
                else:
                    if u("reports490", reporter) < 0.1:
                        continue  # some partners do not report trade with 490
                    tw = taiwan[(taiwan_flow, year)].get(reporter)
                    if tw is None:
                        continue
                    factor = (
                        (1.02 + 0.08 * u("cif", reporter, year))
                        if flow == "M"
                        else (0.90 + 0.09 * u("fob", reporter, year))
                    )
                    value = tw * factor
                if value:
                    rows.append(
                        row(
                            reporter,
                            flow,
                            year,
                            490,
                            value,
                            reporter_meta=REPORTERS.get(reporter) or UNIVERSE[reporter],
                        )
                    )
            capture(store, PREVIEW_PATH, mirror_params(490, [flow], [year], True), rows, "0.52 secs")

    # 4. data availability (getDa) for every reporter: one reply per set of candidate years the weeks ask for
    #    (2021-2024 for the 2025 weeks, 2022-2025 for the 2026 weeks)
    for da_years in sorted({tuple(candidate_years(week)) for week in WEEKS}):
        availability(store, da_years)
    print(f"wrote {len(list(out.glob('*.json')))} captures to {out}")


def availability(store: CaptureStore, da_years: tuple[int, ...]) -> None:
    da_rows = []
    for reporter in sorted(set(UNIVERSE) | set(REPORTERS)):
        iso, desc = REPORTERS.get(reporter) or UNIVERSE[reporter]
        for year in da_years:
            dates = release_dates(reporter, year)
            if dates is None:
                continue
            da_rows.append(
                {
                    "datasetCode": int(f"{reporter}{year}01"),
                    "typeCode": "C",
                    "freqCode": "A",
                    "period": str(year),
                    "reporterCode": reporter,
                    "reporterISO": iso,
                    "reporterDesc": desc,
                    "classificationCode": "H6",
                    "classificationSearchCode": "HS",
                    "isOriginalClassification": True,
                    "isExtendedFlow": True,
                    "isExtendedPartner": True,
                    "isExtendedPartner2": True,
                    "isExtendedCmd": True,
                    "isExtendedCustoms": True,
                    "isExtendedMot": True,
                    "totalRecords": 20000 + int(400000 * u("recs", reporter, year)),
                    "firstReleased": dates[0],
                    "lastReleased": dates[1],
                }
            )
    capture(store, AVAILABILITY_PATH, availability_params(da_years), da_rows, "0.12 secs")


if __name__ == "__main__":
    # replaces the folder's own *.json only (sub-folders, e.g. exposure/, belong to other builders)
    main(Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else OUT)
