#!/usr/bin/env python
"""Build the embedded offline Census sample: data/sample/captures/census/*.json (deterministic, no network).

Every request the us_trade_census layer makes for the as-of weeks 2025-12-29 .. 2026-02-16 (ISO 2026-W01..W08) is
recorded as a request/response pair in the capture format of trade_pipeline/core/http.py, in the Census wire format
(sources.md §2.5: array of arrays, header row, every value a string). Requests are built by the client itself, so
the sample always matches what the pipeline asks for.

What is real and what is filler (also in data/sample/captures/census/README.md):
- REAL: the monthly export/import totals per partner, 2024-01..2025-11, as published on census.gov/foreign-trade/
  balance/c<code>.html (M USD, one decimal); China additionally to full dollar precision and through 2025-12 from
  FRED EXPCH/IMPCH (identical to the API's ALL_VAL_MO/GEN_VAL_MO).
- REAL: the January–October 2025 chapter facts the 2026-01-27 seed report printed (e.g. Taiwan HS84 imports
  105.1 B, China HS85 imports 69.8 B); they are placed here at two-decimal precision consistent with the seed's
  rounded figures (its deficits and shares recompute from them).
- FILLER: December 2025 totals for partners other than China; every other chapter value (spread deterministically
  over ~26 chapters per partner and flow so HS2 sums equal the published totals exactly); the one deliberate
  revision (Korea, exports, September 2025: the November release raises it by USD 85.3 M).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

from trade_pipeline.core.hs_chapters import HS2_CHAPTERS
from trade_pipeline.core.http import CAPTURE_FORMAT, request_key
from trade_pipeline.defs.us_trade_census.release_calendar import latest_released_month, release_date
from trade_pipeline.defs.us_trade_census.resources import (
    DEFAULT_BASE_URL, PARTNERS, CensusRequest, CensusTradeClient, plan_requests,
)
from trade_pipeline.defs.us_trade_census.wire import FLOW_ENDPOINT, FLOW_VARIABLES

PROJECT = Path(__file__).resolve().parents[1]
OUT = PROJECT / "data" / "sample" / "captures" / "census"
WEEKS = ["2025-12-29", "2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02", "2026-02-09",
         "2026-02-16"]
B = 1_000_000_000

# REAL: census.gov balance pages, million USD (exports, imports), 2024-01..12 and 2025-01..11.
PUBLISHED_MUSD: dict[tuple[str, int], tuple[tuple[float, ...], tuple[float, ...]]] = {
    ("4280", 2024): ((6348.7, 6124.6, 6758.0, 6205.7, 6247.5, 6447.3, 5933.0, 6765.6, 6556.7, 6764.3, 6407.5, 5165.2),
                     (12431.9, 12318.2, 14278.9, 14351.3, 13829.3, 12960.9, 14333.4, 13444.6, 13076.5, 12764.0, 12890.9,
                      13700.2)),
    ("4280", 2025): ((6093.8, 5967.4, 8129.4, 7341.5, 6468.2, 7323.1, 6552.7, 6967.0, 7262.6, 6957.4, 6815.0),
                     (13659.2, 12679.4, 15654.4, 13169.2, 13299.9, 11083.2, 12826.7, 11146.2, 11742.2, 12083.5, 13486.7)),
    ("5800", 2024): ((5208.7, 5052.4, 6393.1, 5122.1, 5871.4, 5757.8, 5294.8, 5771.1, 5384.2, 5355.1, 5146.8, 5228.9),
                     (10962.9, 9632.9, 11639.8, 11643.1, 12282.2, 11347.7, 11200.5, 10417.2, 11116.3, 10129.7, 10144.5,
                      11036.4)),
    ("5800", 2025): ((5262.5, 5345.9, 5804.4, 6016.7, 5422.0, 5574.0, 5891.6, 5734.9, 6065.8, 6349.2, 5444.7),
                     (10673.6, 9012.5, 12135.7, 9849.0, 11463.3, 11391.5, 11115.3, 10161.5, 9753.5, 9100.7, 8728.2)),
    ("5830", 2024): ((3118.0, 3104.2, 3402.5, 3942.6, 3630.3, 3915.8, 3916.9, 3716.2, 3150.0, 3363.2, 3672.1, 3605.6),
                     (8195.7, 6795.9, 7940.3, 9095.0, 8980.0, 9863.1, 12988.5, 11772.0, 10556.5, 10701.4, 9276.9,
                      10089.9)),
    ("5830", 2025): ((3366.6, 3692.7, 4643.2, 5033.8, 4728.8, 4292.1, 4936.5, 4554.3, 4513.2, 4832.0, 5273.8),
                     (11069.8, 10588.1, 12403.1, 14613.4, 16386.5, 16921.3, 19505.8, 17735.7, 14991.3, 22252.7, 20258.8)),
    ("5880", 2024): ((5638.8, 5889.1, 6758.0, 6031.9, 6758.9, 7433.4, 7150.8, 6665.6, 6877.4, 6710.5, 6601.6, 6462.4),
                     (12576.2, 11744.6, 12193.3, 12739.6, 12246.8, 11700.5, 13324.9, 11674.8, 11638.7, 14000.9, 12078.0,
                      12452.3)),
    ("5880", 2025): ((6014.2, 6400.9, 7290.3, 6830.2, 7131.6, 6792.3, 6897.7, 7058.6, 7120.5, 7159.8, 7040.9),
                     (12814.5, 11127.7, 13458.9, 13546.5, 12010.5, 11956.4, 12481.4, 11994.2, 10572.9, 11993.6, 11815.3)),
}
# REAL: FRED EXPCH / IMPCH (= Census ALL_VAL_MO / GEN_VAL_MO for 5700), million USD, 2024-01..2025-12.
CHINA_FRED_MUSD = (
    (12067.738457, 12062.242215, 12653.547761, 11552.402423, 11323.729543, 11376.646729, 10769.766693, 11966.922507,
     11187.053346, 13368.418649, 12603.073509, 12295.207536, 9901.335394, 10461.605346, 11458.167596, 8193.071746,
     6553.325526, 9443.596095, 9298.437659, 8271.881290, 8380.186570, 8950.492697, 7008.414794, 8387.883128),
    (35782.600942, 31863.625771, 29924.780142, 31602.676956, 34995.265867, 34169.113741, 40801.068990, 39811.237007,
     43018.169857, 41444.880190, 37774.833328, 37553.745287, 41639.170750, 31635.372246, 29383.677776, 25378.077558,
     20493.855247, 18948.674201, 26411.388670, 25132.621489, 23414.653023, 23887.245543, 20950.707190, 21104.278609),
)
# REAL (seed, 2025 January–October cumulative, USD): chapter facts at two-decimal-billion precision.
CHAPTER_FACTS_JAN_OCT_2025: dict[tuple[str, str], dict[str, float]] = {
    ("5700", "export"): {"85": 13.76 * B, "88": 13.68 * B, "84": 9.10 * B},  # HS84 = 44.12 − 35.02 deficit
    ("5830", "export"): {"84": 13.32 * B},
    ("5800", "export"): {"27": 14.38 * B},
    ("5880", "export"): {"27": 10.46 * B},
    ("5700", "import"): {"85": 69.84 * B, "84": 44.12 * B},
    ("5830", "import"): {"84": 105.12 * B},
    ("5880", "import"): {"87": 37.38 * B},
    ("5800", "import"): {"87": 31.42 * B},
    ("4280", "import"): {"84": 25.28 * B, "87": 22.68 * B},
}
# FILLER: chapters that usually matter in US trade, in a rough order of size; rotated per partner and flow.
FILLER_POOL = ["84", "85", "87", "90", "30", "27", "39", "88", "29", "71", "38", "94", "73", "95", "40", "28", "72",
               "76", "48", "33", "12", "02", "10", "08", "03", "26", "47", "74", "82", "83", "89", "61", "62", "64",
               "44", "70", "69", "22", "21", "23"]
FILLER_CHAPTERS = 26
REVISION = {"cty": "5800", "flow": "export", "year": 2025, "month": 9, "delta_usd": 85_300_000,
            "revised_in": (2025, 11)}  # FILLER: earlier vintages carry value − delta


def unit(*keys: object) -> float:
    """Deterministic pseudo-random number in [0, 1) from the keys."""
    digest = hashlib.sha256("|".join(map(str, keys)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def monthly_totals() -> dict[tuple[str, str], dict[tuple[int, int], int]]:
    """(cty, flow) -> {(year, month): USD}, 2024-01..2025-12 (final vintage)."""
    out: dict[tuple[str, str], dict[tuple[int, int], int]] = {}
    months = [(y, m) for y in (2024, 2025) for m in range(1, 13)]
    for i, flow in enumerate(("export", "import")):
        out[("5700", flow)] = {ym: round(v * 1e6) for ym, v in zip(months, CHINA_FRED_MUSD[i])}
        for code in ("4280", "5800", "5830", "5880"):
            series = {}
            for year in (2024, 2025):
                for m, v in enumerate(PUBLISHED_MUSD[(code, year)][i], start=1):
                    series[(year, m)] = round(v * 1e6)
            # FILLER: December 2025 = November 2025 × a deterministic factor in [0.95, 1.07)
            series[(2025, 12)] = round(series[(2025, 11)] * (0.95 + 0.12 * unit("dec2025", code, flow)) / 1e5) * 100_000
            out[(code, flow)] = series
    return out


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Integer split of ``total`` by weights (largest remainder), summing exactly to ``total``."""
    wsum = sum(weights.values())
    raw = {c: total * w / wsum for c, w in weights.items()}
    out = {c: int(v) for c, v in raw.items()}
    rest = total - sum(out.values())
    for c in sorted(raw, key=lambda c: (-(raw[c] - out[c]), c))[:rest]:
        out[c] += 1
    return out


