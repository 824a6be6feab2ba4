"""P4b: the Comtrade keyed daily quota (500 calls/day, budget 499) cannot be exceeded — shown, not assumed.

    python benchmarks/p4_quota.py            prints one JSON document with the four scenarios below

Uses the project's own ComtradeClient with its documented test seam (``_http()`` overridden to give SourceHttp an
``httpx.MockTransport``), live mode, a dummy key and a temporary cache directory (where the quota file lives). The
mock transport counts what actually reaches "the wire".

1. budget 3: calls until refused → exactly 3 requests reach the transport, the 4th raises ComtradeQuotaError.
2. default budget (499 = plan limit 500 − 1) with the quota file already at 499 calls today → refused, 0 requests.
3. retries count: budget 3, server answers 503, 503, 200 → the one logical call consumes 3 of the budget.
4. server says 403 "quota": not retried, the day is marked exhausted, later calls refused with 0 requests.
5. retries at the edge: budget 3, quota file at 2, server answers 503 forever → at most 1 request reaches the wire
   (retries must not push the day's count past the budget).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trade_pipeline.core.http import HttpMode, SourceHttp  # noqa: E402
from trade_pipeline.defs.bilateral_trade_flows import resources as ct  # noqa: E402

ENVELOPE = {
    "elapsedTime": "0.1 secs",
    "count": 1,
    "error": "",
    "data": [
        {
            "reporterCode": 842,
            "partnerCode": 0,
            "flowCode": "X",
            "period": "2024",
            "cmdCode": "TOTAL",
            "primaryValue": 1.0,
        }
    ],
}


class Wire:
    def __init__(self, script: list[tuple[int, bytes]] | None = None):
        self.requests = 0
        self.script = list(script or [])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.script:
            status, body = self.script.pop(0)
            return httpx.Response(status, content=body, headers={"content-type": "application/json"})
        return httpx.Response(200, json=ENVELOPE)


def client(cache_dir: Path, wire: Wire, budget: int | None = None) -> ct.ComtradeClient:
    class BenchComtrade(ct.ComtradeClient):
        def _http(self) -> SourceHttp:  # the documented seam (core/source_client.py)
            return SourceHttp(
                "comtrade",
                HttpMode.LIVE,
                cache_dir=self.resolved_cache_dir(),
                min_interval_s=0.0,
                backoff_base_s=0.0,
                backoff_max_s=0.0,
                max_attempts=4,
                transport=httpx.MockTransport(wire),
                sleep=lambda s: None,
            )

    kwargs = {"mode": "live", "endpoint": "keyed", "cache_dir": str(cache_dir), "min_interval_s": 0.0}
    if budget is not None:
        kwargs["daily_call_budget"] = budget
    return BenchComtrade(**kwargs)


def call_until_refused(c: ct.ComtradeClient, limit: int) -> tuple[int, str | None]:
    """Distinct reporters, so the response cache never answers: every call wants the network."""
    done = 0
    for reporter in range(1, limit + 1):
        try:
            c.partner_totals(reporter, ["X", "M"], [2024])
        except ct.ComtradeQuotaError as exc:
            return done, str(exc)
        done += 1
    return done, None


def main() -> int:
    os.environ[ct.API_KEY_ENV] = "bench-dummy-key-not-real"
    out = {}
    with tempfile.TemporaryDirectory(prefix="trade_bench_quota_") as tmp:
        # 1. tiny budget
        wire = Wire()
        c = client(Path(tmp) / "s1", wire, budget=3)
        ok, err = call_until_refused(c, 10)
        out["budget_3"] = {
            "successful_calls": ok,
            "requests_on_wire": wire.requests,
            "quota_file_calls": c.keyed_calls_today(),
            "refusal": err,
        }
        # 2. default budget, quota file already at 499 today
        wire = Wire()
        c = client(Path(tmp) / "s2", wire)
        c._write_quota({"utc_date": c._read_quota()["utc_date"], "calls": ct.KEYED_DAILY_CALLS - 1, "exhausted": False})
        ok, err = call_until_refused(c, 3)
        out["default_budget_at_499"] = {
            "daily_call_budget": c.daily_call_budget,
            "plan_limit": ct.KEYED_DAILY_CALLS,
            "successful_calls": ok,
            "requests_on_wire": wire.requests,
            "refusal": err,
        }
        # 3. retries are counted against the budget
        wire = Wire([(503, b"busy"), (503, b"busy")])
        c = client(Path(tmp) / "s3", wire, budget=3)
        ok, err = call_until_refused(c, 5)
        out["retries_counted"] = {
            "successful_calls": ok,
            "requests_on_wire": wire.requests,
            "quota_file_calls": c.keyed_calls_today(),
            "refusal": err,
        }
        # 4. server-side quota answer
        wire = Wire([(403, b'{"statusCode": 403, "message": "Out of call volume quota."}')])
        c = client(Path(tmp) / "s4", wire)
        first_error = None
        try:
            c.partner_totals(1, ["X"], [2024])
        except ct.ComtradeQuotaError as exc:
            first_error = str(exc)
        ok, err = call_until_refused(c, 3)
        out["server_403_quota"] = {
            "first_error": first_error,
            "later_successful_calls": ok,
            "requests_on_wire": wire.requests,
            "refusal": err,
        }
        # 5. retries at the edge of the budget
        wire = Wire([(503, b"busy")] * 10)
        c = client(Path(tmp) / "s5", wire, budget=3)
        c._write_quota({"utc_date": c._read_quota()["utc_date"], "calls": 2, "exhausted": False})
        error = None
        try:
            c.partner_totals(1, ["X"], [2024])
        except Exception as exc:  # noqa: BLE001 - the failure type is reported
            error = f"{type(exc).__name__}: {exc}"
        out["retries_at_budget_edge"] = {
            "budget": 3,
            "calls_before": 2,
            "requests_on_wire": wire.requests,
            "quota_file_calls": c.keyed_calls_today(),
            "error": error,
        }
        # 6. the exposure request (China's HS6 exports, whole code list in one keyed call) is metered by the same
        #    guard: with the budget spent it is refused before the wire; a cold week with a key asks for it once
        from trade_pipeline.defs.policy_exposure.mapping import all_codes, load_map

        codes = all_codes(load_map())
        wire = Wire()
        c = client(Path(tmp) / "s6", wire, budget=1)
        first = c.hs6_exports(156, codes, 2024)
        refusal = None
        try:
            c.hs6_exports(156, codes, 2023)
        except ct.ComtradeQuotaError as exc:
            refusal = str(exc)
        out["exposure_quota_guard"] = {
            "hs6_codes": len(codes),
            "first_call_requests": len(first),
            "requests_on_wire": wire.requests,
            "refusal": refusal,
            "cold_week_keyed_calls": c.requests_per_cold_week(6) + c.exposure_requests_per_cold_week(len(codes)),
        }
    s1, s2, s3, s4 = (out[k] for k in ("budget_3", "default_budget_at_499", "retries_counted", "server_403_quota"))
    s5 = out["retries_at_budget_edge"]
    out["proven"] = bool(
        s1["requests_on_wire"] == 3
        and s1["refusal"]
        and s2["requests_on_wire"] == 0
        and s2["refusal"]
        and s3["requests_on_wire"] == 3
        and s3["quota_file_calls"] == 3
        and s3["refusal"]
        and s4["first_error"]
        and s4["requests_on_wire"] == 1
        and s4["refusal"]
        and s5["quota_file_calls"] <= 3
        and out["exposure_quota_guard"]["requests_on_wire"] == 1
        and bool(out["exposure_quota_guard"]["refusal"])
        and out["exposure_quota_guard"]["cold_week_keyed_calls"] <= 30
    )
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out["proven"] else 1


if __name__ == "__main__":
    sys.exit(main())
