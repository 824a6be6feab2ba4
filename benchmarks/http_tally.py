"""Run `trade-pipeline ...` with every SourceHttp.request tallied per source; write the tally as JSON.

    python benchmarks/http_tally.py TALLY.json briefing 2026-W05 [--mode live ...]

The project's HTTP layer (trade_pipeline/core/http.py) keeps per-instance counters (``SourceHttp.stats``:
network_requests, cache_hits, replayed, retries) but only the Comtrade assets publish them (as materialization
metadata), so this wrapper reads the counters of *every* SourceHttp instance around each call instead. It wraps
``SourceHttp.request`` (the one entry point every client uses) and attributes, per call, the change in:

- ``network``   : attempts that went to the wire (``_send_with_retries`` increments it once per attempt, so a
                  retried request counts once per attempt — retries are also reported separately)
- ``cache_hits``: answered from the response cache (live/record mode)
- ``replayed``  : answered from the capture directory (replay mode never touches the network)
- ``deduped``   : a repeat of a request already answered in the same run (the run's SourceHttp hands back the same
                  answer: no capture read, cache lookup or network call); 0 on code without per-run request dedupe

The job runs with the in-process executor (trade_pipeline/definitions.py), so one process sees every request.
Nothing in the project is modified; the patch exists only in this process.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
from pathlib import Path


def install(tally_path: Path) -> dict:
    from trade_pipeline.core import http as http_mod

    tally: dict[str, dict] = {}
    keys: dict[str, set[str]] = {}
    lock = threading.Lock()
    original = http_mod.SourceHttp.request

    def request(self, method, url, **kwargs):  # noqa: ANN001 - mirrors SourceHttp.request
        s = self.stats
        before = (s.network_requests, s.cache_hits, s.replayed, s.retries, getattr(s, "deduped", 0))
        error = None
        try:
            return original(self, method, url, **kwargs)
        except Exception as exc:  # noqa: BLE001 - counted and re-raised
            error = type(exc).__name__
            raise
        finally:
            after = (s.network_requests, s.cache_hits, s.replayed, s.retries, getattr(s, "deduped", 0))
            key = http_mod.request_key(
                method,
                url,
                kwargs.get("params"),
                kwargs.get("form"),
                set(kwargs.get("secret_params") or ()) | set(kwargs.get("secret_values") or {}),
            )
            with lock:
                t = tally.setdefault(
                    self.source,
                    {
                        "mode": self.mode.value,
                        "calls": 0,
                        "network": 0,
                        "cache_hits": 0,
                        "replayed": 0,
                        "retries": 0,
                        "deduped": 0,
                        "errors": {},
                    },
                )
                t["calls"] += 1
                t["network"] += after[0] - before[0]
                t["cache_hits"] += after[1] - before[1]
                t["replayed"] += after[2] - before[2]
                t["retries"] += after[3] - before[3]
                t["deduped"] += after[4] - before[4]
                if error:
                    t["errors"][error] = t["errors"].get(error, 0) + 1
                keys.setdefault(self.source, set()).add(key)

    http_mod.SourceHttp.request = request

    def dump() -> None:
        with lock:
            out = {src: {**t, "distinct_requests": len(keys.get(src, ()))} for src, t in tally.items()}
        tally_path.write_text(json.dumps(out, indent=1), encoding="utf-8")

    atexit.register(dump)
    return tally


def main(argv: list[str]) -> int:
    tally_path = Path(argv[0])
    install(tally_path)
    from trade_pipeline import cli

    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
