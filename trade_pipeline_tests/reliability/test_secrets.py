"""API keys come only from the environment and never leave the wire.

Fake keys are set in the environment and a whole week (three layers and the briefing) runs in *record* mode against
a loopback server — the mode that actually sends keys (Census as the ``key`` query parameter, Comtrade as the
``Ocp-Apim-Subscription-Key`` header of the keyed endpoint). The server also misbehaves in ways that echo the
request back (a 5xx body and a 400 message quoting the query string with the key). Then the key strings must
appear in no log line (python logging at DEBUG, Dagster's event log, captured stdout/stderr), no DuckDB VARCHAR
cell, no capture file, no cache file and no report or Extractor markdown.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize
from werkzeug import Request, Response

from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.assets import ASSETS as BRIEFING_ASSETS
from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.support import WEEK_B, Fault

COMTRADE_KEY = "ctk-FAKE-5f1e0c2b9a7d4e3f8b6a1c0d2e4f6a8b"
CENSUS_KEY = "csk-FAKE-0123456789abcdef0123456789abcdef01"
KEYS = (COMTRADE_KEY, CENSUS_KEY)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001
            self.lines.append(str(record.msg))


def _echo_query(status: int):
    def action(request: Request) -> Response:
        return Response(f"error: unknown predicate in '{request.query_string.decode()}' ({request.url})", status=status)

    return action


def test_keys_never_leave_the_wire(
    world,
    capture_server: support.CaptureServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
) -> None:
    monkeypatch.setenv("COMTRADE_API_KEY", COMTRADE_KEY)
    monkeypatch.setenv("CENSUS_API_KEY", CENSUS_KEY)
    cs = capture_server
    # Census: one request answers 400 quoting the query (key included), another 503 forever with the URL.
    cs.faults += [
        Fault(
            "census",
            lambda k: "/imports/hs" in k and "COMM_LVL=HS2" in k and "2024" in k,
            [_echo_query(400)],
            forever=True,
        ),
        Fault(
            "census",
            lambda k: "/imports/hs" in k and "COMM_LVL" not in k and "2024" in k,
            [_echo_query(503)],
            forever=True,
        ),
        Fault("comtrade", lambda k: "reporterCode=842" in k, [_echo_query(503)], forever=True),
    ]
    record_dir = tmp_path / "recorded"
    clients = {
        s: cls(mode="record", base_url=cs.url(s), capture_dir=str(record_dir), min_interval_s=0.0)
        for s, cls in (
            ("comtrade", support.FastComtrade),
            ("census", support.FastCensus),
            ("mofcom", support.FastMofcom),
        )
    }
    assert clients["comtrade"].uses_keyed_endpoint()

    # The loopback server's own access log (werkzeug) is the API's side of the wire, not ours: silence it.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        assets = [
            *support.layer_assets("comtrade"),
            *support.layer_assets("census"),
            *support.layer_assets("mofcom"),
            *BRIEFING_ASSETS,
        ]
        instance = DagsterInstance.ephemeral()
        result = materialize(
            assets,
            partition_key=WEEK_B,
            instance=instance,
            raise_on_error=False,
            resources={"warehouse": Warehouse(), "site": Site(), **clients},
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out, err = capfd.readouterr()

    # The keys really went over the wire (otherwise this test proves nothing) ...
    census_keys = [h for s, _, h in cs.log if s == "census"]
    assert census_keys, "no Census request was made"
    comtrade_headers = [h for s, _, h in cs.log if s == "comtrade" and "/data/v1/get/" in _]
    assert comtrade_headers and all(h.get("Ocp-Apim-Subscription-Key") == COMTRADE_KEY for h in comtrade_headers)
    # ... and the run met the faults (failures logged, flagged) yet completed.
    assert result.success, support.failure_text(result)
    assert any("[census]" in line and "unknown predicate" in line for line in handler.lines + [err])

    # Logs: python logging, Dagster's event log (messages + metadata), captured output.
    event_text = "\n".join(
        str(e.message) + repr(getattr(e, "dagster_event", None)) for e in instance.all_logs(result.run_id)
    )
    for key in KEYS:
        assert not [line for line in handler.lines if key in line], "key in a python log line"
        assert key not in event_text, "key in Dagster's event log"
        assert key not in out and key not in err, "key in stdout/stderr"

    # DuckDB: every VARCHAR cell of every table.
    with Warehouse().connect(read_only=True) as conn:
        cols = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        assert len(cols) > 50
        for table, col in cols:
            for key in KEYS:
                hits = conn.execute(f'SELECT count(*) FROM "{table}" WHERE strpos("{col}", ?) > 0', [key]).fetchone()[0]
                assert hits == 0, f"key in {table}.{col}"

    # Files: captures, cache (incl. the Comtrade quota file), site (reports + Extractor files).
    scanned = {"captures": 0, "cache": 0, "site": 0}
    for label, folder in (
        ("captures", record_dir),
        ("cache", support.data_dir() / "cache"),
        ("site", support.data_dir() / "site"),
    ):
        for path in folder.rglob("*"):
            if path.is_file():
                scanned[label] += 1
                text = path.read_bytes().decode("utf-8", "replace")
                for key in KEYS:
                    assert key not in text, f"key in {path}"
    assert all(scanned.values()), scanned
    report = support.data_dir() / "site" / "Narrator" / "trade_briefing" / "2026-W05-trade-briefing.md"
    assert report.is_file()
