"""Shared machinery of the reliability suite.

- ``Fast*`` clients: the three production clients with the documented ``_http()`` seam overridden so backoff
  sleeps are recorded instead of slept (no real waiting, no timed assertions) and the read timeout is settable.
- ``CaptureServer``: a loopback (127.0.0.1) server that answers the clients' live requests from the embedded sample
  captures, with scripted faults on chosen requests (429, 5xx, connection reset, stalled reply, any body).
- Capture editing: a temp copy of ``data/sample/captures`` whose exchanges can be rewritten (truncated JSON, wrong
  shape, empty body, count == cap, 204, 400 text, "???", mojibake, changed HTML, hostile titles) for replay runs.
- Warehouse snapshots: rows per table per week, flagged rows per table per week.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from trade_pipeline.core import contract
from trade_pipeline.core.http import CaptureStore, SourceHttp, request_key
from trade_pipeline.core.paths import data_dir, sample_captures_dir  # noqa: F401
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

WEEK_A, WEEK_B = "2026-01-19", "2026-01-26"  # ISO 2026-W04 and 2026-W05
CANONICAL = {
    "comtrade": "https://comtradeapi.un.org",
    "census": "https://api.census.gov",
    "mofcom": "http://exportcontrol.mofcom.gov.cn",
}
CENSUS_ROOT = "/data/timeseries/intltrade"

# --------------------------------------------------------------------------------------------------------------
# The seam: record sleeps, settable timeout.


class SeamSettings:
    sleeps: list[float] = []
    timeout_s: float = 30.0

    @classmethod
    def reset(cls) -> None:
        cls.sleeps = []
        cls.timeout_s = 30.0


class _RecordedSleeps:
    def _http(self) -> SourceHttp:  # the documented seam of core/source_client.py
        settings = {**self.http_settings(), "timeout_s": SeamSettings.timeout_s}
        return SourceHttp(
            self.source_name,
            self.resolved_mode(),
            capture_dir=self.resolved_capture_dir(),
            cache_dir=self.resolved_cache_dir(),
            sleep=SeamSettings.sleeps.append,
            **settings,
        )


class FastComtrade(_RecordedSleeps, ComtradeClient):
    pass


class FastCensus(_RecordedSleeps, CensusTradeClient):
    pass


class FastMofcom(_RecordedSleeps, MofcomClient):
    pass


# --------------------------------------------------------------------------------------------------------------
# Layers and runs.


def layer_assets(source: str) -> list:
    if source == "comtrade":
        from trade_pipeline.defs.bilateral_trade_flows.assets import ASSETS
    elif source == "census":
        from trade_pipeline.defs.us_trade_census.assets import ASSETS
    else:
        from trade_pipeline.defs.cn_export_control.assets import ASSETS
    return ASSETS


# The asset that fetches, plus one downstream asset that shows whether flags propagate.
FETCH_SELECTION = {
    "comtrade": ("comtrade_partner_flows", "market_concentration"),
    "census": ("census_monthly_flows", "census_trade_balance"),
    "mofcom": ("mofcom_announcements", "mofcom_extractor_files"),
}
LAYER_TABLES = {
    "comtrade": {
        "comtrade_partner_flows",
        "comtrade_requests",
        "comtrade_data_availability",
        "market_concentration",
        "comtrade_commodity_flows",
        "comtrade_commodity_requests",
        "partner_rankings",
        "trade_balances",
        "commodity_structure",
    },
    "census": {
        "census_monthly_flows",
        "census_release_status",
        "census_trade_balance",
        "census_country_detail",
        "census_revisions",
        "census_series_coverage",
        "quarantine_staging_census_monthly_flows",
    },
    "mofcom": {"mofcom_announcements", "mofcom_provisions", "mofcom_controls", "mofcom_control_timeline"},
}
# a fetching asset's quarantine staging table (core/quarantine.py) is part of its layer's output
for _asset, _source in contract.QUARANTINE_CONTRIBUTORS.items():
    LAYER_TABLES[_source].add(contract.quarantine_staging_table(_asset))
CLIENT_KEY = {"comtrade": "comtrade", "census": "census", "mofcom": "mofcom"}


def selected_assets(source: str, names: Iterable[str] | None = None) -> list:
    names = set(names or FETCH_SELECTION[source])
    return [a for a in layer_assets(source) if any(k.to_user_string() in names for k in a.keys)]


@contextlib.contextmanager
def data_dir_env(data: Path) -> Iterator[None]:
    """Within the block, the pipeline's data dir is ``data`` and no HTTP mode, capture dir or API key comes from the
    environment (what the autouse ``isolated_data_dir`` gives a test, for module and session fixtures)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    for var in ("TRADE_PIPELINE_HTTP_MODE", "TRADE_PIPELINE_CAPTURE_DIR", "COMTRADE_API_KEY", "CENSUS_API_KEY"):
        mp.delenv(var, raising=False)
    try:
        yield
    finally:
        mp.undo()


