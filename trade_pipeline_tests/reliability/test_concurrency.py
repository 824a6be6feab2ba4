"""Concurrent runs: materializations of the same week and of different weeks at once, with a reader polling the
warehouse meanwhile — no lock error surfaces, no row is lost or duplicated.

core/test_warehouse.py already runs three raw ``replace_partition`` writers (two of them on the same week); this adds
whole Dagster runs in separate processes (each asset opens and closes the file many times) and a concurrent reader.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.support import WEEK_A, WEEK_B

RUN = r"""
import sys
from trade_pipeline_tests.reliability import support
result = support.run("mofcom", sys.argv[1], support.MofcomClient(), support.layer_assets("mofcom"), raise_on_error=True)
assert result.success
"""


def test_concurrent_runs_same_and_different_weeks(baseline, isolated_data_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DAGSTER_HOME": ""}
    procs = [
        subprocess.Popen([sys.executable, "-c", RUN, week], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for week in (WEEK_A, WEEK_B, WEEK_B)
    ]
    reads = 0
    deadline = time.monotonic() + 240
    try:
        while any(p.poll() is None for p in procs):
            assert time.monotonic() < deadline, "concurrent runs did not finish"
            Warehouse().row_counts()  # a reader in the middle of the writers: waits, never fails
            reads += 1
            time.sleep(0.05)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    errors = [p.stderr.read().decode() for p in procs]
    assert [p.wait(30) for p in procs] == [0, 0, 0], [e[-3000:] for e in errors]
    assert not any("WarehouseLockTimeout" in e or "Could not set lock" in e for e in errors)
    expected = {k: n for k, n in baseline.counts.items() if k[0] in support.LAYER_TABLES["mofcom"]}
    assert Warehouse().row_counts() == expected
    ids = Warehouse().query(
        "SELECT week_start, announcement_id, count(*) AS n FROM mofcom_announcements GROUP BY ALL HAVING count(*) > 1"
    )
    assert ids.is_empty()  # no announcement written twice into a week
    site = isolated_data_dir / "site" / "Extractor" / "cn_export_control"
    assert not list(site.glob("*.tmp")) and len(list(site.glob("*.md"))) > 0
    assert reads > 0


def test_two_writers_of_the_same_output_file_never_collide(tmp_path: Path) -> None:
    """Two runs of the same week write the same Extractor file and cache the same response: the atomic-rename temp
    file must be private to each writer (a shared '<name>.tmp' makes one writer's rename fail)."""
    import threading

    from trade_pipeline.core.http import CaptureStore
    from trade_pipeline.core.site import Site

    errors: list[str] = []
    text = "row\n" * 4000

    def writer(i: int) -> None:
        site, store = Site(root=str(tmp_path / "site")), CaptureStore(tmp_path / "cache")
        for n in range(150):
            try:
                site.write("Extractor/cn_export_control/same.md", f"{i}-{n}\n" + text)
                store.put("GET https://example.org/x", {"request": {}, "response": {"body": text}, "n": n})
            except Exception as exc:  # noqa: BLE001 — any failure is the finding
                errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert (tmp_path / "site/Extractor/cn_export_control/same.md").read_text().startswith(("0-149", "1-149"))
    assert not list((tmp_path / "site").rglob("*.tmp")) and not list((tmp_path / "cache").rglob("*.tmp"))
