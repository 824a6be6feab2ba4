#!/usr/bin/env python
"""Build the embedded offline sample of the exposure requests (deterministic, no network):

    data/sample/captures/comtrade/exposure/*.json   China (156) exports of each controlled HS6 code to World and
                                                    842 392 410 276 490, preview endpoint (one code per call), for
                                                    every year some sample week selects as China's latest release
    data/sample/captures/census/exposure/*.json     US general imports at HS6 of every controlled code from China
                                                    (5700) and all countries ('-'), for every year-to-date window a
                                                    sample week asks for (latest year 1..M and the year before 1..12)

    .venv/bin/python scripts/build_sample_exposure.py

Weeks covered: every as-of week from 2025-01-06 through 2026-02-16 (2026-W08), the range the other sample builders
cover. Which years and windows a week needs is computed with the pipeline's own rules (Comtrade: the week's getDa
reply in data/sample/captures/comtrade replayed through the client, ``released_pairs``/``select_years``; Census: the
release calendar); a week whose getDa reply is not in the sample is skipped and named on stdout. Requests are built
with the clients' own parameter builders, so replay keys always match.

FILLER, all of it (data/sample/README.md says so): no published HS6-level figure for these codes was available
offline. Magnitudes are set per code in :data:`CN_EXPORT_MUSD` and :data:`US_IMPORT_MUSD` (orders of magnitude only,
not published values) and spread over partners and months by a SHA-256 of the keys. China's share of US imports per
code is :data:`CN_SHARE_OF_US` (so that some codes cross the 50 % watch-list threshold and some do not).
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trade_pipeline.core.http import CAPTURE_FORMAT, CaptureStore, ReplayMissError, request_key  # noqa: E402
from trade_pipeline.core.partitions import as_of_instant  # noqa: E402
from trade_pipeline.defs.bilateral_trade_flows.fetch import fetch_availability, released_pairs, select_years  # noqa: E402
from trade_pipeline.defs.bilateral_trade_flows.resources import (  # noqa: E402
    DEFAULT_BASE_URL as COMTRADE_BASE,
)
from trade_pipeline.defs.bilateral_trade_flows.resources import (  # noqa: E402 — after the sys.path set-up above
    EXPOSURE_PARTNERS,
    PREVIEW_PATH,
    ComtradeClient,
    hs6_exports_params,
)
from trade_pipeline.defs.policy_exposure.mapping import all_codes, load_map  # noqa: E402
from trade_pipeline.defs.us_trade_census.release_calendar import latest_released_month  # noqa: E402
from trade_pipeline.defs.us_trade_census.resources import DEFAULT_BASE_URL as CENSUS_BASE  # noqa: E402
from trade_pipeline.defs.us_trade_census.resources import hs6_import_params  # noqa: E402 — after the sys.path set-up above

SAMPLE = ROOT / "data" / "sample" / "captures"
OUT_COMTRADE = SAMPLE / "comtrade" / "exposure"
OUT_CENSUS = SAMPLE / "census" / "exposure"
RECORDED_AT = "2026-02-16T08:00:00+00:00"
FIRST_WEEK, LAST_WEEK = date(2025, 1, 6), date(2026, 2, 16)
PARTNER_DESC = {
    0: ("W00", "World"),
    842: ("USA", "USA"),
    392: ("JPN", "Japan"),
    410: ("KOR", "Rep. of Korea"),
    276: ("DEU", "Germany"),
    490: ("S19", "Other Asia, nes"),
}

# FILLER magnitudes (million USD a year): China's exports of the code to the world, US imports of the code.
CN_EXPORT_MUSD = {
    "250410": 180,
    "261710": 25,
    "280450": 60,
    "280530": 350,
    "282560": 70,
    "282580": 420,
    "282590": 900,
    "283090": 40,
    "284180": 260,
    "284190": 1200,
    "284290": 2500,
    "284610": 150,
    "284690": 700,
    "284990": 210,
    "285000": 180,
    "285210": 5,
    "285390": 300,
    "293190": 1400,
    "380110": 2600,
    "380190": 900,
    "381800": 1600,
    "382499": 14000,
    "680421": 380,
    "681519": 1100,
    "710491": 90,
    "710510": 450,
    "710691": 150,
    "710692": 260,
    "810194": 120,
    "810199": 260,
    "810210": 80,
    "810610": 110,
    "810690": 60,
    "811010": 320,
    "811020": 4,
    "811090": 60,
    "811292": 240,
    "811299": 130,
    "820299": 900,
    "847989": 16000,
    "847990": 5200,
    "850511": 6500,
    "850760": 61000,
    "851419": 700,
    "851420": 900,
    "854330": 600,
}
US_IMPORT_MUSD = {
    "250410": 80,
    "261710": 3,
    "280450": 25,
    "280530": 45,
    "282560": 20,
    "282580": 110,
    "282590": 450,
    "283090": 12,
    "284180": 30,
    "284190": 650,
    "284290": 600,
    "284610": 60,
    "284690": 180,
    "284990": 140,
    "285000": 90,
    "285210": 2,
    "285390": 160,
    "293190": 1100,
    "380110": 900,
    "380190": 350,
    "381800": 2100,
    "382499": 9000,
    "680421": 260,
    "681519": 420,
    "710491": 30,
    "710510": 160,
    "710691": 1800,
    "710692": 400,
    "810194": 110,
    "810199": 420,
    "810210": 45,
    "810610": 40,
    "810690": 35,
    "811010": 140,
    "811020": 2,
    "811090": 30,
    "811292": 35,
    "811299": 60,
    "820299": 500,
    "847989": 21000,
    "847990": 6500,
    "850511": 1100,
    "850760": 23000,
    "851419": 400,
    "851420": 900,
    "854330": 350,
}
# FILLER: China's share of US imports of the code (2024), in percent.
CN_SHARE_OF_US = {
    "250410": 62,
    "261710": 20,
    "280450": 15,
    "280530": 72,
    "282560": 35,
    "282580": 58,
    "282590": 18,
    "283090": 25,
    "284180": 40,
    "284190": 12,
    "284290": 30,
    "284610": 66,
    "284690": 70,
    "284990": 22,
    "285000": 9,
    "285210": 5,
    "285390": 28,
    "293190": 14,
    "380110": 45,
    "380190": 38,
    "381800": 6,
    "382499": 11,
    "680421": 33,
    "681519": 36,
    "710491": 40,
    "710510": 55,
    "710691": 1,
    "710692": 3,
    "810194": 30,
    "810199": 24,
    "810210": 8,
    "810610": 61,
    "810690": 48,
    "811010": 52,
    "811020": 10,
    "811090": 27,
    "811292": 51,
    "811299": 34,
    "820299": 42,
    "847989": 17,
    "847990": 21,
    "850511": 76,
    "850760": 69,
    "851419": 25,
    "851420": 19,
    "854330": 29,
}


def u(*keys: object) -> float:
    """Deterministic uniform [0, 1) from the keys."""
    digest = hashlib.sha256("|".join(str(k) for k in keys).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def weeks() -> list[str]:
    out, day = [], FIRST_WEEK
    while day <= LAST_WEEK:
        out.append(day.isoformat())
        day += timedelta(days=7)
    return out


def _put(
    store: CaptureStore,
    source: str,
    url: str,
    params: list[tuple[str, str]],
    body: str,
    status: int = 200,
    content_type: str = "application/json; charset=utf-8",
) -> None:
    doc = {
        "format": CAPTURE_FORMAT,
        "source": source,
        "request": {"method": "GET", "url": url, "params": [[k, v] for k, v in params], "form": None},
        "response": {"status": status, "headers": {"content-type": content_type}, "body": body},
        "recorded_at": RECORDED_AT,
    }
    store.put(request_key("GET", url, params), doc)


def cn_value(code: str, year: int, partner: int) -> float:
    world = CN_EXPORT_MUSD[code] * 1e6 * (0.85 + 0.3 * u("cnw", code, year))
    if partner == 0:
        return round(world)
    shares = {
        842: 0.04 + 0.22 * u("s842", code),
        392: 0.03 + 0.12 * u("s392", code),
        410: 0.03 + 0.12 * u("s410", code),
        276: 0.02 + 0.08 * u("s276", code),
        490: 0.01 + 0.06 * u("s490", code),
    }
    return round(world * shares[partner] * (0.9 + 0.2 * u("cnp", code, year, partner)))


def comtrade_row(code: str, year: int, partner: int) -> dict:
    iso, desc = PARTNER_DESC[partner]
    value = float(cn_value(code, year, partner))
    return {
        "typeCode": "C",
        "freqCode": "A",
        "refPeriodId": int(f"{year}0101"),
        "refYear": year,
        "refMonth": 52,
        "period": str(year),
        "reporterCode": 156,
        "reporterISO": "CHN",
        "reporterDesc": "China",
        "flowCode": "X",
        "flowDesc": "Export",
        "partnerCode": partner,
        "partnerISO": iso,
        "partnerDesc": desc,
        "partner2Code": 0,
        "partner2ISO": "W00",
        "partner2Desc": "World",
        "classificationCode": "H6",
        "classificationSearchCode": "HS",
        "isOriginalClassification": True,
        "cmdCode": code,
        "cmdDesc": f"HS {code}",
        "aggrLevel": 6,
        "isLeaf": True,
        "customsCode": "C00",
        "customsDesc": "TOTAL CPC",
        "mosCode": "0",
        "motCode": 0,
        "motDesc": "TOTAL MOT",
        "qtyUnitCode": 8,
        "qtyUnitAbbr": "kg",
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
        "cifvalue": None,
        "fobvalue": value,
        "primaryValue": value,
        "legacyEstimationFlag": 0,
        "isReported": True,
        "isAggregate": False,
    }


def us_month(code: str, year: int, month: int, china: bool) -> int:
    weights = [0.7 + 0.6 * u("w", code, year, m) for m in range(1, 13)]
    annual = US_IMPORT_MUSD[code] * 1e6 * (1.0 if year <= 2024 else 0.75 + 0.45 * u("yoy", code))
    total = annual * weights[month - 1] / sum(weights)
    if not china:
        return round(total)
    share = CN_SHARE_OF_US[code] / 100 * (1.0 if year <= 2024 else 0.55 + 0.6 * u("cnyoy", code))
    return round(total * min(share, 0.97))


def build() -> None:
    codes = all_codes(load_map())
    cn_store, us_store = CaptureStore(OUT_COMTRADE), CaptureStore(OUT_CENSUS)
    for out in (OUT_COMTRADE, OUT_CENSUS):
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.json"):
            old.unlink()
    client = ComtradeClient(mode="replay", capture_dir=str(SAMPLE), endpoint="preview")
    cn_years: set[int] = set()
    windows: set[tuple[int, int]] = set()
    skipped: list[str] = []
    for key in weeks():
        try:
            availability = fetch_availability(client, key)
        except ReplayMissError:
            skipped.append(key)
        else:
            years = select_years(released_pairs(availability, key), 156)
            if years:
                cn_years.add(years[-1])
        year, month = latest_released_month(as_of_instant(key).date())
        windows |= {(year, month), (year - 1, 12)}
    url = COMTRADE_BASE + PREVIEW_PATH
    for year in sorted(cn_years):
        for code in codes:
            params = hs6_exports_params(156, [code], [year], EXPOSURE_PARTNERS, True)
            data = [comtrade_row(code, year, p) for p in EXPOSURE_PARTNERS]
            _put(
                cn_store,
                "comtrade",
                url,
                params,
                json.dumps(
                    {"elapsedTime": "0.18 secs", "count": len(data), "data": data, "error": ""}, separators=(",", ":")
                ),
            )
    url = CENSUS_BASE + "/imports/hs"
    for year, last in sorted(windows):
        params = hs6_import_params(codes, year, 1, last)
        table = [["CTY_NAME", "GEN_VAL_MO", "I_COMMODITY", "CTY_CODE", "COMM_LVL", "time"]]
        for code in codes:
            for month in range(1, last + 1):
                for cty, name in (("5700", "CHINA"), ("-", "TOTAL FOR ALL COUNTRIES")):
                    table.append(
                        [name, str(us_month(code, year, month, cty == "5700")), code, cty, "HS6", f"{year}-{month:02d}"]
                    )
        _put(us_store, "census", url, params, json.dumps(table, separators=(",", ":")))
    print(
        f"comtrade: {len(cn_years) * len(codes)} captures (years {sorted(cn_years)}, {len(codes)} codes); "
        f"census: {len(windows)} captures {sorted(windows)}"
    )
    if skipped:
        print(
            f"weeks without a getDa reply in the sample (no Comtrade exposure capture for them): "
            f"{skipped[0]} … {skipped[-1]} ({len(skipped)})"
        )


if __name__ == "__main__":
    build()
