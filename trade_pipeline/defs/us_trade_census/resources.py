"""US Census international-trade API client (``api.census.gov/data/timeseries/intltrade``).

Wire rules (sources.md §2): the key travels as the ``key`` query parameter (``secret_values``, so it never reaches
captures, the cache or logs); redirects are not followed: any 3xx or an ``X-DataWebAPI-KeyError`` header is an auth
failure; 204 means "no data for that query"; a 400 body is the API's own error message; ``time`` is passed with real
spaces ("from 2025-01 to 2025-10") so httpx encodes them as '+'.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from trade_pipeline.core.http import HttpResponse, SourceHttpError
from trade_pipeline.core.source_client import SourceClient
from trade_pipeline.defs.us_trade_census import release_calendar
from trade_pipeline.defs.us_trade_census.wire import (
    FLOW_ENDPOINT,
    FLOW_VARIABLES,
    CensusFormatError,
    CensusRecord,
    RejectedRow,
    ReplyRequest,
    parse_table,
    validate_reply,
)

DEFAULT_BASE_URL = "https://api.census.gov/data/timeseries/intltrade"
API_KEY_ENV = "CENSUS_API_KEY"

# Census Schedule C code -> (CTY_NAME as the API spells it, Traditional-Chinese name). The only partners we query.
PARTNERS: dict[str, tuple[str, str]] = {
    "5700": ("CHINA", "中國"),
    "5830": ("TAIWAN", "台灣"),
    "5800": ("KOREA, SOUTH", "南韓"),
    "5880": ("JAPAN", "日本"),
    "4280": ("GERMANY", "德國"),
}
FLOWS = ("export", "import")
LEVELS = ("HS2", "TOTAL")


class CensusAuthError(SourceHttpError):
    """The API refused the request for want of a (valid) key: redirect, X-DataWebAPI-KeyError, or an HTML page."""


class CensusQueryError(SourceHttpError):
    """HTTP 400: the API's plain-text error message (unknown variable, resource not available, ...)."""


@dataclass(frozen=True)
class CensusRequest:
    """One planned request: a flow, HS2 detail or country totals, one year from ``first_month`` to ``last_month``."""

    flow: str
    level: str
    year: int
    first_month: int
    last_month: int

    def time_predicate(self) -> str:
        # Real spaces: httpx encodes them as '+', which the API expects ('+' literal would become %2B).
        if self.first_month == self.last_month:
            return f"{self.year}-{self.first_month:02d}"
        return f"from {self.year}-{self.first_month:02d} to {self.year}-{self.last_month:02d}"

    def label(self) -> str:
        return f"{self.flow}/{self.level}/{self.time_predicate()}"

    def asks(self, partners: list[str] | frozenset[str]) -> ReplyRequest:
        """What a reply to this request must hold (the parse boundary checks every row against it)."""
        return ReplyRequest(
            flow=self.flow,
            level=self.level,
            year=self.year,
            first_month=self.first_month,
            last_month=self.last_month,
            partners=frozenset(partners),
        )


@dataclass(eq=False)  # identity: one fetch per answer and run, a key of the week built from it
class CensusFetch:
    """Outcome of one request: 'ok' (records), 'no_data' (204) or 'failed' (error text kept for the check).

    ``rejected``: the reply's rows that failed validation (quarantined by the asset, never used); ``request_key``
    names the request in the quarantine table.
    """

    request: CensusRequest
    status: str
    records: list[CensusRecord] = field(default_factory=list)
    request_id: str = ""
    fetched_at: str = ""
    error: str = ""
    rejected: list[RejectedRow] = field(default_factory=list)
    request_key: str = ""
    merged_duplicates: int = 0
    unreadable_body: str = ""  # a 200 reply that is not the Census format, as received (quarantined whole)


def _census_fetch(resp: HttpResponse, req: CensusRequest, asks: ReplyRequest) -> CensusFetch:
    """One answer parsed and validated against what its request asked (once per answer: ``resp.derive``, so once per
    distinct request and run; the weeks of a run that send the same request share the fetch, read-only)."""
    try:
        rows = parse_table(resp.content, resp.request_key)
    except CensusFormatError as exc:  # kept whole for the quarantine; the request counts as failed
        return CensusFetch(
            req,
            "failed",
            request_id=resp.request_id,
            fetched_at=resp.fetched_at,
            error=str(exc),
            request_key=resp.request_key,
            unreadable_body=resp.content.decode("utf-8", "replace"),
        )
    reply = validate_reply(rows, asks, resp.request_key)
    return CensusFetch(
        req,
        "failed" if reply.error else "ok",
        reply.records,
        resp.request_id,
        resp.fetched_at,
        error=reply.error,
        rejected=reply.rejected,
        request_key=resp.request_key,
        merged_duplicates=reply.merged_duplicates,
    )


