"""What a week's partition fetches, point in time.

1. One data-availability call lists, for every reporter, the annual datasets and when each was first released.
2. A reporter-year counts for week W only if ``firstReleased <= as_of_instant(W)``. Each reporter uses its latest
   such year Y and Y-1 (for YoY).
3. Partner totals per reporter (preview: one call per flow × year; keyed: one call), Taiwan's mirror (every
   reporter's trade with 490), and later the HS2 structure for the same years.

A failed request is logged per reporter × flow × year (status 'failed', with the error) and the run goes on; the
gap shows up as a ``partial_http_failure`` flag. Quota and key errors stop the run (ComtradeStopError).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from trade_pipeline.core.http import SourceHttpError
from trade_pipeline.core.memo import BoundedMemo
from trade_pipeline.core.partitions import as_of_instant
from trade_pipeline.defs.bilateral_trade_flows.codes import ALL_REPORTERS, TAIWAN_ISO_CODE
from trade_pipeline.defs.bilateral_trade_flows.parse import (
    AVAILABILITY_SCHEMA,
    MIRRORED_FLOW,
    MIRROR_SKIPPED_REPORTERS,
    availability_rows,
    mirror_flow_rows,
    partner_flow_rows,
    partner_flows_frame,
)
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient, ComtradeStopError, FetchResult

FLOWS = ("X", "M")
CANDIDATE_YEARS_BACK = 4  # as-of year minus 1..4: annual data lag 6–12 months (sources.md 1.12)
MIRROR_MIN_RELEASED_REPORTERS = 30  # a mirror year needs at least this many reporters released

REQUEST_SCHEMA = {
    "kind": pl.Utf8, "reporter_code": pl.Int32, "flow": pl.Utf8, "year": pl.Int32, "endpoint": pl.Utf8,
    "status": pl.Utf8, "row_count": pl.Int32, "response_count": pl.Int32, "request_id": pl.Utf8,
    "request": pl.Utf8, "error": pl.Utf8, "fetched_at": pl.Utf8,
}


def candidate_years(partition_key: str) -> list[int]:
    year = as_of_instant(partition_key).year
    return list(range(year - CANDIDATE_YEARS_BACK, year))


def released_pairs(availability: pl.DataFrame, partition_key: str) -> set[tuple[int, int]]:
    """(reporter, year) pairs first released by the week's as-of instant."""
    cutoff = as_of_instant(partition_key).replace(tzinfo=None)
    return {(r["reporter_code"], r["year"]) for r in availability.iter_rows(named=True)
            if datetime.fromisoformat(r["first_released"]) <= cutoff}


def select_years(released: set[tuple[int, int]], reporter: int) -> list[int]:
    """Latest released year Y and, when released too, Y-1."""
    years = sorted(y for r, y in released if r == reporter)
    if not years:
        return []
    latest = years[-1]
    return [y for y in (latest - 1, latest) if y in years]


def select_mirror_years(released: set[tuple[int, int]]) -> list[int]:
    counts: dict[int, int] = {}
    for reporter, year in released:
        if reporter not in MIRROR_SKIPPED_REPORTERS:
            counts[year] = counts.get(year, 0) + 1
    eligible = sorted(y for y, n in counts.items() if n >= MIRROR_MIN_RELEASED_REPORTERS)
    if not eligible:
        return []
    latest = eligible[-1]
    return [y for y in (latest - 1, latest) if y in eligible]


@dataclass
class RequestLog:
    rows: list[dict] = field(default_factory=list)

    def ok(self, result: FetchResult, reporter: int, flows: Sequence[str], years: Sequence[int],
           row_counts: dict[tuple[str, int], int]) -> None:
        for flow in flows:
            for year in years:
                n = row_counts.get((flow, year), 0)
                status = "truncated" if result.truncated else ("empty" if n == 0 else "ok")
                self.rows.append({"kind": result.kind, "reporter_code": reporter, "flow": flow, "year": year,
                                  "endpoint": result.endpoint, "status": status, "row_count": n,
                                  "response_count": result.count, "request_id": result.request_id,
                                  "request": result.request_key, "error": None, "fetched_at": result.fetched_at})

    def failed(self, kind: str, reporter: int, flows: Sequence[str], years: Sequence[int], endpoint: str,
               exc: SourceHttpError | FetchResult) -> None:
        request = exc.request_key if isinstance(exc, FetchResult) else exc.request
        error = exc.error if isinstance(exc, FetchResult) else str(exc)[:500]
        for flow in flows:
            for year in years:
                self.rows.append({"kind": kind, "reporter_code": reporter, "flow": flow, "year": year,
                                  "endpoint": endpoint, "status": "failed", "row_count": 0, "response_count": None,
                                  "request_id": None, "request": request, "error": error, "fetched_at": None})

    def record(self, result: FetchResult, reporter: int, years: Sequence[int], rows: list[dict],
               flow_key: str = "source_flow") -> None:
        """Log one result: failed (its own flows × years only) or answered, with per flow × year row counts."""
        flows, periods = _result_scope(result, years)
        if result.failed:
            self.failed(result.kind, reporter, flows, periods, result.endpoint, result)
            return
        counts: dict[tuple[str, int], int] = {}
        for r in rows:
            counts[(r[flow_key], r["year"])] = counts.get((r[flow_key], r["year"]), 0) + 1
        self.ok(result, reporter, flows, periods, counts)

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=REQUEST_SCHEMA, orient="row") if self.rows else pl.DataFrame(
            schema=REQUEST_SCHEMA)