def chapter_values(totals: dict[tuple[str, str], dict[tuple[int, int], int]]
                   ) -> dict[tuple[str, str], dict[tuple[int, int], dict[str, int]]]:
    """(cty, flow) -> month -> {hs2: USD}, summing exactly to the month's total (final vintage)."""
    out = {}
    for (code, flow), series in totals.items():
        facts = CHAPTER_FACTS_JAN_OCT_2025.get((code, flow), {})
        jan_oct = sum(series[(2025, m)] for m in range(1, 11))
        pool = [c for c in FILLER_POOL if c not in facts]
        start = int(unit("rotate", code, flow) * 6)
        filler = (pool[start:] + pool[:start])[:FILLER_CHAPTERS]
        base = {c: 0.86 ** i * (0.7 + 0.6 * unit("w", code, flow, c)) for i, c in enumerate(filler)}
        by_month = {}
        for (year, month), total in sorted(series.items()):
            values = {}
            for c, fact in facts.items():
                share = fact / jan_oct
                if not (year == 2025 and month <= 10):  # outside the fact window: same share, slight wobble
                    share *= 0.96 + 0.08 * unit("fact", code, flow, c, year, month)
                values[c] = round(share * total)
            rest = total - sum(values.values())
            assert rest > 0, (code, flow, year, month)
            weights = {c: w * (0.92 + 0.16 * unit("m", code, flow, c, year, month)) for c, w in base.items()}
            values.update(allocate(rest, weights))
            by_month[(year, month)] = values
        out[(code, flow)] = by_month
    return out