def plan_requests(latest: tuple[int, int]) -> list[CensusRequest]:
    """Requests for one week: per flow and per year (latest data year and the previous year, for YoY and the
    January MoM), one HS2 request and one country-total request. Eight requests a week."""
    latest_year, latest_month = latest
    plan = []
    for year, last in ((latest_year - 1, 12), (latest_year, latest_month)):
        for flow in FLOWS:
            for level in LEVELS:
                plan.append(CensusRequest(flow=flow, level=level, year=year, first_month=1, last_month=last))
    return plan


#: Census Schedule C codes of the exposure requests: China and the all-countries total ('-', sources.md 2.3).
EXPOSURE_COUNTRIES: tuple[str, ...] = ("5700", "-")


def hs6_import_params(
    codes: list[str], year: int, first_month: int, last_month: int, countries: tuple[str, ...] = EXPOSURE_COUNTRIES
) -> list[tuple[str, str]]:
    """US general imports at HS6 for the listed codes and countries, one year's months, in one request.

    ``CTY_CODE=-`` (all countries) as a predicate and repeated ``CTY_CODE`` are used by public clients; repeating
    ``I_COMMODITY`` to ask for several codes at once is the API's documented predicate form but **unconfirmed** for
    intltrade, so the parser checks that every asked code came back (a missing code is flagged, never zero)."""
    req = CensusRequest(flow="import", level="HS6", year=year, first_month=first_month, last_month=last_month)
    params: list[tuple[str, str]] = [("get", "CTY_NAME,GEN_VAL_MO,I_COMMODITY")]
    params += [("CTY_CODE", c) for c in countries]
    params.append(("COMM_LVL", "HS6"))
    params += [("I_COMMODITY", c) for c in sorted(dict.fromkeys(codes))]
    params.append(("time", req.time_predicate()))
    return params


@dataclass(eq=False)  # identity: one fetch per answer and run, a key of the exposure rows built from it
class CensusRawFetch:
    """One exposure request: 'ok' (rows as parsed by header), 'no_data' (204) or 'failed' (error kept)."""

    year: int
    first_month: int
    last_month: int
    status: str
    rows: list[dict] = field(default_factory=list)
    request_key: str = ""
    request_id: str = ""
    fetched_at: str = ""
    error: str = ""


def _raw_fetch(resp: HttpResponse, year: int, first_month: int, last_month: int) -> CensusRawFetch:
    """One exposure answer parsed (once per answer: ``resp.derive``). Raises CensusFormatError."""
    return CensusRawFetch(
        year,
        first_month,
        last_month,
        "ok",
        parse_table(resp.content, resp.request_key),
        resp.request_key,
        resp.request_id,
        resp.fetched_at,
    )


