"""The one HTTP layer every source client uses.

Modes
-----
- ``live``   : real network; successful responses go to the response cache (keyed by request) and are reused while fresh.
- ``record`` : like live, and every exchange (errors included) is also written to the capture directory.
- ``replay`` : no network at all; every request is served from the capture directory, and a request that was never
               recorded fails loudly with :class:`ReplayMissError`.

Capture / cache file format (one JSON file per exchange, any file name ending in ``.json``)::

    {"format": "trade_pipeline.capture/1",
     "source": "census",
     "request": {"method": "GET", "url": "https://api.census.gov/data/timeseries/intltrade/exports/hs",
                 "params": [["get", "CTY_CODE,ALL_VAL_MO"], ["time", "from 2025-01 to 2025-10"]],
                 "form": null},
     "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": "<text>"},
                  # or "body_base64": "..." when the body is not UTF-8
     "recorded_at": "2026-01-27T12:00:00+00:00"}

Requests are matched by :func:`request_key`: method + URL + the query parameters sorted + the form fields sorted,
with secret parameters (API keys) removed. Secrets never reach a capture, the cache, a log line or an error message.

Per-run request dedupe
----------------------
A :class:`SourceHttp` lives as long as one run (it is created by the source client resource, which Dagster builds
per run). It answers each distinct request — by its :func:`request_key`, the request itself — once: a repeated
request gets the same :class:`HttpResponse` object back (or the same error raised again), without another
capture read, cache lookup or network call. What is computed from an answer is memoized on that answer
(:meth:`HttpResponse.derive`), so each distinct request is also parsed once per run, with no hand-built key that
could miss a field; work built from several answers (a week's frame) is memoized for the run on its arguments
(:meth:`SourceHttp.per_run`: answers and results hash by identity, so the key is the requests themselves). Nothing
outlives the run.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from trade_pipeline.core.paths import write_text_atomic

log = logging.getLogger(__name__)

CAPTURE_FORMAT = "trade_pipeline.capture/1"
USER_AGENT = "trade_pipeline/0.1 (weekly trade briefing; +https://github.com/trade-pipeline)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NOT_FOUND_STATUSES = frozenset({404, 410})
_KEPT_RESPONSE_HEADERS = (
    "content-type",
    "retry-after",
    "location",
    "x-datawebapi-keyerror",
    "etag",
    "last-modified",
    "content-encoding",
)

Params = Sequence[tuple[str, str]]
T = TypeVar("T")


class HttpMode(str, Enum):
    LIVE = "live"
    RECORD = "record"
    REPLAY = "replay"


class SourceHttpError(RuntimeError):
    """A request failed for good (retries exhausted, transport error, or a status the client rejects).

    The message always names the source and the (redacted) request, so a failed run says what to look at.
    """

    def __init__(self, source: str, request: str, message: str, status: int | None = None):
        self.source, self.request, self.status, self.message = source, request, status, message
        super().__init__(f"[{source}] {message} — request: {request}" + (f" (HTTP {status})" if status else ""))


class ReplayMissError(SourceHttpError):
    """Replay mode met a request that has no recorded exchange."""


class CaptureFormatError(RuntimeError):
    """A capture file that cannot be served: not JSON, or not in the capture format (no ``request``/``response``,
    a status that is not a number, a body that does not decode).

    Not a :class:`SourceHttpError` on purpose: a damaged capture is a broken local file, not an answer of the
    source, so it stops the run (naming the source, the file and, when known, the request) instead of being
    recorded as one failed request of the week.
    """

    def __init__(self, source: str, path: Path, problem: str, request: str | None = None):
        self.source, self.path, self.problem, self.request = source, path, problem, request
        super().__init__(
            f"[{source}] unusable capture file {path}: {problem}" + (f" — request: {request}" if request else "")
        )


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes
    request_key: str
    from_cache: bool = False
    fetched_at: str = ""
    # What has been computed from this answer (derive); never part of equality or repr.
    _derived: dict = field(default_factory=dict, compare=False, repr=False)

    def derive(self, fn: Callable[..., T], *args: Hashable) -> T:
        """``fn(self, *args)``, computed once per answer (so once per distinct request and run: the run's
        SourceHttp hands every repeat of a request the same answer). The result is shared by every caller: treat
        it as read-only. An exception is not remembered (it is raised again next time)."""
        key = (fn, args)
        if key not in self._derived:
            self._derived[key] = fn(self, *args)
        return self._derived[key]

    @property
    def request_id(self) -> str:
        """Short stable id of the request, stored with every row derived from this response."""
        return hashlib.sha256(self.request_key.encode()).hexdigest()[:16]

    @property
    def content_sha256(self) -> str:
        """Digest of the body."""
        return hashlib.sha256(self.content).hexdigest()

    def text(self, encoding: str = "utf-8") -> str:
        return self.content.decode(encoding)

    def json(self) -> object:
        return json.loads(self.content.decode("utf-8-sig"))


@dataclass
class HttpStats:
    network_requests: int = 0
    cache_hits: int = 0
    replayed: int = 0
    deduped: int = 0  # repeats of a request already answered in this run (no capture, cache or network)
    retries: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def request_key(
    method: str,
    url: str,
    params: Params | None = None,
    form: Mapping[str, str] | None = None,
    secret_params: Iterable[str] = (),
) -> str:
    """Canonical text of a request, secrets removed: the key captures and the cache are matched on."""
    secrets = {s.lower() for s in secret_params}
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"
    query = sorted((k, str(v)) for k, v in (params or []) if k.lower() not in secrets)
    key = f"{method.upper()} {base}"
    if query:
        key += "?" + "&".join(f"{k}={v}" for k, v in query)
    if form:
        key += " | " + "&".join(f"{k}={v}" for k, v in sorted((k, str(v)) for k, v in form.items()))
    return key


def _file_name(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = urlsplit(key.split(" ", 1)[1].split("?", 1)[0].split(" | ")[0]).path
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path.strip("/"))[-60:].strip("_") or "root"
    return f"{slug}-{digest}.json"


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class CaptureStore:
    """A directory of exchanges in the capture format, indexed by request key (file names do not matter).

    ``strict`` (the capture directory of replay mode): a file that is not a readable exchange raises
    :class:`CaptureFormatError` naming it. Otherwise (the response cache, record mode) such a file is logged and
    ignored: the request is simply asked again.
    """

    def __init__(self, directory: Path, *, source: str | None = None, strict: bool = False):
        self.directory = directory
        self.source = source or directory.name
        self.strict = strict
        self._index: dict[str, Path] | None = None

    def _unusable(self, path: Path, problem: str, request: str | None = None) -> None:
        """A file that cannot be served: raise when strict, else log it (the caller then ignores the file)."""
        error = CaptureFormatError(self.source, path, problem, request)
        if self.strict:
            raise error
        log.warning("ignoring %s", error)

    def _read(self, path: Path) -> dict | None:
        """The JSON document of ``path``, or None (after :meth:`_unusable`) when it is not a JSON object."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            self._unusable(path, f"cannot be read ({exc.strerror or exc})")
            return None
        except (ValueError, UnicodeDecodeError) as exc:
            self._unusable(path, f"not valid JSON ({exc})")
            return None
        if not isinstance(doc, dict):
            self._unusable(path, f"not a capture object (a JSON {type(doc).__name__})")
            return None
        return doc

    def _load_index(self) -> dict[str, Path]:
        if self._index is None:
            index: dict[str, Path] = {}
            if self.directory.is_dir():
                for path in sorted(self.directory.rglob("*.json")):
                    doc = self._read(path)
                    if doc is None:
                        continue
                    try:
                        req = doc["request"]
                        key = request_key(
                            req["method"], req["url"], [tuple(p) for p in req.get("params") or []], req.get("form")
                        )
                    except (ValueError, KeyError, TypeError, AttributeError) as exc:
                        self._unusable(path, f"no usable 'request' object ({type(exc).__name__}: {exc})")
                        continue
                    index[key] = path
            self._index = index
        return self._index

    def get(self, key: str) -> dict | None:
        """The exchange recorded for ``key`` (shared with earlier callers: read it, never change it), or None.

        The document returned has a well-formed ``response`` (:func:`_doc_to_response` cannot fail on it)."""
        path = self._load_index().get(key)
        if path is None:
            return None
        doc = self._read(path)
        if doc is None:
            return None
        problem = _response_problem(doc)
        if problem is not None:
            self._unusable(path, problem, key)
            return None
        return doc

    def put(self, key: str, doc: dict) -> Path:
        # atomic and private to this writer: two runs caching the same response at once never collide
        path = write_text_atomic(self.directory / _file_name(key), json.dumps(doc, ensure_ascii=False, indent=1))
        self._load_index()[key] = path
        return path