def expected_flags(requests: pl.DataFrame) -> dict[tuple[int, str, int], str]:
    """Flags for every requested reporter × flow × year from the request log: failures and empty answers."""
    out: dict[tuple[int, str, int], set[str]] = {}
    for r in requests.iter_rows(named=True):
        if r["year"] is None:
            continue
        mirror = r["kind"] == "mirror"
        reporter = TAIWAN_ISO_CODE if mirror else r["reporter_code"]
        flow = MIRRORED_FLOW[r["flow"]] if mirror else r["flow"]  # the log keeps the wire flow of the request
        flags = out.setdefault((reporter, flow, r["year"]), set())
        if r["status"] == "failed":
            flags.add("partial_http_failure")
        elif r["status"] == "truncated":
            flags.add("truncated")
        elif r["status"] == "empty":
            flags.add("zero_records")
    return {k: ";".join(sorted(v)) for k, v in out.items()}


def fetch_availability(client: ComtradeClient, partition_key: str) -> pl.DataFrame:
    result = client.availability(candidate_years(partition_key))
    rows = availability_rows(result)
    return pl.DataFrame(rows, schema=AVAILABILITY_SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=AVAILABILITY_SCHEMA)


def _guarded(log: RequestLog, kind: str, reporter: int, years: Sequence[int], endpoint: str,
             call: Callable[[], list[FetchResult]]) -> list[FetchResult]:
    try:
        return call()
    except ComtradeStopError:
        raise
    except SourceHttpError as exc:  # retries exhausted, malformed body, replay miss: log, flag, go on
        log.failed(kind, reporter, FLOWS, years, endpoint, exc)
        return []


@dataclass
class PartnerWeek:
    flows: pl.DataFrame
    requests: pl.DataFrame
    availability: pl.DataFrame
    years: dict[int, list[int]]


def fetch_partner_week(client: ComtradeClient, partition_key: str,
                       reporters: Sequence[int] = ALL_REPORTERS) -> PartnerWeek:
    availability = fetch_availability(client, partition_key)
    released = released_pairs(availability, partition_key)
    log = RequestLog()
    rows: list[dict] = []
    signature: list[tuple] = []  # what the flows frame is built from, result by result
    years_by_reporter: dict[int, list[int]] = {}
    endpoint = client.endpoint_label()
    for reporter in reporters:
        years = select_years(released, reporter)
        years_by_reporter[reporter] = years
        if not years:
            log.rows += [{"kind": "partner_totals", "reporter_code": reporter, "flow": f, "year": None,
                          "endpoint": endpoint, "status": "not_released", "row_count": 0, "response_count": None,
                          "request_id": None, "request": None, "error": "no year released by the as-of instant",
                          "fetched_at": None} for f in FLOWS]
            continue
        for result in _guarded(log, "partner_totals", reporter, years, endpoint,
                               lambda: client.partner_totals(reporter, FLOWS, years)):
            parsed = [] if result.failed else partner_flow_rows(result)
            log.record(result, reporter, years, parsed)
            rows += parsed
            signature.append(_result_signature(result))
    mirror_years = select_mirror_years(released)
    years_by_reporter[TAIWAN_ISO_CODE] = mirror_years
    if mirror_years:
        for result in _guarded(log, "mirror", TAIWAN_ISO_CODE, mirror_years, endpoint,
                               lambda: client.mirror(FLOWS, mirror_years)):
            parsed = [] if result.failed else mirror_flow_rows(result, released)
            log.record(result, TAIWAN_ISO_CODE, mirror_years, parsed)
            rows += parsed
            mirrored = _result_signature(result)
            if mirrored is not None and not result.failed:
                # the mirror rows depend on the response and on which of ITS reporter-years were released
                pairs = {(r["reporter_code"], r["year"]) for r in partner_flow_rows(result)}
                mirrored += (frozenset(pairs & released),)
            signature.append(mirrored)
    return PartnerWeek(_flows_frame(rows, signature), log.frame(), availability, years_by_reporter)


#: Partner-flow frames by the signature of the responses they were built from: the weeks of a backfill that select
#: the same years get the same responses, hence the same rows and the same frame (polars frames are immutable).
#: Bounded by rows kept.
FRAME_MEMO: BoundedMemo[pl.DataFrame] = BoundedMemo("partner flow frames", max_weight=200_000)


def _result_signature(result: FetchResult) -> tuple | None:
    if not result.failed and not result.content_sha256:
        return None  # body unknown (a hand-built result): no memo
    return (result.kind, result.endpoint, result.request_key, result.content_sha256, result.request_id,
            result.fetched_at, result.count, result.truncated, result.count_mismatch, result.error)


def _flows_frame(rows: list[dict], signature: list[tuple | None]) -> pl.DataFrame:
    """partner_flows_frame(rows), built once per distinct signature (the rows are a function of it)."""
    if any(part is None for part in signature):
        return partner_flows_frame(rows)
    key = tuple(signature)
    frame = FRAME_MEMO.get(key)
    if frame is None:
        frame = partner_flows_frame(rows)
        FRAME_MEMO.put(key, frame, weight=frame.height)
    return frame


def _result_scope(result: FetchResult, years: Sequence[int]) -> tuple[list[str], list[int]]:
    """Which flows and years one response covers, read back from its request key (flowCode=…, period=…)."""
    query = result.request_key.split("?", 1)[1] if "?" in result.request_key else ""
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    flows = [f for f in params.get("flowCode", ",".join(FLOWS)).split(",") if f]
    periods = [int(y) for y in params.get("period", "").split(",") if y.isdigit()] or list(years)
    return flows, periods
