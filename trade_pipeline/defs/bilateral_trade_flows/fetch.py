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

from trade_pipeline.core import contract
from trade_pipeline.core.http import SourceHttpError
from trade_pipeline.core.partitions import as_of_instant
from trade_pipeline.core.quarantine import REJECTED, Quarantined, flag_groups, flagged_group_keys
from trade_pipeline.defs.bilateral_trade_flows.codes import ALL_REPORTERS, TAIWAN_ISO_CODE
from trade_pipeline.defs.bilateral_trade_flows.metrics import flag_partners_exceed_world
from trade_pipeline.defs.bilateral_trade_flows.parse import (
    AVAILABILITY_SCHEMA,
    MIRROR_SKIPPED_REPORTERS,
    MIRRORED_FLOW,
    availability_rows,
    mirror_flow_rows,
    partner_flow_rows,
    partner_flows_frame_and_quarantine,
    quarantined,
)
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient, ComtradeStopError, FetchResult
from trade_pipeline.defs.bilateral_trade_flows.validate import Ask, check_replies

FLOWS = ("X", "M")
CANDIDATE_YEARS_BACK = 4  # as-of year minus 1..4: annual data lag 6–12 months (sources.md 1.12)
MIRROR_MIN_RELEASED_REPORTERS = 30  # a mirror year needs at least this many reporters released
T_PARTNER_FLOWS = contract.COMTRADE_PARTNER_FLOWS

REQUEST_SCHEMA = {
    "kind": pl.Utf8,
    "reporter_code": pl.Int32,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "endpoint": pl.Utf8,
    "status": pl.Utf8,
    "row_count": pl.Int32,
    "response_count": pl.Int32,
    "request_id": pl.Utf8,
    "request": pl.Utf8,
    "error": pl.Utf8,
    "fetched_at": pl.Utf8,
    "quarantined": pl.Int32,
}


def candidate_years(partition_key: str) -> list[int]:
    year = as_of_instant(partition_key).year
    return list(range(year - CANDIDATE_YEARS_BACK, year))


def released_pairs(availability: pl.DataFrame, partition_key: str) -> set[tuple[int, int]]:
    """(reporter, year) pairs first released by the week's as-of instant."""
    cutoff = as_of_instant(partition_key).replace(tzinfo=None)
    return {
        (r["reporter_code"], r["year"])
        for r in availability.iter_rows(named=True)
        if datetime.fromisoformat(r["first_released"]) <= cutoff
    }


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
    """One row per requested flow × year of each request: status ('ok', 'empty', 'truncated', 'failed', 'mismatch'
    = rows came back but none answered the request, 'not_released'), rows kept and rows quarantined."""

    rows: list[dict] = field(default_factory=list)

    def ok(
        self,
        result: FetchResult,
        reporter: int,
        flows: Sequence[str],
        years: Sequence[int],
        row_counts: dict[tuple[str, int], int],
        quarantined: dict[tuple[str, int], int] | None = None,
    ) -> None:
        for flow in flows:
            for year in years:
                n = row_counts.get((flow, year), 0)
                q = (quarantined or {}).get((flow, year), 0)
                status = (
                    "truncated" if result.truncated else "mismatch" if n == 0 and q else "empty" if n == 0 else "ok"
                )
                self.rows.append(
                    {
                        "kind": result.kind,
                        "reporter_code": reporter,
                        "flow": flow,
                        "year": year,
                        "endpoint": result.endpoint,
                        "status": status,
                        "row_count": n,
                        "response_count": result.count,
                        "request_id": result.request_id,
                        "request": result.request_key,
                        "error": None,
                        "fetched_at": result.fetched_at,
                        "quarantined": q,
                    }
                )

    def failed(
        self,
        kind: str,
        reporter: int,
        flows: Sequence[str],
        years: Sequence[int],
        endpoint: str,
        exc: SourceHttpError | FetchResult,
        quarantined: int = 0,
    ) -> None:
        request = exc.request_key if isinstance(exc, FetchResult) else exc.request
        error = exc.error if isinstance(exc, FetchResult) else str(exc)[:500]
        for flow in flows:
            for year in years:
                self.rows.append(
                    {
                        "kind": kind,
                        "reporter_code": reporter,
                        "flow": flow,
                        "year": year,
                        "endpoint": endpoint,
                        "status": "failed",
                        "row_count": 0,
                        "response_count": None,
                        "request_id": None,
                        "request": request,
                        "error": error,
                        "fetched_at": None,
                        "quarantined": quarantined,
                    }
                )

    def record(
        self,
        result: FetchResult,
        reporter: int,
        years: Sequence[int],
        rows: list[dict],
        flow_key: str = "source_flow",
        quarantined: Sequence[Quarantined] = (),
    ) -> None:
        """Log one result: failed (its own flows × years only) or answered, with per flow × year row counts and
        counts of quarantined rows (a flow × year with rows refused and none kept was not answered: 'mismatch')."""
        flows, periods = _result_scope(result, years)
        if result.failed:
            self.failed(result.kind, reporter, flows, periods, result.endpoint, result, len(quarantined))
            return
        counts: dict[tuple[str, int], int] = {}
        for r in rows:
            counts[(r[flow_key], r["year"])] = counts.get((r[flow_key], r["year"]), 0) + 1
        refused: dict[tuple[str, int], int] = {}
        mirror = result.kind == "mirror"
        for q in quarantined:
            if not q.flags_group:
                continue
            q_flows = q.group.get("flow")
            q_years = q.group.get("year")
            for f in q_flows if isinstance(q_flows, list) else [q_flows]:
                wire_flow = MIRRORED_FLOW.get(f, f) if mirror else f  # the log keeps the wire flow
                for y in q_years if isinstance(q_years, list) else [q_years]:
                    refused[(wire_flow, y)] = refused.get((wire_flow, y), 0) + 1
        self.ok(result, reporter, flows, periods, counts, refused)

    def frame(self) -> pl.DataFrame:
        return (
            pl.DataFrame(self.rows, schema=REQUEST_SCHEMA, orient="row")
            if self.rows
            else pl.DataFrame(schema=REQUEST_SCHEMA)
        )