# Dagster's console logger at DEBUG prints every step event; warnings are what a fault run needs to show.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run(source: str, key: str, client, assets: list | None = None, raise_on_error: bool = False):
    resources = {"warehouse": Warehouse(), "site": Site(), CLIENT_KEY[source]: client}
    return materialize(
        assets if assets is not None else selected_assets(source),
        resources=resources,
        partition_key=key,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
        run_config=QUIET,
    )


#: the report's run config: a fixed generation time (the front matter prints it), console at WARNING
REPORT_CONFIG = {**QUIET, "ops": {"trade_briefing": {"config": {"generated_at": "2026-01-28T12:00:00Z"}}}}


def rest_of_graph() -> list:
    """Every asset outside the three source layers: policy exposure, quarantined_rows, the report's facts, charts,
    the report and its index."""
    from trade_pipeline.definitions import defs

    layer_keys = {key for source in CLIENT_KEY for a in layer_assets(source) for key in a.keys}
    return [a for a in defs.assets if not set(a.keys) & layer_keys]


def render_rest_of_graph(key: str) -> None:
    """Run the rest of the graph for week ``key`` on the layers in the warehouse, replaying the embedded sample
    (policy exposure fetches its own requests: undamaged, so only the layers under test differ)."""
    from trade_pipeline.definitions import defs

    result = materialize(
        rest_of_graph(),
        resources=dict(defs.resources),
        partition_key=key,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config=REPORT_CONFIG,
    )
    assert result.success, "the report did not render:\n" + failure_text(result)


#: the report's editions by file suffix: zh-TW, English
EDITIONS = (".md", ".en.md")


def report_text(data: Path, key: str, edition: str = ".md") -> str:
    from trade_pipeline.core.partitions import iso_week_label

    path = data / "site" / "Narrator" / "trade_briefing" / f"{iso_week_label(key)}-trade-briefing{edition}"
    return path.read_text(encoding="utf-8")


def failure_text(result) -> str:
    """Every error message (with causes) of the failed steps of a run."""
    parts = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            err = event.event_specific_data.error
            while err is not None:
                parts.append(err.message)
                err = err.cause
    return "\n".join(parts)


def check_results(result) -> dict[str, bool]:
    return {f"{c.asset_key.to_user_string()}:{c.check_name}": c.passed for c in result.get_asset_check_evaluations()}


# --------------------------------------------------------------------------------------------------------------
# Warehouse snapshots.


def row_counts() -> dict[tuple[str, str], int]:
    return Warehouse().row_counts()


def flagged_counts() -> dict[tuple[str, str], int]:
    """(table, week) -> rows whose review_flags is not empty, for every table with a review_flags column."""
    wh = Warehouse()
    out: dict[tuple[str, str], int] = {}
    with wh.connect(read_only=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE column_name = 'review_flags'"
            ).fetchall()
        ]
        for t in tables:
            for week, n in conn.execute(
                f"SELECT CAST(week_start AS VARCHAR), count(*) FILTER (WHERE coalesce(review_flags, '') <> '') "
                f"FROM {t} GROUP BY 1"
            ).fetchall():
                out[(t, week)] = n
    return out


