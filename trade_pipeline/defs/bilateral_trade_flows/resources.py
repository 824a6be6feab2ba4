"""UN Comtrade API v1 client (sources.md section 1).

Two access families share one query shape:

- keyed ``/data/v1/get/C/A/HS`` (subscription key from ``$COMTRADE_API_KEY``, read when a request is made and sent
  only as the ``Ocp-Apim-Subscription-Key`` secret header): 100,000 records and 500 calls per day; flow and period
  lists go in one call.
- keyless preview ``/public/v1/preview/C/A/HS``: 500 records, one period and one flow per call, throttled by IP.

Every call returns a :class:`FetchResult` that says whether the answer is complete. A response whose ``count``
reaches the cap is treated as truncated: the keyed client refetches it narrower (one flow and one year per call);
when it cannot get narrower the rows are kept but marked ``truncated`` so every figure built from them is flagged.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, TypeVar

from trade_pipeline.core.http import HttpMode, HttpResponse, SourceHttpError
from trade_pipeline.core.paths import write_text_atomic
from trade_pipeline.core.quarantine import loads_keeping_literals
from trade_pipeline.core.source_client import SourceClient
from trade_pipeline.defs.bilateral_trade_flows.codes import HS2_CODES, TAIWAN_PARTNER_CODE

DEFAULT_BASE_URL = "https://comtradeapi.un.org"
API_KEY_ENV = "COMTRADE_API_KEY"
API_KEY_HEADER = "Ocp-Apim-Subscription-Key"
PREVIEW_PATH = "/public/v1/preview/C/A/HS"
KEYED_PATH = "/data/v1/get/C/A/HS"
AVAILABILITY_PATH = "/public/v1/getDa/C/A/HS"
PREVIEW_RECORD_CAP = 500
KEYED_RECORD_CAP = 100_000
KEYED_DAILY_CALLS = 500
QUOTA_FILE = "keyed_call_quota.json"

ENDPOINTS = ("auto", "preview", "keyed")
T = TypeVar("T")


class ComtradeStopError(SourceHttpError):
    """An error after which no further Comtrade call of this run can succeed (quota, key). Never retried."""


class ComtradeQuotaError(ComtradeStopError):
    pass


class ComtradeAuthError(ComtradeStopError):
    pass


class ComtradeResponseError(SourceHttpError):
    """A response that is not a usable Comtrade envelope (malformed JSON, missing fields, server-side error)."""


@dataclass(eq=False)  # identity: one result per answered request and run, a key of work built from it
class FetchResult:
    """One logical request's outcome: its rows and how far they can be trusted."""

    kind: str  # 'partner_totals' | 'hs2_world' | 'mirror' | 'availability'
    endpoint: str  # 'preview' | 'keyed' | 'public'
    request_key: str
    request_id: str
    fetched_at: str
    rows: list[dict] = field(default_factory=list)
    count: int = 0
    truncated: bool = False
    count_mismatch: bool = False
    error: str | None = None  # set when this request failed for good (its rows are empty, its scope is flagged)
    rejected_body: str | None = None  # a reply that could not be read as an envelope: its text (→ quarantine)
    # What has been computed from this result (derive); never part of equality or repr.
    _derived: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def failed(self) -> bool:
        return self.error is not None

    def derive(self, fn: Callable[..., T], *args: Hashable) -> T:
        """``fn(self, *args)``, computed once per result. An answered request's result is built once per answer, and
        the run's SourceHttp gives every repeat of a request the same answer: each distinct request is turned into
        rows once per run. The value is shared: treat it as read-only. An exception is not remembered."""
        key = (fn, args)
        if key not in self._derived:
            self._derived[key] = fn(self, *args)
        return self._derived[key]

    @staticmethod
    def derive_all(results: Sequence[FetchResult], batch: Callable[..., Sequence[T]], *args: Hashable) -> list[T]:
        """What :meth:`derive` gives, for many results whose values are cheaper computed together: ``batch(todo,
        *args)`` is called once with the results that have no value yet (a list, each once) and returns one value per
        result, in order; each is kept on its result. Returns one value per result of ``results``."""
        key = (batch, args)
        todo = list({id(r): r for r in results if key not in r._derived}.values())
        if todo:
            values = batch(todo, *args)
            if len(values) != len(todo):
                raise ValueError(
                    f"{getattr(batch, '__name__', batch)} returned {len(values)} values for {len(todo)} results"
                )
            for result, value in zip(todo, values):
                result._derived[key] = value
        return [r._derived[key] for r in results]