def _response_problem(doc: dict) -> str | None:
    """Why ``doc["response"]`` cannot be turned into an :class:`HttpResponse` (None when it can)."""
    resp = doc.get("response")
    if not isinstance(resp, dict):
        return "no 'response' object" if resp is None else f"'response' is a {type(resp).__name__}, not an object"
    status = resp.get("status")
    if isinstance(status, bool) or not isinstance(status, (int, str)) or not str(status).strip().isdigit():
        return f"'response.status' is not an HTTP status: {status!r}"
    headers = resp.get("headers")
    if headers is not None and not isinstance(headers, dict):
        return f"'response.headers' is a {type(headers).__name__}, not an object"
    if "body_base64" in resp:
        try:
            base64.b64decode(resp["body_base64"], validate=True)
        except (ValueError, TypeError) as exc:
            return f"'response.body_base64' is not base64 ({exc})"
    elif resp.get("body") is not None and not isinstance(resp["body"], str):
        return f"'response.body' is a {type(resp['body']).__name__}, not text"
    return None


def _doc_to_response(doc: dict, key: str, from_cache: bool) -> HttpResponse:
    resp = doc["response"]
    if "body_base64" in resp:
        content = base64.b64decode(resp["body_base64"])
    else:
        content = (resp.get("body") or "").encode("utf-8")
    return HttpResponse(
        status=int(resp["status"]),
        headers={k.lower(): v for k, v in (resp.get("headers") or {}).items()},
        content=content,
        request_key=key,
        from_cache=from_cache,
        fetched_at=doc.get("recorded_at", ""),
    )