def q(sql: str, *params) -> list[tuple]:
    with Warehouse().connect(read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def only_week(
    counts: dict[tuple[str, str], int], week: str, tables: set[str] | None = None, exclude: set[str] | None = None
) -> dict[str, int]:
    return {
        t: n
        for (t, w), n in counts.items()
        if w == week and (tables is None or t in tables) and (exclude is None or t not in exclude)
    }


# --------------------------------------------------------------------------------------------------------------
# Captures: a temp copy, found and rewritten by request key.


def copy_captures(dest: Path, sources: Iterable[str] = ("comtrade", "census", "mofcom")) -> Path:
    for s in sources:
        shutil.copytree(sample_captures_dir() / s, dest / s, dirs_exist_ok=True)
    return dest


def doc_key(doc: dict) -> str:
    req = doc["request"]
    return request_key(req["method"], req["url"], [tuple(p) for p in req.get("params") or []], req.get("form"))


def find_capture(root: Path, source: str, key: str) -> Path:
    for path in sorted((root / source).rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc_key(doc) == key:
            return path
    raise LookupError(f"no capture for {key}")


def rewrite_capture(
    root: Path,
    source: str,
    key: str,
    *,
    status: int | None = None,
    body: str | bytes | None = None,
    edit: Callable[[str], str] | None = None,
    headers: dict | None = None,
) -> Path:
    """Change the recorded response of one exchange (found by request key) in a temp capture copy."""
    path = find_capture(root, source, key)
    doc = json.loads(path.read_text(encoding="utf-8"))
    resp = doc["response"]
    if edit is not None:
        resp["body"] = edit(resp.get("body") or "")
    if body is not None:
        resp.pop("body_base64", None)
        if isinstance(body, bytes):
            import base64

            resp.pop("body", None)
            resp["body_base64"] = base64.b64encode(body).decode("ascii")
        else:
            resp["body"] = body
    if status is not None:
        resp["status"] = status
    if headers is not None:
        resp["headers"] = headers
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def add_capture(
    root: Path,
    source: str,
    method: str,
    url: str,
    status: int,
    body: str,
    form: dict | None = None,
    content_type: str = "text/html",
) -> None:
    doc = {
        "format": "trade_pipeline.capture/1",
        "source": source,
        "request": {"method": method, "url": url, "params": [], "form": form},
        "response": {"status": status, "headers": {"content-type": content_type}, "body": body},
        "recorded_at": "2026-01-28T00:00:00+00:00",
    }
    CaptureStore(root / source).put(request_key(method, url, [], form), doc)


# --------------------------------------------------------------------------------------------------------------
# Loopback server answering from the sample captures, with scripted faults.


def _source_of(path: str) -> str:
    if path.startswith("/data/timeseries"):
        return "census"
    if path.startswith("/public/") or path.startswith("/data/v1/"):
        return "comtrade"
    return "mofcom"


def incoming_key(request: Request, secret_params: Iterable[str] = ("key",)) -> tuple[str, str]:
    source = _source_of(request.path)
    params = [(k, v) for k, v in request.args.items(multi=True)]
    form = request.form.to_dict() if request.method == "POST" else None
    return source, request_key(
        request.method, CANONICAL[source] + request.path, params, form or None, secret_params=secret_params
    )


Action = Callable[[Request], Response | None]


def respond(status: int, body: str = "", headers: dict | None = None) -> Action:
    return lambda _req: Response(body, status=status, headers=headers or {})


def reset_connection() -> Action:
    """Abort the TCP connection with an RST (SO_LINGER 0) before any byte of the reply."""

    def action(request: Request) -> Response:
        sock = request.environ["werkzeug.socket"]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        return Response("", status=500)  # never reaches the client: the socket is gone

    return action


@dataclass
class Fault:
    """Apply ``actions`` (one per matching hit, in order) to requests whose key matches ``match``; ``forever``
    repeats the last action for every later hit."""

    source: str
    match: Callable[[str], bool]
    actions: list[Action]
    forever: bool = False
    hits: int = 0

    def next_action(self) -> Action | None:
        if self.hits < len(self.actions):
            action = self.actions[self.hits]
        elif self.forever and self.actions:
            action = self.actions[-1]
        else:
            return None
        self.hits += 1
        return action


@dataclass
class CaptureServer:
    server: HTTPServer
    captures: Path
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, dict]] = field(default_factory=list)  # (source, key, headers)
    release: threading.Event = field(default_factory=threading.Event)
    stores: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen_keys: list = field(default_factory=list)

    def url(self, source: str) -> str:
        root = self.server.url_for("/").rstrip("/")
        return root + CENSUS_ROOT if source == "census" else root

    def stall(self, max_wait_s: float = 5.0) -> Action:
        """Answer normally, but only after the client has given up waiting (bounded; released at teardown)."""

        def action(request: Request) -> Response:
            self.release.wait(max_wait_s)
            return self._answer(request)

        return action

    def _store(self, source: str) -> CaptureStore:
        if source not in self.stores:
            self.stores[source] = CaptureStore(self.captures / source)
        return self.stores[source]

    def _answer(self, request: Request) -> Response:
        source, key = incoming_key(request)
        if request.path.startswith("/data/v1/get/"):
            return self._keyed(request)
        doc = self._store(source).get(key)
        if doc is None:
            return Response(f"no capture for {key}", status=404)
        import base64

        resp = doc["response"]
        body = base64.b64decode(resp["body_base64"]) if "body_base64" in resp else (resp.get("body") or "").encode()
        headers = {k: v for k, v in (resp.get("headers") or {}).items() if k.lower() in ("content-type", "retry-after")}
        return Response(body, status=int(resp["status"]), headers=headers)

    def _keyed(self, request: Request) -> Response:
        """Keyed Comtrade (/data/v1/get): answered by merging the preview captures of each flow × period."""
        params = [(k, v) for k, v in request.args.items(multi=True)]
        flows = dict(params)["flowCode"].split(",")
        periods = dict(params)["period"].split(",")
        rows = []
        for f in flows:
            for p in periods:
                narrow = [(k, f if k == "flowCode" else p if k == "period" else v) for k, v in params]
                key = request_key(
                    "GET",
                    CANONICAL["comtrade"] + request.path.replace("/data/v1/get/", "/public/v1/preview/"),
                    narrow + [("maxRecords", "500")],
                )
                doc = self._store("comtrade").get(key)
                if doc is None:
                    return Response(f"no capture for {key}", status=404)
                rows += json.loads(doc["response"]["body"])["data"]
        return Response(
            json.dumps({"elapsedTime": "0.1 secs", "count": len(rows), "data": rows, "error": ""}),
            content_type="application/json",
        )

    def handler(self, request: Request) -> Response:
        source, key = incoming_key(request)
        with self.lock:
            self.log.append((source, key, dict(request.headers)))
            action = None
            for fault in self.faults:
                if fault.source == source and fault.match(key):
                    action = fault.next_action()
                    if action is not None:
                        break
        if action is not None:
            return action(request)
        return self._answer(request)


def start_capture_server(captures: Path) -> tuple[CaptureServer, HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    cs = CaptureServer(server=server, captures=captures)
    server.expect_request(re.compile(".*")).respond_with_handler(cs.handler)
    return cs, server


def stop_capture_server(cs: CaptureServer) -> None:
    cs.release.set()
    cs.server.clear()
    if cs.server.is_running():
        cs.server.stop()


def live_client(source: str, cs: CaptureServer, **kw):
    cls = {"comtrade": FastComtrade, "census": FastCensus, "mofcom": FastMofcom}[source]
    extra = {"min_interval_s": 0.0}
    return cls(mode="live", base_url=cs.url(source), **extra, **kw)