class CensusTradeClient(SourceClient):
    """Census intltrade client. ``base_url`` empty = the public API; tests point it at a loopback server.

    ``min_interval_s`` spaces live calls (existing clients pause 1–3 s); the backoff knobs exist so fault tests can
    run without real sleeps.
    """

    source_name: ClassVar[str] = "census"

    min_interval_s: float = 1.0
    max_attempts: int = 4
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0

    def http_settings(self) -> dict:
        return {
            "timeout_s": 60.0,
            "follow_redirects": False,
            "min_interval_s": self.min_interval_s,
            "max_attempts": self.max_attempts,
            "backoff_base_s": self.backoff_base_s,
            "backoff_max_s": self.backoff_max_s,
        }

    def api_root(self) -> str:
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/")

    # -- sensor helpers ---------------------------------------------------------------------------------------------
    def latest_released_month(self, as_of: date) -> tuple[int, int]:
        """Newest (year, month) public on ``as_of``, from the release calendar (no request)."""
        return release_calendar.latest_released_month(as_of)

    def probe_month(self, year: int, month: int) -> bool:
        """Whether the API already serves ``year-month`` (one tiny request: China's export total). 204 = not yet."""
        flow = "export"
        _, month_var, _ = FLOW_VARIABLES[flow]
        params = [("get", f"CTY_CODE,{month_var}"), ("CTY_CODE", "5700"), ("time", f"{year}-{month:02d}")]
        resp = self._get(FLOW_ENDPOINT[flow], params, use_cache=False)
        if resp is None:
            return False
        rows = parse_table(resp.content, resp.request_key)
        return any(r.get(month_var) not in (None, "") for r in rows)

    # -- data -------------------------------------------------------------------------------------------------------
    def request_params(self, req: CensusRequest, partners: list[str]) -> list[tuple[str, str]]:
        commodity_var, month_var, ytd_var = FLOW_VARIABLES[req.flow]
        get = ["CTY_NAME", month_var, ytd_var]
        if req.level == "HS2":
            get += [commodity_var, f"{commodity_var}_LDESC"]
        params: list[tuple[str, str]] = [("get", ",".join(get))]
        params += [("CTY_CODE", code) for code in partners]
        if req.level == "HS2":
            params.append(("COMM_LVL", "HS2"))
        params.append(("time", req.time_predicate()))
        return params

    def fetch(self, req: CensusRequest, partners: list[str] | None = None) -> CensusFetch:
        """Send one planned request and validate its rows against what it asked (wire.reply_schema). Raises
        CensusAuthError, CensusQueryError, SourceHttpError or CensusFormatError (all naming the source and request).

        A reply that is not an answer to the request (e.g. no value column for its flow) is a 'failed' fetch whose
        rows are all rejected; rows that fail individually are rejected and the others kept.
        """
        partners = partners or list(PARTNERS)
        resp = self._get(FLOW_ENDPOINT[req.flow], self.request_params(req, partners))
        if resp is None:
            return CensusFetch(req, "no_data")
        return resp.derive(_census_fetch, req, req.asks(partners))

    def fetch_week(self, latest: tuple[int, int], partners: list[str] | None = None, log=None) -> list[CensusFetch]:
        """Every planned request for a week whose newest released month is ``latest``.

        A failing request is kept as a 'failed' fetch (the partial-failure check reports it) so the others' data are
        not lost; an auth failure or every request failing raises, since nothing usable would come out.
        """
        results: list[CensusFetch] = []
        for req in plan_requests(latest):
            try:
                fetched = self.fetch(req, partners)
            except CensusAuthError:
                raise
            except (SourceHttpError, CensusFormatError) as exc:
                if log is not None:
                    log.warning(f"[census] request {req.label()} failed: {exc}")
                results.append(CensusFetch(req, "failed", error=str(exc)))
                continue
            if log is not None and fetched.error:
                log.warning(f"[census] request {req.label()} failed: {fetched.error}")
            if log is not None and fetched.rejected:
                log.warning(
                    f"[census] request {req.label()}: {len(fetched.rejected)} rows quarantined "
                    f"(first: row {fetched.rejected[0].row_index + 1}, {fetched.rejected[0].action}: "
                    f"{fetched.rejected[0].reason})"
                )
            results.append(fetched)
        if results and all(f.status == "failed" for f in results):
            raise SourceHttpError(
                self.source_name,
                f"{len(results)} requests for data through {latest[0]}-{latest[1]:02d}",
                "every request failed; first error: " + results[0].error,
            )
        return results

    def hs6_imports(self, codes: list[str], year: int, first_month: int, last_month: int) -> CensusRawFetch:
        """US imports of ``codes`` (HS6) from China and from all countries, months first..last of ``year``, one
        request. Never raises except for an auth failure: a failed request is a 'failed' fetch naming the request."""
        params = hs6_import_params(codes, year, first_month, last_month)
        try:
            resp = self._get(FLOW_ENDPOINT["import"], params)
            if resp is None:
                return CensusRawFetch(year, first_month, last_month, "no_data")
            # parsed once per answer: the weeks of a run asking the same request share the fetch (read-only)
            return resp.derive(_raw_fetch, year, first_month, last_month)
        except CensusAuthError:
            raise
        except (SourceHttpError, CensusFormatError) as exc:
            return CensusRawFetch(year, first_month, last_month, "failed", error=str(exc)[:500])

    # -- internals --------------------------------------------------------------------------------------------------
    def _get(self, endpoint: str, params: list[tuple[str, str]], use_cache: bool = True) -> HttpResponse | None:
        """GET one endpoint; returns None for 204 (no data). Raises for auth failures, 400s and other errors."""
        key = os.environ.get(API_KEY_ENV, "")  # read at execution time, never at import
        url = f"{self.api_root()}/{endpoint}"
        resp = self.http.request(
            "GET",
            url,
            params=params,
            secret_values={"key": key} if key else None,
            use_cache=use_cache,
            cache_if=lambda r: r.status == 200 and r.content.lstrip()[:1] == b"[",
        )
        described = resp.request_key
        key_hint = (
            f"{API_KEY_ENV} is not set; the API requires a key since 2026-05"
            if not key
            else f"check the key in {API_KEY_ENV}"
        )
        if 300 <= resp.status < 400 or "x-datawebapi-keyerror" in resp.headers:
            location = resp.headers.get("location", "")
            raise CensusAuthError(
                self.source_name,
                described,
                f"API key rejected (redirect to {location or 'n/a'}, X-DataWebAPI-KeyError="
                f"{resp.headers.get('x-datawebapi-keyerror', 'absent')}); {key_hint}",
                resp.status,
            )
        if resp.status == 204:
            return None
        if resp.status == 400:
            message = resp.content.decode("utf-8", "replace").strip()[:500]
            raise CensusQueryError(self.source_name, described, f"the API rejected the query: {message!r}", 400)
        if resp.status != 200:
            snippet = resp.content[:200].decode("utf-8", "replace")
            raise SourceHttpError(self.source_name, described, f"unexpected HTTP status: {snippet!r}", resp.status)
        body = resp.content.lstrip()
        if not body:
            raise CensusFormatError(
                f"[census] HTTP 200 with an empty body (204 is the no-data answer; truncated?) — request: {described}"
            )
        content_type = resp.headers.get("content-type", "")
        if body[:1] == b"<" or "html" in content_type:
            raise CensusAuthError(
                self.source_name,
                described,
                f"HTML page instead of JSON (the API's old invalid-key answer); {key_hint}",
                200,
            )
        return resp