def _csv(values: Iterable[object]) -> str:
    return ",".join(str(v) for v in values)


def partner_totals_params(
    reporter: int, flows: Sequence[str], years: Sequence[int], preview: bool
) -> list[tuple[str, str]]:
    """sources.md 1.7: every partner's TOTAL for a reporter (partnerCode omitted, so World comes back as row 0)."""
    params = [
        ("reporterCode", str(reporter)),
        ("period", _csv(years)),
        ("flowCode", _csv(flows)),
        ("cmdCode", "TOTAL"),
        ("partner2Code", "0"),
        ("motCode", "0"),
        ("customsCode", "C00"),
        ("breakdownMode", "classic"),
        ("includeDesc", "true"),
    ]
    return params + ([("maxRecords", str(PREVIEW_RECORD_CAP))] if preview else [])


def hs2_world_params(reporter: int, flows: Sequence[str], years: Sequence[int], preview: bool) -> list[tuple[str, str]]:
    """Every HS chapter's total against World (partnerCode=0) for a reporter: the commodity structure."""
    params = [
        ("reporterCode", str(reporter)),
        ("period", _csv(years)),
        ("flowCode", _csv(flows)),
        ("cmdCode", _csv(HS2_CODES)),
        ("partnerCode", "0"),
        ("partner2Code", "0"),
        ("motCode", "0"),
        ("customsCode", "C00"),
        ("breakdownMode", "classic"),
        ("includeDesc", "true"),
    ]
    return params + ([("maxRecords", str(PREVIEW_RECORD_CAP))] if preview else [])


def mirror_params(partner: int, flows: Sequence[str], years: Sequence[int], preview: bool) -> list[tuple[str, str]]:
    """Every reporter's TOTAL with one partner (reporterCode omitted): mirror statistics for that partner."""
    params = [
        ("partnerCode", str(partner)),
        ("period", _csv(years)),
        ("flowCode", _csv(flows)),
        ("cmdCode", "TOTAL"),
        ("partner2Code", "0"),
        ("motCode", "0"),
        ("customsCode", "C00"),
        ("breakdownMode", "classic"),
        ("includeDesc", "true"),
    ]
    return params + ([("maxRecords", str(PREVIEW_RECORD_CAP))] if preview else [])


#: Partners of the exposure requests: World (0) and the five reporters the briefing follows (490 = Taiwan).
EXPOSURE_PARTNERS: tuple[int, ...] = (0, 842, 392, 410, 276, 490)


def hs6_exports_params(
    reporter: int, codes: Sequence[str], years: Sequence[int], partners: Sequence[int], preview: bool
) -> list[tuple[str, str]]:
    """A reporter's exports of HS6 subheadings to the listed partners (World included), one flow, given years.
    Keyed: the whole code list in one call; preview: one code per call (the builder passes one)."""
    params = [
        ("reporterCode", str(reporter)),
        ("period", _csv(years)),
        ("flowCode", "X"),
        ("cmdCode", _csv(codes)),
        ("partnerCode", _csv(partners)),
        ("partner2Code", "0"),
        ("motCode", "0"),
        ("customsCode", "C00"),
        ("breakdownMode", "classic"),
        ("includeDesc", "true"),
    ]
    return params + ([("maxRecords", str(PREVIEW_RECORD_CAP))] if preview else [])


def availability_params(years: Sequence[int]) -> list[tuple[str, str]]:
    """Data availability (sources.md 1.12) of every reporter for the candidate years, in one call."""
    return [("period", _csv(years))]


