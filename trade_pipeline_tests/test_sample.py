"""The embedded sample: in sync with its builders, and covering every request of every week it claims to cover.

- re-running scripts/build_sample_{census,comtrade}.py writes byte-identical files (determinism; a builder or a
  client parameter builder changed without rebuilding the sample fails here, not in a replay miss later);
- every week from the first partition (2025-W02) to 2026-W08 finds a capture for each Census request it plans
  (release calendar + the client's own parameters) and for its Comtrade availability call;
- the Census import chapters follow the real 2024 structure the builder carries: each partner's top three import
  chapters of the full year 2024 in the sample are the real ones, in the real order.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from trade_pipeline.core.http import CaptureStore, request_key
from trade_pipeline.core.partitions import FIRST_WEEK_START, as_of_instant
from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline.defs.bilateral_trade_flows.fetch import candidate_years
from trade_pipeline.defs.bilateral_trade_flows.resources import AVAILABILITY_PATH, DEFAULT_BASE_URL, availability_params
from trade_pipeline.defs.us_trade_census.release_calendar import latest_released_month
from trade_pipeline.defs.us_trade_census.resources import (
    DEFAULT_BASE_URL as CENSUS_BASE,
)
from trade_pipeline.defs.us_trade_census.resources import (
    PARTNERS,
    CensusTradeClient,
    plan_requests,
)
from trade_pipeline.defs.us_trade_census.wire import FLOW_ENDPOINT

CAPTURES = PROJECT_ROOT / "data" / "sample" / "captures"
SCRIPTS = PROJECT_ROOT / "scripts"
LAST_WEEK_START = "2026-02-16"  # 2026-W08
WEEKS = [
    (date.fromisoformat(FIRST_WEEK_START) + timedelta(days=7 * i)).isoformat()
    for i in range((date.fromisoformat(LAST_WEEK_START) - date.fromisoformat(FIRST_WEEK_START)).days // 7 + 1)
]


@pytest.mark.parametrize("source", ["census", "comtrade"])
def test_builder_rewrites_the_committed_sample_byte_for_byte(source: str, tmp_path: Path) -> None:
    out = tmp_path / source
    subprocess.run(
        [sys.executable, str(SCRIPTS / f"build_sample_{source}.py"), "--out", str(out)],
        check=True,
        cwd=PROJECT_ROOT,
        capture_output=True,
    )
    built = sorted(p.name for p in out.glob("*.json"))
    committed = sorted(p.name for p in (CAPTURES / source).glob("*.json"))
    assert built == committed
    _, mismatch, errors = filecmp.cmpfiles(out, CAPTURES / source, built, shallow=False)
    assert not mismatch and not errors, f"{source}: rebuilt files differ: {mismatch[:5]}"


def test_every_week_finds_its_census_and_availability_captures() -> None:
    assert len(WEEKS) == 59 and WEEKS[0] == "2025-01-06"
    census = CaptureStore(CAPTURES / "census")
    comtrade = CaptureStore(CAPTURES / "comtrade")
    client = CensusTradeClient()
    missing = []
    for week in WEEKS:
        latest = latest_released_month(as_of_instant(week).date())
        for req in plan_requests(latest):
            key = request_key(
                "GET", f"{CENSUS_BASE}/{FLOW_ENDPOINT[req.flow]}", client.request_params(req, list(PARTNERS))
            )
            if census.get(key) is None:
                missing.append(f"{week} census {req.label()}")
        key = request_key("GET", DEFAULT_BASE_URL + AVAILABILITY_PATH, availability_params(candidate_years(week)))
        if comtrade.get(key) is None:
            missing.append(f"{week} comtrade getDa {candidate_years(week)}")
    assert not missing, missing[:10]


def test_census_import_chapters_follow_the_real_2024_structure() -> None:
    # the real 2024 top three per partner (../shared/realdata imports_hs_HS2_by_country, summed over the year)
    real_top3 = {
        "5700": ["85", "84", "95"],
        "5830": ["84", "85", "73"],
        "5800": ["87", "84", "85"],
        "5880": ["87", "84", "85"],
        "4280": ["87", "84", "30"],
    }
    doc = json.loads((CAPTURES / "census" / "import-hs2-2024-01-to-12.json").read_text(encoding="utf-8"))
    rows = json.loads(doc["response"]["body"])
    header = rows[0]
    year: dict[str, Counter] = {}
    for row in rows[1:]:
        r = dict(zip(header, row))
        year.setdefault(r["CTY_CODE"], Counter())[r["I_COMMODITY"]] += int(r["GEN_VAL_MO"])
    assert {code: [c for c, _ in year[code].most_common(3)] for code in real_top3} == real_top3
