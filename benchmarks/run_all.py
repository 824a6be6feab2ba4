"""Run every benchmark, print one table, write benchmarks/results/latest.{json,md} (+ history.jsonl).

    make bench                                    (= .venv/bin/python benchmarks/run_all.py)
    .venv/bin/python benchmarks/run_all.py --only P1,P3 --repeat 5
    .venv/bin/python benchmarks/run_all.py --only P2          the year-long backfill, its floor and scaling only

P0  floor: a trivial two-asset `dagster asset materialize` (Dagster import + one run), warm
P1  `trade-pipeline briefing 2026-W05` on the embedded sample, warm: wall time, peak RSS
P2  `trade-pipeline backfill 2025-W06 2026-W05` (52 weeks, one run, warm) against a same-shape trivial floor
    generated from the project's Definitions (p2_floor.py) and run the same way over the same 52 partitions:
    wall/CPU ratio, peak RSS, per-week cost with 13 / 26 / 52 weeks stored, HTTP requests
P3  Comtrade analytics on a ≈25 M-row synthetic HS6 world matrix: project code vs plain pandas (p3_analytics.py)
P4  HTTP requests of a cold weekly run per source; Comtrade daily quota at its limit (p4_quota.py)

Every CLI run uses its own temporary DAGSTER_HOME and TRADE_PIPELINE_DATA_DIR (common.CliSandbox); nothing is
written to the repository except benchmarks/results/. See benchmarks/README.md for what is measured and why.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH_DIR,
    CLI,
    DAGSTER,
    PROJECT_ROOT,
    RESULTS_DIR,
    CliSandbox,
    load_average,
    machine_info,
    median,
    run_timed,
    write_json,
)

PY = sys.executable
WEEK = "2026-W05"
# The embedded sample (data/sample/captures) covers every week from the first partition (2025-W02) to 2026-W08.
SAMPLE_FIRST, SAMPLE_LAST, SAMPLE_WEEKS = "2026-W01", "2026-W08", 8
FULL_FIRST, FULL_LAST = "2025-W06", "2026-W05"  # 52 ISO weeks
FULL_KEYS = ("2025-02-03", "2026-01-26")  # their partition keys (Mondays)
SCALE_PROBE = ("2025-W06", "2025-W18")  # 13 weeks, rerun with 13 / 26 / 52 weeks stored
SCALE_ADD = (("2025-W19", "2025-W31"), ("2025-W32", "2026-W05"))  # +13, +26 weeks
TARGET_FLOOR_RATIO = 1.5
DEAD_PROXY = "http://127.0.0.1:9"  # discard port: any request that tries the network fails at once, and is counted

ALL = {"P0", "P1", "P2", "P3", "P4"}
TARGETS = {
    "P1_wall_s": 10.0,
    "P2_52w_wall_s": 60.0,
    "P2_requests": 0,
    "P3_wall_s": 5.0,
    "P3_rss_mib": 2048.0,
    "P3_speedup": 10.0,
    "P4_comtrade": 30,
    "P4_census": 20,
}


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def tail(text: str, n: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


# ----------------------------------------------------------------------------------------------------------------------
TRIVIAL_DEFS = textwrap.dedent("""
    from dagster import asset

    @asset
    def a():
        return 1

    @asset
    def b(a):
        return a + 1
""")


def bench_floor(repeat: int) -> dict:
    with CliSandbox("floor") as box:
        defs = box.root / "trivial_defs.py"
        defs.write_text(TRIVIAL_DEFS)
        argv = [str(DAGSTER), "asset", "materialize", "-f", str(defs), "--select", "*"]
        env = box.env()
        (box.home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # plain default instance
        warm = run_timed(argv, env=env)
        runs = [run_timed(argv, env=env) for _ in range(repeat)]
    ok = warm.ok and all(r.ok for r in runs)
    return {
        "ok": ok,
        "wall_s": [r.wall_s for r in runs],
        "median_wall_s": median([r.wall_s for r in runs]),
        "peak_rss_mib": max(r.peak_rss_mib for r in runs),
        "cpu_s": median([r.user_s + r.sys_s for r in runs]),
        "error": None if ok else tail(warm.stderr),
    }


STEP_STATS = """
import json
from dagster import DagsterInstance
with DagsterInstance.get() as i:
    r = i.get_runs(limit=1)[0]
    st = i.get_run_stats(r.run_id)
    steps = {s.step_key: round(s.end_time - s.start_time, 2) for s in i.get_run_step_stats(r.run_id)
             if s.end_time and s.start_time}
    print(json.dumps({"run_s": round(st.end_time - st.start_time, 2),
                      "steps_s": dict(sorted(steps.items(), key=lambda kv: -kv[1]))}))