def check_facts(values) -> None:
    """The seed's top chapters stay on top and keep their printed figures."""
    for (code, flow), facts in CHAPTER_FACTS_JAN_OCT_2025.items():
        ytd: dict[str, int] = {}
        for m in range(1, 11):
            for c, v in values[(code, flow)][(2025, m)].items():
                ytd[c] = ytd.get(c, 0) + v
        for c, fact in facts.items():
            assert abs(ytd[c] - fact) < 1_000, (code, flow, c, ytd[c], fact)
        ranked = sorted(ytd, key=ytd.get, reverse=True)
        tops = {"5700/export": ["85", "88"], "5830/export": ["84"], "5800/export": ["27"], "5880/export": ["27"],
                "5700/import": ["85", "84"], "5830/import": ["84"], "5880/import": ["87"], "5800/import": ["87"],
                "4280/import": ["84", "87"]}.get(f"{code}/{flow}", [])
        assert ranked[:len(tops)] == tops, (code, flow, ranked[:4])


def vintage_value(code: str, flow: str, year: int, month: int, hs2: str, value: int, through: tuple[int, int],
                  revised_chapter: str) -> int:
    r = REVISION
    if (code, flow, year, month) == (r["cty"], r["flow"], r["year"], r["month"]) and through < r["revised_in"] \
            and hs2 in (revised_chapter, "TOTAL"):
        return value - r["delta_usd"]
    return value