def _response_to_doc(
    source: str,
    method: str,
    url: str,
    params: Params,
    form: Mapping[str, str] | None,
    secret_params: Iterable[str],
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    fetched_at: str,
) -> dict:
    secrets = {s.lower() for s in secret_params}
    body: dict[str, object]
    try:
        body = {"body": content.decode("utf-8")}
    except UnicodeDecodeError:
        body = {"body_base64": base64.b64encode(content).decode("ascii")}
    return {
        "format": CAPTURE_FORMAT,
        "source": source,
        "request": {
            "method": method.upper(),
            "url": url,
            "params": [[k, str(v)] for k, v in params if k.lower() not in secrets],
            "form": dict(form) if form else None,
        },
        "response": {
            "status": status,
            "headers": {k: v for k, v in headers.items() if k.lower() in _KEPT_RESPONSE_HEADERS},
            **body,
        },
        "recorded_at": fetched_at,
    }


class SourceHttp:
    """HTTP access for one source: mode, response cache, retries with backoff, rate limit, secret redaction."""

    def __init__(
        self,
        source: str,
        mode: HttpMode | str = HttpMode.REPLAY,
        *,
        capture_dir: Path | None = None,
        cache_dir: Path | None = None,
        cache_ttl_s: float | None = 7 * 24 * 3600,
        timeout_s: float = 60.0,
        max_attempts: int = 4,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        min_interval_s: float = 0.0,
        follow_redirects: bool = False,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        dedupe: bool = True,
    ):
        self.source = source
        self.mode = HttpMode(mode)
        if self.mode in (HttpMode.RECORD, HttpMode.REPLAY) and capture_dir is None:
            raise ValueError(f"[{source}] mode {self.mode.value} needs a capture directory")
        # Replay serves every answer from the capture directory, so a damaged capture there stops the run naming
        # the file; the cache (and a record target) only ever saves a request, so a damaged file there is ignored.
        self.captures = (
            CaptureStore(capture_dir, source=source, strict=self.mode is HttpMode.REPLAY) if capture_dir else None
        )
        self.cache = CaptureStore(cache_dir, source=source) if cache_dir and self.mode is not HttpMode.REPLAY else None
        self.cache_ttl_s = cache_ttl_s
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s, self.backoff_max_s = backoff_base_s, backoff_max_s
        self.min_interval_s = min_interval_s
        self.follow_redirects = follow_redirects
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._transport = transport
        self._client: httpx.Client | None = None
        self._sleep, self._clock = sleep, clock
        self._last_request_at: float | None = None
        self.stats = HttpStats()
        # The run's answers by request key: a response, or the error that request ended in (raised again).
        self.dedupe = dedupe
        self._answers: dict[str, HttpResponse | SourceHttpError] = {}
        self._built: dict[tuple, object] = {}
        # httpx logs full URLs (Census keys travel in the query) at INFO; keep it quiet.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    # -- public ---------------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        secret_params: Iterable[str] = (),
        secret_values: Mapping[str, str] | None = None,
        secret_headers: Mapping[str, str] | None = None,
        use_cache: bool = True,
        cache_if: Callable[[HttpResponse], bool] | None = None,
        max_age_s: float | None = None,
        max_attempts: int | None = None,
        cache_not_found_s: float | None = None,
    ) -> HttpResponse:
        """Send one request (or serve it from replay/cache) and return the final response.

        ``secret_values`` are extra query parameters (e.g. ``{"key": "..."}``) sent on the wire but excluded from the
        key, captures, cache and logs; ``secret_headers`` likewise for headers. Statuses in RETRY_STATUSES and
        transport errors are retried with exponential backoff (honouring ``Retry-After``); other statuses are
        returned for the client to interpret. Only 2xx responses accepted by ``cache_if`` are cached.
        ``max_age_s`` tightens the cache freshness for this request (e.g. list pages) below the instance TTL.
        ``max_attempts`` caps the attempts of this request below the instance's (e.g. a call quota nearly used up).
        ``cache_not_found_s``: also cache a 404/410 answer, for that many seconds (a page that is gone is not asked
        for again on every run of a backfill); by default only 2xx answers are cached.

        Within the run a request already answered gets the same answer again (the same object; a request that
        failed for good raises the same error again), unless ``use_cache`` is false (a fresh look is wanted).
        """
        params = list(params or [])
        secret_names = set(secret_params) | set((secret_values or {}).keys())
        key = request_key(method, url, params, form, secret_names)

        def answer() -> HttpResponse:
            return self._answer(
                key,
                method,
                url,
                params,
                form,
                headers,
                secret_names,
                secret_values,
                secret_headers,
                use_cache,
                cache_if,
                max_age_s,
                max_attempts,
                cache_not_found_s,
            )

        if not (self.dedupe and use_cache):
            return answer()
        known = self._answers.get(key)
        if known is not None:
            self.stats.deduped += 1
            if isinstance(known, SourceHttpError):
                raise known
            return known
        try:
            fresh = answer()
        except SourceHttpError as exc:
            self._answers[key] = exc
            raise
        self._answers[key] = fresh
        return fresh

    def _answer(
        self,
        key: str,
        method: str,
        url: str,
        params: list[tuple[str, str]],
        form: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        secret_names: set[str],
        secret_values: Mapping[str, str] | None,
        secret_headers: Mapping[str, str] | None,
        use_cache: bool,
        cache_if: Callable[[HttpResponse], bool] | None,
        max_age_s: float | None,
        max_attempts: int | None,
        cache_not_found_s: float | None,
    ) -> HttpResponse:
        """One request answered from replay, the cache or the network (the body of :meth:`request`)."""
        described = key

        if self.mode is HttpMode.REPLAY:
            assert self.captures is not None
            doc = self.captures.get(key)
            if doc is None:
                raise ReplayMissError(
                    self.source,
                    described,
                    f"no recorded exchange in {self.captures.directory} (replay mode never goes to the network; "
                    f"record it with TRADE_PIPELINE_HTTP_MODE=record)",
                )
            self.stats.replayed += 1
            return _doc_to_response(doc, key, from_cache=True)

        if use_cache and (doc := self._cached(key, max_age_s, cache_not_found_s)) is not None:
            self.stats.cache_hits += 1
            return _doc_to_response(doc, key, from_cache=True)

        wire_params = params + list((secret_values or {}).items())
        secrets = [v for v in [*(secret_values or {}).values(), *(secret_headers or {}).values()] if v]
        try:
            resp = self._send_with_retries(
                method,
                url,
                wire_params,
                form,
                {**(headers or {}), **(secret_headers or {})},
                described,
                min(self.max_attempts, max(1, max_attempts or self.max_attempts)),
            )
        except SourceHttpError as exc:
            # Transport messages can echo the URL; never let a key through in an error or a log line.
            raise type(exc)(exc.source, exc.request, _scrub(exc.message, secrets), exc.status) from exc.__cause__
        fetched_at = datetime.now(UTC).isoformat(timespec="seconds")
        # A server may echo the request back (error pages quoting the URL, Location headers): the key goes too,
        # so it is cut out of the body and headers before anyone (client, capture, cache, log) sees them.
        content = resp.content
        for secret in secrets:
            content = content.replace(secret.encode("utf-8"), b"***")
        result = HttpResponse(
            status=resp.status_code,
            headers={k.lower(): _scrub(v, secrets) for k, v in resp.headers.items()},
            content=content,
            request_key=key,
            fetched_at=fetched_at,
        )
        doc = _response_to_doc(
            self.source,
            method,
            url,
            params,
            form,
            secret_names,
            resp.status_code,
            result.headers,
            result.content,
            fetched_at,
        )
        if self.mode is HttpMode.RECORD and self.captures is not None:
            self.captures.put(key, doc)
        if (
            use_cache
            and self.cache is not None
            and (
                (200 <= result.status < 300 and (cache_if is None or cache_if(result)))
                or (cache_not_found_s and result.status in NOT_FOUND_STATUSES)
            )
        ):
            self.cache.put(key, doc)
        return result

    def per_run(self, fn: Callable[..., T], *args: Hashable) -> T:
        """``fn(*args)`` once per run, for a pure ``fn`` of hashable arguments built from this run's answers (a
        tuple of results, the released years…): the key is the arguments themselves, so nothing the value depends
        on can be left out of it. The value is shared: treat it as read-only. Off with ``dedupe``."""
        if not self.dedupe:
            return fn(*args)
        key = (fn, args)
        if key not in self._built:
            self._built[key] = fn(*args)
        return self._built[key]  # type: ignore[return-value]

    def is_cached(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        form: Mapping[str, str] | None = None,
        secret_params: Iterable[str] = (),
        secret_values: Mapping[str, str] | None = None,
        max_age_s: float | None = None,
    ) -> bool:
        """Would :meth:`request` answer this without the network: already answered in this run (a response, or the
        error it failed with for good), from replay or from the fresh cache?"""
        secret_names = set(secret_params) | set((secret_values or {}).keys())
        key = request_key(method, url, list(params or []), form, secret_names)
        if self.dedupe and key in self._answers:
            return True
        if self.mode is HttpMode.REPLAY:
            return self.captures is not None and self.captures.get(key) is not None
        return self._cached(key, max_age_s) is not None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- internals ------------------------------------------------------------------------------------------------
    def _cached(self, key: str, max_age_s: float | None = None, cache_not_found_s: float | None = None) -> dict | None:
        """The cached exchange :meth:`request` may answer ``key`` with: a fresh 2xx, or a 404/410 younger than
        ``cache_not_found_s`` when the caller accepts those; else None."""
        doc = self.cache.get(key) if self.cache is not None else None
        if doc is None:
            return None
        if int(doc["response"]["status"]) in NOT_FOUND_STATUSES:
            return doc if cache_not_found_s and self._fresh(doc, cache_not_found_s) else None
        return doc if self._fresh(doc, max_age_s) else None

    def _fresh(self, doc: dict, max_age_s: float | None = None) -> bool:
        ttl = (
            self.cache_ttl_s
            if max_age_s is None
            else (max_age_s if self.cache_ttl_s is None else min(max_age_s, self.cache_ttl_s))
        )
        if ttl is None:
            return True
        try:
            recorded = datetime.fromisoformat(doc.get("recorded_at", ""))
        except (TypeError, ValueError):
            return False
        return (datetime.now(UTC) - recorded).total_seconds() <= ttl

    def _http_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.timeout_s,
                follow_redirects=self.follow_redirects,
                headers=self.headers,
                transport=self._transport,
            )
        return self._client

    def _throttle(self) -> None:
        if self.min_interval_s and self._last_request_at is not None:
            wait = self.min_interval_s - (self._clock() - self._last_request_at)
            if wait > 0:
                self._sleep(wait)
        self._last_request_at = self._clock()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.backoff_max_s) + random.uniform(0, 0.1 * self.backoff_base_s)
        return min(self.backoff_base_s * (2 ** (attempt - 1)), self.backoff_max_s) * random.uniform(0.8, 1.2)

    def _send_with_retries(
        self,
        method: str,
        url: str,
        params: Params,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
        described: str,
        max_attempts: int,
    ) -> httpx.Response:
        last_problem = ""
        for attempt in range(1, max_attempts + 1):
            self._throttle()
            self.stats.network_requests += 1
            try:
                resp = self._http_client().request(
                    method, url, params=list(params), data=dict(form) if form else None, headers=dict(headers)
                )
                resp.read()
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "[%s] attempt %d/%d failed: %s — %s", self.source, attempt, max_attempts, last_problem, described
                )
                if attempt < max_attempts:
                    self.stats.retries += 1
                    self._sleep(self._backoff(attempt, None))
                    continue
                raise SourceHttpError(
                    self.source, described, f"giving up after {attempt} attempts: {last_problem}"
                ) from exc
            self.stats.by_status[resp.status_code] = self.stats.by_status.get(resp.status_code, 0) + 1
            if resp.status_code in RETRY_STATUSES:
                retry_after = _parse_retry_after(resp.headers.get("retry-after"))
                last_problem = f"HTTP {resp.status_code}"
                log.warning(
                    "[%s] attempt %d/%d got HTTP %d (Retry-After=%s) — %s",
                    self.source,
                    attempt,
                    max_attempts,
                    resp.status_code,
                    resp.headers.get("retry-after"),
                    described,
                )
                if attempt < max_attempts:
                    self.stats.retries += 1
                    self._sleep(self._backoff(attempt, retry_after))
                    continue
                snippet = resp.content[:200].decode("utf-8", "replace")
                raise SourceHttpError(
                    self.source,
                    described,
                    f"giving up after {attempt} attempts: {last_problem}: {snippet!r}",
                    status=resp.status_code,
                )
            return resp
        raise AssertionError("unreachable")  # pragma: no cover