"""


def step_stats(box: CliSandbox) -> dict | None:
    """Duration of the sandbox's latest run and of each step, from its Dagster event log."""
    r = run_timed([PY, "-c", STEP_STATS], env=box.env())
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def bench_p1(repeat: int) -> dict:
    with CliSandbox("p1") as box:
        argv = [str(CLI), "briefing", WEEK]
        warm = run_timed(argv, env=box.env())
        if not warm.ok:
            return {"ok": False, "error": tail(warm.stderr, 8), "warm_wall_s": warm.wall_s}
        runs = [run_timed(argv, env=box.env()) for _ in range(repeat)]
        steps = step_stats(box)
    ok = all(r.ok for r in runs)
    return {
        "ok": ok,
        "command": f"trade-pipeline briefing {WEEK}",
        "last_run_steps": steps,
        "warm_wall_s": warm.wall_s,
        "wall_s": [r.wall_s for r in runs],
        "median_wall_s": median([r.wall_s for r in runs]),
        "min_wall_s": min(r.wall_s for r in runs),
        "peak_rss_mib": max(r.peak_rss_mib for r in runs),
        "cpu_s": median([r.user_s + r.sys_s for r in runs]),
        "error": None if ok else tail(next(r for r in runs if not r.ok).stderr, 8),
    }


def tallied(box: CliSandbox, args: list[str], **env: str):
    tally_file = box.root / f"tally-{len(list(box.root.glob('tally-*')))}.json"
    timed = run_timed(
        [PY, str(BENCH_DIR / "http_tally.py"), str(tally_file), *args], env=box.env(**env), timeout_s=1800
    )
    tally = json.loads(tally_file.read_text()) if tally_file.exists() else {}
    return timed, tally


def totals(tally: dict) -> dict:
    return {
        k: sum(t.get(k, 0) for t in tally.values())
        for k in ("calls", "network", "cache_hits", "replayed", "retries", "deduped")
    }