def expected_flags(requests: pl.DataFrame) -> dict[tuple[int, str, int], str]:
    """Flags for every requested reporter × flow × year from the request log: failures, empty answers, answers
    that did not answer the request, quarantined rows."""
    out: dict[tuple[int, str, int], set[str]] = {}
    has_quarantine = "quarantined" in requests.columns
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
        elif r["status"] == "mismatch":
            flags.add("reply_mismatch")
        if has_quarantine and (r["quarantined"] or 0) > 0:
            flags.add("quarantined_rows")
    return {k: ";".join(sorted(v)) for k, v in out.items()}


def unreadable_item(result: FetchResult, reporter: int, table: str) -> list[Quarantined]:
    """A reply that could not be read at all: kept (as text, up to a limit) as one quarantine item of its scope."""
    if not result.failed or result.rejected_body is None:
        return []
    ask = Ask.of(result.kind, result.request_key)
    return [
        Quarantined(
            source="comtrade",
            request=result.request_key,
            row=result.rejected_body,
            reason_code="reply_unreadable",
            reason=result.error or "reply could not be read",
            group_table=table,
            group=ask.group(None, None, reporter),
            action=REJECTED,
            request_id=result.request_id,
            fetched_at=result.fetched_at,
        )
    ]


def fetch_availability(client: ComtradeClient, partition_key: str) -> pl.DataFrame:
    result = client.availability(candidate_years(partition_key))
    rows = availability_rows(result)
    return (
        pl.DataFrame(rows, schema=AVAILABILITY_SCHEMA, orient="row")
        if rows
        else pl.DataFrame(schema=AVAILABILITY_SCHEMA)
    )


def _guarded(
    log: RequestLog,
    kind: str,
    reporter: int,
    years: Sequence[int],
    endpoint: str,
    call: Callable[[], list[FetchResult]],
) -> list[FetchResult]:
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
    quarantined: list[Quarantined] = field(default_factory=list)