def parse_envelope(resp: HttpResponse, source: str = "comtrade") -> tuple[int, list[dict]]:
    """(count, data) of a 200 Comtrade envelope, or ComtradeResponseError naming the request."""
    try:
        # non-finite literals (1e400, NaN) stay WireNumber text: the wire schema refuses them, naming what was sent
        doc = loads_keeping_literals(resp.content.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = resp.content[:120].decode("utf-8", "replace")
        raise ComtradeResponseError(
            source, resp.request_key, f"response is not JSON ({exc}): {snippet!r}", resp.status
        ) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise ComtradeResponseError(source, resp.request_key, "response has no 'data' array", resp.status)
    error = doc.get("error")
    if error:
        raise ComtradeResponseError(
            source, resp.request_key, f"server reported an error: {str(error)[:200]!r}", resp.status
        )
    data = [r for r in doc["data"] if isinstance(r, dict)]
    count = doc.get("count")
    if not isinstance(count, int):
        count = len(data)
    return count, data


def _fetch_result(resp: HttpResponse, kind: str, keyed: bool, source: str) -> FetchResult:
    """The result of one answered request (built once per answer: ``resp.derive``)."""
    count, data = resp.derive(parse_envelope, source)
    # The availability listing has no documented cap; the data endpoints do.
    cap = None if kind == "availability" else (KEYED_RECORD_CAP if keyed else PREVIEW_RECORD_CAP)
    return FetchResult(
        kind=kind,
        endpoint="keyed" if keyed else ("public" if kind == "availability" else "preview"),
        request_key=resp.request_key,
        request_id=resp.request_id,
        fetched_at=resp.fetched_at,
        rows=data,
        count=count,
        truncated=cap is not None and (count >= cap or len(data) >= cap),
        count_mismatch=count != len(data),
    )


class ComtradeClient(SourceClient):
    """UN Comtrade v1. ``endpoint``: ``auto`` (keyed when live/record and ``$COMTRADE_API_KEY`` is set, else
    preview; replay uses preview), ``preview`` or ``keyed``. ``daily_call_budget`` keyed calls per UTC day are
    allowed (the plan's 500 minus one, so the run stops before the 500th call)."""

    source_name: ClassVar[str] = "comtrade"

    endpoint: str = "auto"
    daily_call_budget: int = KEYED_DAILY_CALLS - 1
    min_interval_s: float = 1.0

    # -- configuration -----------------------------------------------------------------------------------------
    def http_settings(self) -> dict:
        return {
            "timeout_s": 120.0,
            "min_interval_s": self.min_interval_s,
            "cache_ttl_s": 7 * 24 * 3600,
            "max_attempts": 4,
        }

    def api_root(self) -> str:
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/")

    def _api_key(self) -> str:
        return os.environ.get(API_KEY_ENV, "").strip()

    def uses_keyed_endpoint(self) -> bool:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"[comtrade] endpoint must be one of {ENDPOINTS}, got {self.endpoint!r}")
        if self.endpoint == "keyed":
            return True
        if self.endpoint == "preview":
            return False
        return self.resolved_mode() is not HttpMode.REPLAY and bool(self._api_key())

    def record_cap(self) -> int:
        return KEYED_RECORD_CAP if self.uses_keyed_endpoint() else PREVIEW_RECORD_CAP

    def endpoint_label(self) -> str:
        return "keyed" if self.uses_keyed_endpoint() else "preview"

    # -- daily quota (keyed) -------------------------------------------------------------------------------------
    def quota_path(self) -> Path:
        return self.resolved_cache_dir() / QUOTA_FILE

    def _read_quota(self) -> dict:
        today = datetime.now(UTC).date().isoformat()
        try:
            doc = json.loads(self.quota_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = {}
        if doc.get("utc_date") != today:
            doc = {"utc_date": today, "calls": 0, "exhausted": False}
        return doc

    def _write_quota(self, doc: dict) -> None:
        write_text_atomic(self.quota_path(), json.dumps(doc))

    @contextlib.contextmanager
    def _quota_lock(self) -> Iterator[None]:
        """Serialize the counter's read-modify-write across processes (two keyed runs must not undercount)."""
        lock = self.quota_path().with_suffix(".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def keyed_calls_today(self) -> int:
        return int(self._read_quota()["calls"])

    def _check_quota(self, described: str) -> int:
        """Raise ComtradeQuotaError when no keyed call is left today; else return how many are left."""
        doc = self._read_quota()
        if doc.get("exhausted"):
            raise ComtradeQuotaError(
                self.source_name,
                described,
                f"daily keyed call quota reported exhausted earlier today ({doc['utc_date']} UTC); "
                "stopping instead of calling again",
            )
        if doc["calls"] >= self.daily_call_budget:
            raise ComtradeQuotaError(
                self.source_name,
                described,
                f"{doc['calls']} keyed calls already made on {doc['utc_date']} UTC; the budget is "
                f"{self.daily_call_budget} (plan limit {KEYED_DAILY_CALLS}/day) — stopping before "
                "exceeding it; rerun after 00:00 UTC",
            )
        return self.daily_call_budget - int(doc["calls"])

    def _reserve_quota(self, wanted: int, described: str) -> int:
        """Reserve up to ``wanted`` keyed calls (attempts) before sending, under the cross-process lock, so two
        runs can never both spend the last call; unused reservations are handed back by :meth:`_count_quota`."""
        with self._quota_lock():
            left = self._check_quota(described)
            reserved = max(1, min(wanted, left))
            doc = self._read_quota()
            doc["calls"] = int(doc["calls"]) + reserved
            self._write_quota(doc)
            return reserved

    def _count_quota(self, calls: int, exhausted: bool = False) -> None:
        """Add ``calls`` to today's counter (negative: hand back an unused reservation)."""
        with self._quota_lock():
            doc = self._read_quota()
            doc["calls"] = max(0, int(doc["calls"]) + calls)
            doc["exhausted"] = bool(doc.get("exhausted")) or exhausted
            self._write_quota(doc)

    # -- one HTTP exchange -------------------------------------------------------------------------------------
    def _get(self, path: str, params: list[tuple[str, str]], keyed: bool) -> HttpResponse:
        url = self.api_root() + path
        live = self.resolved_mode() is not HttpMode.REPLAY
        secret_headers: dict[str, str] = {}
        if keyed and live:
            key = self._api_key()
            if not key:
                raise ComtradeAuthError(
                    self.source_name, f"GET {url}", f"endpoint 'keyed' needs ${API_KEY_ENV} in the environment"
                )
            secret_headers = {API_KEY_HEADER: key}
        # A response served from the fresh cache costs no call: a cached re-run works even on a spent quota.
        metered = keyed and live and not self.http.is_cached("GET", url, params=params)
        reserved = 0
        if metered:
            # Retries are calls too: reserve the attempts first, never letting a retried request pass the budget.
            reserved = self._reserve_quota(self.http.max_attempts, f"GET {url}")
        before = self.http.stats.network_requests
        try:
            resp = self.http.request(
                "GET",
                url,
                params=params,
                secret_headers=secret_headers,
                cache_if=_is_clean_envelope,
                max_attempts=reserved or None,
            )
        finally:
            if metered:
                self._count_quota((self.http.stats.network_requests - before) - reserved)
        if resp.status == 403 and b"quota" in resp.content.lower():
            if keyed and live:
                self._count_quota(0, exhausted=True)
            raise ComtradeQuotaError(
                self.source_name,
                resp.request_key,
                "daily call volume quota exhausted (403, not retried): "
                + resp.content[:200].decode("utf-8", "replace"),
                resp.status,
            )
        if resp.status == 401:
            raise ComtradeAuthError(
                self.source_name,
                resp.request_key,
                "subscription key rejected: " + resp.content[:200].decode("utf-8", "replace"),
                resp.status,
            )
        if resp.status != 200:
            raise SourceHttpError(
                self.source_name,
                resp.request_key,
                "unexpected status: " + resp.content[:200].decode("utf-8", "replace"),
                resp.status,
            )
        return resp

    def _fetch(self, kind: str, path: str, params: list[tuple[str, str]], keyed: bool) -> FetchResult:
        resp = self._get(path, params, keyed)
        try:
            # Parsed once per answer: a request repeated by another week of the run gets the same result object.
            return resp.derive(_fetch_result, kind, keyed, self.source_name)
        except ComtradeResponseError as exc:
            exc.body = resp.content.decode("utf-8", "replace")  # type: ignore[attr-defined]  # kept in quarantine
            raise

    def _fetch_flows_years(
        self, kind: str, build, subject: int, flows: Sequence[str], years: Sequence[int]
    ) -> list[FetchResult]:
        """Keyed: one call for all flows and years, split per flow×year when it comes back capped.
        Preview: one call per flow×year (the preview accepts one period), already the narrowest query."""
        keyed = self.uses_keyed_endpoint()
        path = KEYED_PATH if keyed else PREVIEW_PATH
        if keyed:
            first = self._try_fetch(kind, path, build(subject, list(flows), list(years), False), keyed)
            if first.failed or not first.truncated or (len(flows) == 1 and len(years) == 1):
                return [first]
            return [self._try_fetch(kind, path, build(subject, [f], [y], False), keyed) for f in flows for y in years]
        return [self._try_fetch(kind, path, build(subject, [f], [y], True), keyed) for f in flows for y in years]

    def _try_fetch(self, kind: str, path: str, params: list[tuple[str, str]], keyed: bool) -> FetchResult:
        """One request; a failure (retries exhausted, bad body, replay miss) becomes a failed result covering only
        that request's flows and years, so the other requests of the same reporter keep their rows. Quota and key
        errors (ComtradeStopError) still stop the run."""
        try:
            return self._fetch(kind, path, params, keyed)
        except ComtradeStopError:
            raise
        except SourceHttpError as exc:
            return FetchResult(
                kind=kind,
                endpoint="keyed" if keyed else "preview",
                request_key=exc.request,
                request_id="",
                fetched_at="",
                error=str(exc)[:500],
                rejected_body=getattr(exc, "body", None),
            )

    # -- public API ------------------------------------------------------------------------------------------------
    def partner_totals(self, reporter: int, flows: Sequence[str], years: Sequence[int]) -> list[FetchResult]:
        return self._fetch_flows_years("partner_totals", partner_totals_params, reporter, flows, years)

    def hs2_world(self, reporter: int, flows: Sequence[str], years: Sequence[int]) -> list[FetchResult]:
        return self._fetch_flows_years("hs2_world", hs2_world_params, reporter, flows, years)

    def mirror(
        self, flows: Sequence[str], years: Sequence[int], partner: int = TAIWAN_PARTNER_CODE
    ) -> list[FetchResult]:
        return self._fetch_flows_years("mirror", mirror_params, partner, flows, years)

    def hs6_exports(
        self, reporter: int, codes: Sequence[str], year: int, partners: Sequence[int] = EXPOSURE_PARTNERS
    ) -> list[FetchResult]:
        """Exports of ``codes`` (HS6) by ``reporter`` to ``partners`` in ``year``: keyed, one call for the whole list
        (split into one call per code when it comes back capped); preview, one call per code. Each request goes
        through :meth:`_try_fetch` (quota reserved before sending; a failure covers that request only)."""
        codes = sorted(dict.fromkeys(codes))
        if not codes:
            return []
        keyed = self.uses_keyed_endpoint()
        if keyed:
            first = self._try_fetch(
                "hs6_exports", KEYED_PATH, hs6_exports_params(reporter, codes, [year], partners, False), keyed
            )
            if first.failed or not first.truncated or len(codes) == 1:
                return [first]
            return [
                self._try_fetch(
                    "hs6_exports", KEYED_PATH, hs6_exports_params(reporter, [c], [year], partners, False), keyed
                )
                for c in codes
            ]
        return [
            self._try_fetch(
                "hs6_exports", PREVIEW_PATH, hs6_exports_params(reporter, [c], [year], partners, True), keyed
            )
            for c in codes
        ]

    def availability(self, years: Sequence[int]) -> FetchResult:
        # Public and key-free in every mode: it costs no quota.
        return self._fetch("availability", AVAILABILITY_PATH, availability_params(years), keyed=False)

    def requests_per_cold_week(self, reporters: int, flows: int = 2, years: int = 2) -> int:
        """Calls a week needs with an empty cache (no truncation): availability + partner totals + HS2 + mirror."""
        per_subject = 1 if self.uses_keyed_endpoint() else flows * years
        return 1 + reporters * per_subject * 2 + per_subject

    def exposure_requests_per_cold_week(self, codes: int) -> int:
        """Calls the exposure layer adds to a cold week (no truncation): keyed 1, preview one per HS6 code."""
        return 1 if self.uses_keyed_endpoint() else codes


def _is_clean_envelope(resp: HttpResponse) -> bool:
    try:
        resp.derive(parse_envelope, "comtrade")
    except ComtradeResponseError:
        return False
    return True