def fill_cache_from_sample(box: CliSandbox) -> int:
    """The response cache a previous live run would have left: the sample exchanges, recorded 'now' (fresh)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    n = 0
    for src_dir in sorted((PROJECT_ROOT / "data" / "sample" / "captures").iterdir()):
        if not src_dir.is_dir():
            continue
        dest = box.data / "cache" / "http" / src_dir.name
        dest.mkdir(parents=True, exist_ok=True)
        for f in src_dir.rglob("*.json"):  # sub-folders too (exposure/): the cache index reads them all
            doc = json.loads(f.read_text(encoding="utf-8"))
            if not (200 <= int(doc["response"]["status"]) < 300):
                continue  # the cache only ever holds 2xx answers
            doc["recorded_at"] = now
            target = dest / f.relative_to(src_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            n += 1
    return n


def floor_run(box: CliSandbox, first_key: str, last_key: str) -> dict:
    """The same-shape trivial floor (p2_floor.py, generated from the project's Definitions): one warm-up, then one
    timed `dagster job execute` of floor_job over the same partition range, in process, same dagster.yaml."""
    shape = run_timed([PY, str(BENCH_DIR / "p2_floor.py"), "write", str(box.root)], cwd=PROJECT_ROOT)
    if not shape.ok:
        return {"ok": False, "error": tail(shape.stderr)}
    tags = json.dumps({"dagster/asset_partition_range_start": first_key, "dagster/asset_partition_range_end": last_key})
    argv = [str(DAGSTER), "job", "execute", "-f", str(box.root / "floor_defs.py"), "-j", "floor_job", "--tags", tags]
    warm = run_timed(argv, env=box.env(), cwd=box.root, timeout_s=1200)
    timed = run_timed(argv, env=box.env(), cwd=box.root, timeout_s=1200)
    ok = warm.ok and timed.ok
    return {
        "ok": ok,
        "shape": json.loads(shape.stdout),
        "range": [first_key, last_key],
        "first_wall_s": warm.wall_s,
        "wall_s": timed.wall_s,
        "cpu_s": round(timed.user_s + timed.sys_s, 2),
        "peak_rss_mib": timed.peak_rss_mib,
        "error": None if ok else tail((timed if warm.ok else warm).stderr, 6),
    }


def timed_cli(box: CliSandbox, *args: str) -> dict:
    r = run_timed([str(CLI), *args], env=box.env(), timeout_s=1800)
    return {
        "args": list(args),
        "ok": r.ok,
        "wall_s": r.wall_s,
        "cpu_s": round(r.user_s + r.sys_s, 2),
        "peak_rss_mib": r.peak_rss_mib,
        "load_after": load_average(),
        "error": None if r.ok else tail(r.stderr, 6),
    }


def bench_p2_scaling() -> dict:
    """Does the per-week cost grow with the weeks already stored? The same 13-week backfill (2025-W06..W18), rerun
    warm with 13, 26 and 52 weeks in the warehouse (the later weeks are added by backfills in between)."""
    runs: dict = {}
    with CliSandbox("p2scale") as box:
        probe = ("backfill", *SCALE_PROBE, "--no-history")
        runs["cold_13"] = timed_cli(box, *probe)
        runs["stored_13"] = timed_cli(box, *probe)
        runs["add_14_26"] = timed_cli(box, "backfill", *SCALE_ADD[0], "--no-history")
        runs["stored_26"] = timed_cli(box, *probe)
        runs["add_27_52"] = timed_cli(box, "backfill", *SCALE_ADD[1], "--no-history")
        runs["stored_52"] = timed_cli(box, *probe)
    ok = all(r["ok"] for r in runs.values())
    out = {"ok": ok, "probe": f"backfill {SCALE_PROBE[0]} {SCALE_PROBE[1]} (13 weeks)", "runs": runs}
    if ok:
        out["probe_wall_s"] = {n: runs[f"stored_{n}"]["wall_s"] for n in (13, 26, 52)}
        out["probe_cpu_s"] = {n: runs[f"stored_{n}"]["cpu_s"] for n in (13, 26, 52)}
        # the added weeks' own per-week cost, after 13 and after 26 weeks stored (CPU, less noisy than wall)
        out["added_per_week_cpu_s"] = {
            "after_13": round(runs["add_14_26"]["cpu_s"] / 13, 3),
            "after_26": round(runs["add_27_52"]["cpu_s"] / 26, 3),
        }
    return out


def bench_p2(p1_wall: float | None) -> dict:
    """P2: the literal 52-week backfill, warm, against its same-shape trivial floor measured in the same run."""
    out: dict = {"range": f"{FULL_FIRST}..{FULL_LAST}", "weeks": 52}
    with CliSandbox("p2") as box:
        argv = [str(CLI), "backfill", FULL_FIRST, FULL_LAST]
        # first run: a fresh warehouse, so the comparison weeks 2025-W02..W05 join the run (56 weeks); fills the
        # warehouse, the OS caches and .pyc. The timed run is then exactly the 52 weeks.
        cold = run_timed(argv, env=box.env(), timeout_s=1800)
        load_before = load_average()
        # the timed run also counts its requests (http_tally.py runs the same CLI main in process, wrapping
        # SourceHttp.request with a counter; replay mode: network is 0 by construction)
        warm, tally = tallied(box, ["backfill", FULL_FIRST, FULL_LAST])
        out.update(
            ok=cold.ok and warm.ok,
            first_wall_s=cold.wall_s,
            first_cpu_s=round(cold.user_s + cold.sys_s, 2),
            first_note="fresh warehouse: 56 weeks (2025-W02..W05 added for 上週/去年同週)",
            wall_s=warm.wall_s,
            cpu_s=round(warm.user_s + warm.sys_s, 2),
            peak_rss_mib=warm.peak_rss_mib,
            load_before_timed=load_before,
            load_after_timed=load_average(),
            error=None if warm.ok else tail((warm if cold.ok else cold).stderr, 8),
            last_run_steps=step_stats(box),
        )
        reports = sorted((box.data / "site" / "Narrator" / "trade_briefing").glob("*-trade-briefing.md"))
        out["reports_written"] = len(reports)
        out["reports_printed"] = len(warm.stdout.split())
        out["replay"] = {"ok": warm.ok, "by_source": tally, "totals": totals(tally)}
    with CliSandbox("p2floor") as box:
        from_key, to_key = FULL_KEYS
        out["floor"] = floor_run(box, from_key, to_key)
    if out["ok"] and out["floor"].get("ok"):
        out["ratio_wall"] = round(out["wall_s"] / out["floor"]["wall_s"], 2)
        out["ratio_cpu"] = round(out["cpu_s"] / out["floor"]["cpu_s"], 2)
    # live mode with a filled response cache: what a rerun over unchanged data costs on the wire (8 weeks)
    with CliSandbox("p2live") as box:
        filled = fill_cache_from_sample(box)
        proxy = {
            "HTTP_PROXY": DEAD_PROXY,
            "HTTPS_PROXY": DEAD_PROXY,
            "ALL_PROXY": DEAD_PROXY,
            "http_proxy": DEAD_PROXY,
            "https_proxy": DEAD_PROXY,
            "all_proxy": DEAD_PROXY,
            "NO_PROXY": "",
            "no_proxy": "",
        }
        t_live, tally = tallied(box, ["backfill", SAMPLE_FIRST, SAMPLE_LAST, "--no-history", "--mode", "live"], **proxy)
        out["live_filled_cache"] = {
            "ok": t_live.ok,
            "wall_s": t_live.wall_s,
            "cache_entries": filled,
            "range": f"{SAMPLE_FIRST}..{SAMPLE_LAST}",
            "by_source": tally,
            "totals": totals(tally),
            "error": None if t_live.ok else tail(t_live.stderr, 6),
        }
    out["scaling"] = bench_p2_scaling()
    return out


def bench_p3(rows_per_group: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="trade_bench_p3_"))
    try:
        script = str(BENCH_DIR / "p3_analytics.py")
        gen = run_timed([PY, script, "gen", str(tmp / "matrix"), "--rows-per-group", str(rows_per_group)])
        if not gen.ok:
            return {"ok": False, "error": tail(gen.stderr)}
        info = json.loads(gen.stdout)
        res = {"matrix": info}
        for impl in ("project", "pandas"):
            r = run_timed([PY, script, "run", impl, str(tmp / "matrix"), str(tmp / impl)], timeout_s=1800)
            if not r.ok:
                return {**res, "ok": False, "error": f"{impl}: {tail(r.stderr)}"}
            res[impl] = {**json.loads(r.stdout), "process_wall_s": r.wall_s, "process_peak_rss_mib": r.peak_rss_mib}
        cmp = run_timed([PY, script, "compare", str(tmp / "project"), str(tmp / "pandas")])
        res["agree"] = cmp.ok
        res["comparison"] = json.loads(cmp.stdout) if cmp.ok else tail(cmp.stderr)
        res["speedup"] = round(res["pandas"]["total_s"] / res["project"]["total_s"], 2)
        res["ok"] = cmp.ok
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_p4() -> dict:
    with CliSandbox("p4") as box:
        timed, tally = tallied(box, ["briefing", WEEK])
    quota = run_timed([PY, str(BENCH_DIR / "p4_quota.py")])
    try:
        quota_doc = json.loads(quota.stdout)
    except ValueError:
        quota_doc = {"proven": False, "error": tail(quota.stderr)}
    # the project's own cold-week formula, for both Comtrade endpoints
    formula = run_timed(
        [
            PY,
            "-c",
            (
                "import json; from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient as C;"
                "from trade_pipeline.defs.bilateral_trade_flows.codes import ALL_REPORTERS as R;"
                "print(json.dumps({e: C(endpoint=e).requests_per_cold_week(len(R)) for e in ('preview', 'keyed')}))"
            ),
        ],
        cwd=PROJECT_ROOT,
    )
    return {
        "ok": timed.ok,
        "week": WEEK,
        "by_source": tally,
        "run_ok": timed.ok,
        "error": None if timed.ok else tail(timed.stderr, 6),
        "comtrade_formula": json.loads(formula.stdout) if formula.ok else tail(formula.stderr),
        "quota": quota_doc,
    }


# ----------------------------------------------------------------------------------------------------------------------
def met(value, target, higher_is_better: bool = False) -> str:
    if value is None:
        return "n/a"
    return "yes" if (value >= target if higher_is_better else value <= target) else "NO"


def table(results: dict) -> list[dict]:
    rows = []
    f = results.get("P0")
    if f:
        rows.append(
            {
                "id": "P0",
                "what": "floor: trivial 2-asset `dagster asset materialize`, wall (median)",
                "value": f"{f['median_wall_s']:.2f} s, {f['peak_rss_mib']:.0f} MiB" if f["ok"] else "failed",
                "target": "(reference)",
                "met": "-",
            }
        )
    p1 = results.get("P1")
    if p1:
        v = p1.get("median_wall_s") if p1["ok"] else None
        rows.append(
            {
                "id": "P1",
                "what": f"`briefing {WEEK}` warm, wall (median of {len(p1.get('wall_s', []))})",
                "value": f"{v:.2f} s" if v is not None else "FAILED",
                "target": "≤ 10 s",
                "met": met(v, TARGETS["P1_wall_s"]),
            }
        )
        if p1["ok"]:
            rows.append(
                {
                    "id": "P1",
                    "what": "… peak RSS of the CLI process tree",
                    "value": f"{p1['peak_rss_mib']:.0f} MiB",
                    "target": "-",
                    "met": "-",
                }
            )
    p2 = results.get("P2")
    if p2 and "floor" in p2:
        fl = p2["floor"]
        rows.append(
            {
                "id": "P2",
                "what": f"`backfill {p2['range']}` (52 weeks, one run), warm, wall",
                "value": f"{p2['wall_s']:.1f} s (CPU {p2['cpu_s']:.1f} s)" if p2["ok"] else "FAILED",
                "target": "≤ 60 s",
                "met": met(p2.get("wall_s") if p2["ok"] else None, TARGETS["P2_52w_wall_s"]),
            }
        )
        rows.append(
            {
                "id": "P2",
                "what": f"… same-shape trivial floor ({fl.get('shape', {}).get('assets', '?')} assets, "
                f"{fl.get('shape', {}).get('dependencies', '?')} deps, single-run, in-process, "
                "same 52 partitions), wall",
                "value": f"{fl['wall_s']:.1f} s (CPU {fl['cpu_s']:.1f} s)" if fl.get("ok") else "FAILED",
                "target": "(reference)",
                "met": "-",
            }
        )
        ratio = p2.get("ratio_wall")
        rows.append(
            {
                "id": "P2",
                "what": "… ratio backfill / floor, wall (CPU)",
                "value": f"{ratio:.2f}× ({p2['ratio_cpu']:.2f}×)" if ratio is not None else "n/a",
                "target": f"≤ {TARGET_FLOOR_RATIO}×",
                "met": met(ratio, TARGET_FLOOR_RATIO),
            }
        )
        if p2["ok"]:
            rows.append(
                {
                    "id": "P2",
                    "what": "… peak RSS of the CLI process",
                    "value": f"{p2['peak_rss_mib']:.0f} MiB",
                    "target": "-",
                    "met": "-",
                }
            )
        sc = p2.get("scaling", {})
        if sc.get("ok"):
            w, c = sc["probe_wall_s"], sc["probe_cpu_s"]
            rows.append(
                {
                    "id": "P2",
                    "what": "… per-week cost vs weeks stored: same 13-week backfill with 13 / 26 / 52 "
                    "weeks in the warehouse, wall (CPU)",
                    "value": " / ".join(f"{w[n]:.1f} s ({c[n]:.1f})" for n in (13, 26, 52)),
                    "target": "flat",
                    "met": "-",
                }
            )
            a = sc["added_per_week_cpu_s"]
            rows.append(
                {
                    "id": "P2",
                    "what": "… CPU per added week: 13 weeks added after 13 stored / 26 after 26",
                    "value": f"{a['after_13']:.2f} s / {a['after_26']:.2f} s",
                    "target": "flat",
                    "met": "-",
                }
            )
        rp = p2.get("replay", {}).get("totals", {})
        rows.append(
            {
                "id": "P2",
                "what": "… HTTP: network requests, replay mode (exchanges served from captures)",
                "value": f"{rp.get('network', 'n/a')} ({rp.get('replayed', 'n/a')} replayed, "
                f"{rp.get('deduped', 0)} repeats answered in-run)",
                "target": "0",
                "met": met(rp.get("network"), 0),
            }
        )
        lv = p2.get("live_filled_cache", {})
        lt = lv.get("totals", {})
        rows.append(
            {
                "id": "P2",
                "what": f"… HTTP: network requests, live mode + filled response cache ({lv.get('range', '8 weeks')})",
                "value": f"{lt.get('network', 'n/a')} ({lt.get('cache_hits', 'n/a')} cache hits"
                f"{'' if lv.get('ok') else ', run failed'})",
                "target": "0",
                "met": met(lt.get("network"), 0),
            }
        )
    p3 = results.get("P3")
    if p3:
        if p3.get("project") and p3.get("pandas"):
            pr, pd_ = p3["project"], p3["pandas"]
            rows += [
                {
                    "id": "P3",
                    "what": f"analytics on {p3['matrix']['rows'] / 1e6:.1f} M HS6 rows, project (polars + metrics.py)",
                    "value": f"{pr['total_s']:.2f} s",
                    "target": "≤ 5 s",
                    "met": met(pr["total_s"], TARGETS["P3_wall_s"]),
                },
                {
                    "id": "P3",
                    "what": "… project peak RSS (own process, input included)",
                    "value": f"{pr['process_peak_rss_mib']:.0f} MiB",
                    "target": "≤ 2 GB (2048 MiB)",
                    "met": met(pr["process_peak_rss_mib"], TARGETS["P3_rss_mib"]),
                },
                {
                    "id": "P3",
                    "what": "… plain pandas, same metrics",
                    "value": f"{pd_['total_s']:.2f} s, {pd_['process_peak_rss_mib']:.0f} MiB",
                    "target": "-",
                    "met": "-",
                },
                {
                    "id": "P3",
                    "what": "… speed ratio pandas / project",
                    "value": f"{p3['speedup']:.2f}×",
                    "target": "≥ 10×",
                    "met": met(p3["speedup"], TARGETS["P3_speedup"], higher_is_better=True),
                },
                {
                    "id": "P3",
                    "what": "… results agree (HHI, top-3, ranks, balances, HS2; 1e-6 rel.)",
                    "value": "yes" if p3.get("agree") else "NO",
                    "target": "yes",
                    "met": "yes" if p3.get("agree") else "NO",
                },
            ]
        else:
            rows.append({"id": "P3", "what": "analytics", "value": "FAILED", "target": "-", "met": "NO"})
    p4 = results.get("P4")
    if p4:
        bs = p4.get("by_source", {})
        for src, target in (("comtrade", 30), ("census", 20), ("mofcom", None)):
            t = bs.get(src, {})
            n = t.get("replayed", 0) + t.get("network", 0) + t.get("cache_hits", 0) if t else None
            rows.append(
                {
                    "id": "P4",
                    "what": f"cold week {WEEK}: {src} requests",
                    "value": "n/a" if n is None else f"{n}" + (" (preview endpoint)" if src == "comtrade" else ""),
                    "target": f"≤ {target}" if target else "-",
                    "met": met(n, target) if target else "-",
                }
            )
        cf = p4.get("comtrade_formula")
        if isinstance(cf, dict):
            rows.append(
                {
                    "id": "P4",
                    "what": "… comtrade cold week with a key (project formula, keyed endpoint)",
                    "value": str(cf.get("keyed")),
                    "target": "≤ 30",
                    "met": met(cf.get("keyed"), 30),
                }
            )
        q = p4.get("quota", {})
        rows.append(
            {
                "id": "P4",
                "what": "Comtrade quota cannot be exceeded (p4_quota.py, 5 scenarios)",
                "value": "proven" if q.get("proven") else "NOT proven",
                "target": "proven",
                "met": "yes" if q.get("proven") else "NO",
            }
        )
    return rows


def render_markdown(results: dict, rows: list[dict]) -> str:
    m = results["machine"]
    lines = [
        "# Latest benchmark results",
        "",
        f"- date (UTC): {m['date_utc']}  ·  git: {m.get('git_head')}",
        f"- machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, Python {m['python']}",
        f"- load average at start / end: {m['load_average_at_start']} / {results.get('load_average_at_end')}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
        f"- command: `{results['command']}`",
        "",
        "| id | measurement | result | target | met |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['id']} | {r['what']} | {r['value']} | {r['target']} | {r['met']} |" for r in rows]
    lines += ["", "Each section, when measured and the 1/5/15-min load average just before it (2 CPUs):", ""]
    lines += [
        f"- {k}: {results[k].get('measured_at')} (load {results[k].get('load_average_before')})"
        for k in sorted(ALL)
        if k in results
    ]
    lines += ["", "Raw figures: `latest.json` (same directory).", ""]
    return "\n".join(lines)


def print_table(rows: list[dict]) -> None:
    w = [
        max(
            len(str(r[k]))
            for r in rows + [{"id": "id", "what": "measurement", "value": "result", "target": "target", "met": "met"}]
        )
        for k in ("id", "what", "value", "target", "met")
    ]
    head = ("id", "measurement", "result", "target", "met")
    print("  ".join(h.ljust(x) for h, x in zip(head, w)))
    print("  ".join("-" * x for x in w))
    for r in rows:
        print("  ".join(str(r[k]).ljust(x) for k, x in zip(("id", "what", "value", "target", "met"), w)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="P0,P1,P2,P3,P4", help="comma-separated subset, e.g. P1,P3")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs for P0/P1 (after one warm-up)")
    parser.add_argument(
        "--p3-rows-per-group",
        type=int,
        default=250,
        help="average HS6 codes per reporter×partner×flow (250 → ≈25 M rows)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not update benchmarks/results/")
    args = parser.parse_args()
    only = {s.strip().upper() for s in args.only.split(",")}

    results: dict = {"machine": machine_info(), "command": " ".join(["benchmarks/run_all.py", *sys.argv[1:]])}
    previous = RESULTS_DIR / "latest.json"
    if only != ALL and previous.exists() and not args.no_write:
        # a subset rerun updates its sections and keeps the others (each section says when it was measured)
        old = json.loads(previous.read_text(encoding="utf-8"))
        for k in ALL - only:
            if k in old:
                old[k].setdefault("measured_at", old["machine"]["date_utc"])
                old[k].setdefault("load_average_before", old["machine"]["load_average_at_start"])
                results[k] = old[k]
    steps = [
        ("P0", "P0 floor: trivial dagster materialize …", lambda: bench_floor(args.repeat)),
        ("P1", "P1 briefing, warm …", lambda: bench_p1(args.repeat)),
        (
            "P2",
            f"P2 backfill {FULL_FIRST}..{FULL_LAST} vs its floor, scaling, request counts …",
            lambda: bench_p2(results["P1"].get("median_wall_s") if results.get("P1", {}).get("ok") else None),
        ),
        (
            "P3",
            "P3 analytics on the synthetic HS6 matrix (project vs pandas) …",
            lambda: bench_p3(args.p3_rows_per_group),
        ),
        ("P4", "P4 cold-week requests per source, Comtrade quota …", bench_p4),
    ]
    for key, message, fn in steps:
        if key not in only:
            continue
        say(message)
        load_before = load_average()
        section = fn()
        section["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        section["load_average_before"] = load_before
        results[key] = section
    results["load_average_at_end"] = load_average()

    rows = table(results)
    results["table"] = rows
    print_table(rows)
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        write_json(RESULTS_DIR / "latest.json", results)
        (RESULTS_DIR / "latest.md").write_text(render_markdown(results, rows), encoding="utf-8")
        with (RESULTS_DIR / "history.jsonl").open("a", encoding="utf-8") as h:
            h.write(
                json.dumps(
                    {
                        "date_utc": results["machine"]["date_utc"],
                        "command": results["command"],
                        "load": results["machine"]["load_average_at_start"],
                        "table": rows,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        say(f"wrote {RESULTS_DIR / 'latest.json'} and latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