def fetch_partner_week(
    client: ComtradeClient, partition_key: str, reporters: Sequence[int] = ALL_REPORTERS
) -> PartnerWeek:
    availability = fetch_availability(client, partition_key)
    released = released_pairs(availability, partition_key)
    log = RequestLog()
    replies: list[tuple[int, list[int], FetchResult]] = []  # (reporter, years, result), in request order
    years_by_reporter: dict[int, list[int]] = {}
    endpoint = client.endpoint_label()
    for reporter in reporters:
        years = select_years(released, reporter)
        years_by_reporter[reporter] = years
        if not years:
            log.rows += [
                {
                    "kind": "partner_totals",
                    "reporter_code": reporter,
                    "flow": f,
                    "year": None,
                    "endpoint": endpoint,
                    "status": "not_released",
                    "row_count": 0,
                    "response_count": None,
                    "request_id": None,
                    "request": None,
                    "error": "no year released by the as-of instant",
                    "fetched_at": None,
                    "quarantined": 0,
                }
                for f in FLOWS
            ]
            continue
        replies += [
            (reporter, years, r)
            for r in _guarded(
                log,
                "partner_totals",
                reporter,
                years,
                endpoint,
                lambda reporter=reporter, years=years: client.partner_totals(reporter, FLOWS, years),
            )
        ]
    mirror_years = select_mirror_years(released)
    years_by_reporter[TAIWAN_ISO_CODE] = mirror_years
    if mirror_years:
        replies += [
            (TAIWAN_ISO_CODE, mirror_years, r)
            for r in _guarded(
                log, "mirror", TAIWAN_ISO_CODE, mirror_years, endpoint, lambda: client.mirror(FLOWS, mirror_years)
            )
        ]
    check_replies([r for _, _, r in replies], T_PARTNER_FLOWS)  # one schema pass over every new reply
    items: list[Quarantined] = []
    for reporter, years, result in replies:
        parsed, refused = _reply_rows(reporter, result, released)
        items += refused
        log.record(result, reporter, years, parsed, quarantined=refused)
    # Weeks with the same answers (one result per answered request and run) get the same frame when the released
    # years it depends on are the same: built once per run, keyed by the results themselves (SourceHttp.per_run).
    answered = tuple((rep, r) for rep, _, r in replies)
    flows, duplicates = client.http.per_run(week_flows_frame, answered, mirror_released(answered, released))
    return PartnerWeek(flows, log.frame(), availability, years_by_reporter, items + duplicates)


GROUP_COLS = ["reporter_code", "flow", "year"]


def _reply_rows(
    reporter: int, result: FetchResult, released: set[tuple[int, int]] | frozenset[tuple[int, int]]
) -> tuple[list[dict], list[Quarantined]]:
    """(rows kept, quarantine items) of one reply of a week: refused rows and an unreadable body are quarantined;
    the mirror keeps the rows of released reporter-years only."""
    refused = [] if result.failed else quarantined(result)
    refused += unreadable_item(result, reporter, T_PARTNER_FLOWS)
    if result.failed:
        return [], refused
    return (mirror_flow_rows(result, released) if result.kind == "mirror" else partner_flow_rows(result)), refused


def mirror_released(
    replies: Sequence[tuple[int, FetchResult]], released: set[tuple[int, int]]
) -> frozenset[tuple[int, int]]:
    """The released reporter-years a week's frame depends on: the frame reads ``released`` only to keep the mirror
    rows of released reporter-years, so the pairs that occur in its mirror replies give the same frame, and weeks
    whose other releases differ share one build."""
    held = {
        (row["reporter_code"], row["year"])
        for _, result in replies
        if result.kind == "mirror" and not result.failed
        for row in partner_flow_rows(result)
    }
    return frozenset(held & released)


def week_flows_frame(
    replies: tuple[tuple[int, FetchResult], ...], released: frozenset[tuple[int, int]]
) -> tuple[pl.DataFrame, list[Quarantined]]:
    """build_flows_frame of one week from its (reporter, result) replies in request order (partner totals, then
    the mirror) and the reporter-years released by its as-of instant. Shared by the weeks of a run: read-only."""
    rows: list[dict] = []
    items: list[Quarantined] = []
    for reporter, result in replies:
        parsed, refused = _reply_rows(reporter, result, released)
        rows += parsed
        items += refused
    return build_flows_frame(rows, items)


def build_flows_frame(
    rows: list[dict], quarantined_items: Sequence[Quarantined] = ()
) -> tuple[pl.DataFrame, list[Quarantined]]:
    """The stored partner-flow frame of a week and the quarantine items of its duplicates: duplicates resolved,
    every group that lost a row flagged ``quarantined_rows``, groups whose partners exceed World flagged."""
    frame, duplicates = partner_flows_frame_and_quarantine(rows)
    groups = flagged_group_keys([*quarantined_items, *duplicates], T_PARTNER_FLOWS, GROUP_COLS)
    frame = flag_groups(frame, groups, GROUP_COLS)
    return flag_partners_exceed_world(frame), duplicates


def _result_scope(result: FetchResult, years: Sequence[int]) -> tuple[list[str], list[int]]:
    """Which flows and years one response covers, read back from its request key (flowCode=…, period=…)."""
    query = result.request_key.split("?", 1)[1] if "?" in result.request_key else ""
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    flows = [f for f in params.get("flowCode", ",".join(FLOWS)).split(",") if f]
    periods = [int(y) for y in params.get("period", "").split(",") if y.isdigit()] or list(years)
    return flows, periods
