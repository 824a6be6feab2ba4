"""Replay captures built from the REAL Census replies in ../shared/realdata (tests only; nothing is copied into the
project: the captures are written to a tmp dir per test).

The real replies are month by month (``?get=…&YEAR=Y&MONTH=M``, every country); a week asks for one year-to-date
window per flow × level with the five partners as CTY_CODE predicates. Each capture is that request with, as its
body, the header of the real reply and the real rows of those partners for the months of the window — values,
columns and row order as the API sent them. Exports by HS2 were never captured, so those requests are absent and
fail in replay, exactly the partial fetch of issue 12.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from trade_pipeline.core.http import request_key
from trade_pipeline.defs.us_trade_census.resources import (
    DEFAULT_BASE_URL,
    PARTNERS,
    CensusTradeClient,
    plan_requests,
)
from trade_pipeline.defs.us_trade_census.wire import FLOW_ENDPOINT

ROOT = ("census", "leakathr1n_reconstructed")
FOLDERS = {
    ("export", "TOTAL"): ("exports_hs_by_country_total", ".json"),
    ("import", "TOTAL"): ("imports_hs_by_country_total", ".json"),
    ("import", "HS2"): ("imports_hs_HS2_by_country", ".json.gz"),
}


def _reply(path: Path) -> list[list]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw)


def build_captures(realdata: Path, latest: tuple[int, int], dest: Path) -> list[str]:
    """Capture files under ``dest/census`` for every request of a week whose newest month is ``latest`` that the
    real replies can answer; returns the labels of the requests left absent (exports by HS2)."""
    root = realdata.joinpath(*ROOT)
    out = dest / "census"
    out.mkdir(parents=True, exist_ok=True)
    client = CensusTradeClient()
    absent = []
    for req in plan_requests(latest):
        folder = FOLDERS.get((req.flow, req.level))
        if folder is None:
            absent.append(req.label())
            continue
        header, rows = None, []
        for month in range(req.first_month, req.last_month + 1):
            reply = _reply(root / folder[0] / f"{req.year}-{month:02d}{folder[1]}")
            header = header or reply[0]
            code = reply[0].index("CTY_CODE")
            rows += [r for r in reply[1:] if r[code] in PARTNERS]  # what the CTY_CODE predicates select
        params = client.request_params(req, list(PARTNERS))
        url = f"{DEFAULT_BASE_URL}/{FLOW_ENDPOINT[req.flow]}"
        doc = {
            "format": "trade_pipeline.capture/1",
            "source": "census",
            "request": {"method": "GET", "url": url, "params": [list(p) for p in params], "form": None},
            "response": {
                "status": 200,
                "headers": {"content-type": "application/json;charset=utf-8"},
                "body": json.dumps([header, *rows], ensure_ascii=False),
            },
            "recorded_at": "2025-02-01T00:00:00+00:00",
        }
        assert request_key("GET", url, params)  # the key replay will look up
        (out / f"{req.flow}-{req.level.lower()}-{req.year}-{req.first_month:02d}-{req.last_month:02d}.json").write_text(
            json.dumps(doc, ensure_ascii=False), encoding="utf-8"
        )
    return absent