def body_rows(req: CensusRequest, values, totals) -> list[list[str]]:
    commodity_var, month_var, ytd_var = FLOW_VARIABLES[req.flow]
    through = (req.year, req.last_month)
    if req.level == "HS2":
        header = ["CTY_NAME", month_var, ytd_var, commodity_var, f"{commodity_var}_LDESC", "CTY_CODE", "COMM_LVL", "time"]
    else:
        header = ["CTY_NAME", month_var, ytd_var, "CTY_CODE", "time"]
    rows = [header]
    for code, (name, _) in PARTNERS.items():
        chapters = values[(code, req.flow)]
        # the revision lands on the largest filler chapter, never on a chapter the seed printed
        facts = CHAPTER_FACTS_JAN_OCT_2025.get((code, req.flow), {})
        sep = {c: v for c, v in chapters[(2025, 9)].items() if c not in facts}
        revised_chapter = max(sep, key=sep.get) if code == REVISION["cty"] else ""
        ytd: dict[str, int] = {}
        for month in range(req.first_month, req.last_month + 1):
            t = f"{req.year}-{month:02d}"
            if req.level == "HS2":
                for hs2 in sorted(chapters[(req.year, month)]):
                    v = vintage_value(code, req.flow, req.year, month, hs2, chapters[(req.year, month)][hs2], through,
                                      revised_chapter)
                    ytd[hs2] = ytd.get(hs2, 0) + v
                    rows.append([name, str(v), str(ytd[hs2]), hs2, HS2_CHAPTERS[hs2][1].upper(), code, "HS2", t])
            else:
                v = vintage_value(code, req.flow, req.year, month, "TOTAL", totals[(code, req.flow)][(req.year, month)],
                                  through, revised_chapter)
                ytd["TOTAL"] = ytd.get("TOTAL", 0) + v
                rows.append([name, str(v), str(ytd["TOTAL"]), code, t])
    return rows


def wire_body(rows: list[list[str]]) -> str:
    return "[" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "]"


def capture(endpoint: str, params: list[tuple[str, str]], status: int, body: str, recorded_at: str,
            headers: dict[str, str] | None = None) -> tuple[str, dict]:
    url = f"{DEFAULT_BASE_URL}/{endpoint}"
    doc = {"format": CAPTURE_FORMAT, "source": "census",
           "request": {"method": "GET", "url": url, "params": [list(p) for p in params], "form": None},
           "response": {"status": status, "headers": headers or ({"content-type": "application/json;charset=utf-8"}
                                                                 if body else {}), "body": body},
           "recorded_at": recorded_at}
    return request_key("GET", url, params), doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    totals = monthly_totals()
    values = chapter_values(totals)
    check_facts(values)
    client = CensusTradeClient()
    partners = list(PARTNERS)
    docs: dict[str, tuple[str, dict]] = {}
    for week in WEEKS:
        as_of = date.fromisoformat(week).toordinal() + 6
        latest = latest_released_month(date.fromordinal(as_of))
        for req in plan_requests(latest):
            released = release_date(req.year, req.last_month) if req.year == latest[0] else release_date(*latest)
            name = f"{req.flow}-{req.level}-{req.year}-{req.first_month:02d}-to-{req.last_month:02d}.json".lower()
            key, doc = capture(FLOW_ENDPOINT[req.flow], client.request_params(req, partners), 200,
                               wire_body(body_rows(req, values, totals)), f"{released.isoformat()}T14:00:00+00:00")
            docs[key] = (name, doc)
    # probe_month answers for the sensor: released months 200, not-yet months 204.
    for year, month, status in ((2025, 9, 200), (2025, 10, 200), (2025, 11, 200), (2025, 12, 200), (2026, 1, 204),
                                (2026, 2, 204)):
        params = [("get", "CTY_CODE,ALL_VAL_MO"), ("CTY_CODE", "5700"), ("time", f"{year}-{month:02d}")]
        body = wire_body([["CTY_CODE", "ALL_VAL_MO", "time"],
                          ["5700", str(totals[("5700", "export")][(year, month)]), f"{year}-{month:02d}"]]) \
            if status == 200 else ""
        key, doc = capture("exports/hs", params, status, body, "2026-02-20T14:00:00+00:00")
        docs[key] = (f"probe-export-{year}-{month:02d}.json", doc)
    for old in args.out.glob("*.json"):
        old.unlink()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, doc in sorted(docs.values(), key=lambda nd: nd[0]):
        (args.out / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(docs)} captures to {args.out}")


if __name__ == "__main__":
    main()
