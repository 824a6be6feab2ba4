"""P3: the Comtrade analytics on a synthetic HS6 world matrix — project code (polars + metrics.py) vs plain pandas.

    python benchmarks/p3_analytics.py gen  DATA_DIR [--rows-per-group 250]    write the matrix (numpy .npy columns)
    python benchmarks/p3_analytics.py run  project|pandas DATA_DIR OUT_DIR    time one implementation, print JSON
    python benchmarks/p3_analytics.py compare OUT_A OUT_B                     assert both outputs agree (1e-6 rel.)

The matrix: 200 reporters × 250 partners × 2 flows (X/M) × on average 250 of 5,000 HS6 codes per
reporter × partner × flow (uniform 200..300, distinct codes), one year; ≈ 25 M rows, seeded (numpy PCG64, seed 8).
Columns: reporter (int16), partner (int16), flow (int8: 0=X, 1=M), hs6 (int32, 6-digit code whose first two digits
are one of the 96 HS chapters), value (float64 USD, lognormal).

Metrics, per reporter × flow (one year):
- partner totals (HS6 → partner) and the reporter's World total,
- partner ranking (value desc, ties by partner code), share %, top-20,
- HHI (sum of squared % shares), top-3 share and codes, partner count,
- balances (export − import) per reporter × partner, World included,
- HS structure: HS2 chapter value, share and rank against World.

The *project* path aggregates HS6 → partner and HS6 → HS2 with polars (timed: that is how the matrix would be fed to
the project) and then calls the project's own functions from trade_pipeline/defs/bilateral_trade_flows/metrics.py:
``rankings``, ``concentration``, ``balances``, ``commodity_structure`` (they take partner-total / HS2 rows in the
warehouse schema, not HS6 rows). The *pandas* path is a straightforward pandas implementation of the same figures.
Each ``run`` is its own process, so its peak RSS (input matrix included) is attributable to one implementation.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

SEED = 8
N_REPORTERS = 200
N_PARTNERS = 250
N_HS6 = 5_000
YEAR = 2024
REPORTER_BASE = 1000  # synthetic codes, clear of real M49 codes and of the excluded/aggregate partner codes
PARTNER_BASE = 2000
WORLD = 0
FLOW_LABELS = ("X", "M")
COLUMNS = ("reporter", "partner", "flow", "hs6", "value")
TOP_N = 20


# ----------------------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------------------
def hs6_codes() -> np.ndarray:
    """5,000 distinct 6-digit codes spread over the 96 HS chapters of codes.HS2_CODES (01..97 without 77)."""
    chapters = np.array([c for c in range(1, 98) if c != 77], dtype=np.int32)
    idx = np.arange(N_HS6, dtype=np.int32)
    return chapters[idx % len(chapters)] * 10_000 + (idx // len(chapters)) * 10 + 1


def generate(data_dir: Path, rows_per_group: int = 250) -> dict:
    rng = np.random.default_rng(SEED)
    n_groups = N_REPORTERS * N_PARTNERS * 2
    lo, hi = int(rows_per_group * 0.8), int(rows_per_group * 1.2)
    counts = rng.integers(lo, hi + 1, size=n_groups).astype(np.int64)
    n = int(counts.sum())
    group = np.repeat(np.arange(n_groups, dtype=np.int32), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(n, dtype=np.int64) - starts
    del starts
    # distinct HS6 codes per group: offset + k * stride (mod 5000) with stride coprime to 5000
    strides = np.array([s for s in range(1, 200) if s % 2 and s % 5], dtype=np.int64)
    g_offset = rng.integers(0, N_HS6, size=n_groups)
    g_stride = strides[rng.integers(0, len(strides), size=n_groups)]
    hs6_idx = (g_offset[group] + k * g_stride[group]) % N_HS6
    del k
    codes = hs6_codes()
    reporter = (REPORTER_BASE + group // (N_PARTNERS * 2)).astype(np.int16)
    partner = (PARTNER_BASE + (group // 2) % N_PARTNERS).astype(np.int16)
    flow = (group % 2).astype(np.int8)
    # values: lognormal, with per-partner and per-product scale so rankings and HS shares are not uniform
    partner_scale = rng.lognormal(0.0, 1.5, size=N_PARTNERS)
    hs_scale = rng.lognormal(0.0, 1.0, size=N_HS6)
    value = np.round(rng.lognormal(10.0, 2.0, size=n) * partner_scale[(group // 2) % N_PARTNERS] * hs_scale[hs6_idx], 0)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in zip(COLUMNS, (reporter, partner, flow, codes[hs6_idx].astype(np.int32), value)):
        np.save(data_dir / f"{name}.npy", arr)
    return {"rows": n, "groups": n_groups, "bytes": int(sum((data_dir / f"{c}.npy").stat().st_size for c in COLUMNS))}


def load(data_dir: Path) -> dict[str, np.ndarray]:
    return {c: np.load(data_dir / f"{c}.npy") for c in COLUMNS}


# ----------------------------------------------------------------------------------------------------------------------
# project path: polars aggregation + trade_pipeline metrics
# ----------------------------------------------------------------------------------------------------------------------
def run_project(cols: dict[str, np.ndarray]) -> tuple[dict, dict]:
    import polars as pl

    from trade_pipeline.defs.bilateral_trade_flows import metrics

    timings = {}
    t0 = time.perf_counter()
    hs6 = pl.DataFrame({c: cols[c] for c in COLUMNS})
    flow_lbl = pl.when(pl.col("flow") == 0).then(pl.lit("X")).otherwise(pl.lit("M"))
    const = dict(
        year=pl.lit(YEAR, pl.Int32),
        review_flags=pl.lit(""),
        source_kind=pl.lit("reported"),
        request_id=pl.lit("synthetic"),
        fetched_at=pl.lit("2026-01-01T00:00:00+00:00"),
    )
    partner = hs6.lazy().group_by("reporter", "flow", "partner").agg(pl.col("value").sum())
    world = (
        partner.group_by("reporter", "flow")
        .agg(pl.col("value").sum())
        .with_columns(pl.lit(WORLD, pl.Int16).alias("partner"))
    )
    hs2 = hs6.lazy().group_by("reporter", "flow", (pl.col("hs6") // 10_000).alias("hs2")).agg(pl.col("value").sum())
    partner_df, world_df, hs2_df = pl.collect_all([partner, world.select(partner.collect_schema().names()), hs2])
    timings["aggregate_hs6_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    flows = pl.concat(
        [
            partner_df.with_columns(is_excluded_partner=pl.lit(False)),
            world_df.with_columns(is_excluded_partner=pl.lit(True)),
        ]
    ).select(
        pl.col("reporter").cast(pl.Int32).alias("reporter_code"),
        pl.col("partner").cast(pl.Int32).alias("partner_code"),
        flow_lbl.alias("flow"),
        pl.col("value").alias("primary_value_usd"),
        pl.col("is_excluded_partner"),
        pl.format("夥伴 {}", pl.col("partner")).alias("partner_name_zh"),
        **const,
    )
    commodity = hs2_df.select(
        pl.col("reporter").cast(pl.Int32).alias("reporter_code"),
        flow_lbl.alias("flow"),
        pl.col("hs2").cast(pl.Utf8).str.zfill(2).alias("hs2"),
        pl.lit("synthetic chapter").alias("hs2_desc"),
        pl.col("value").alias("primary_value_usd"),
        **const,
    )
    timings["to_warehouse_schema_s"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    ranked = metrics.rankings(flows)
    timings["rankings_s"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    conc = metrics.concentration(flows)
    timings["concentration_s"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    bal = metrics.balances(flows)
    timings["balances_s"] = time.perf_counter() - t4
    t5 = time.perf_counter()
    structure = metrics.commodity_structure(commodity)
    timings["commodity_structure_s"] = time.perf_counter() - t5
    timings["total_s"] = time.perf_counter() - t0

    out = {
        "rankings": ranked.select(
            pl.col("reporter_code").alias("reporter"),
            "flow",
            "rank",
            pl.col("partner_code").alias("partner"),
            pl.col("value_usd").alias("value"),
            "share_pct",
            "total_usd",
        ),
        "concentration": conc.select(
            pl.col("reporter_code").alias("reporter"),
            "flow",
            "hhi",
            "top3_share_pct",
            "top3_partner_codes",
            "partner_count",
            "total_usd",
            "world_total_usd",
        ),
        "balances": bal.select(
            pl.col("reporter_code").alias("reporter"),
            pl.col("partner_code").alias("partner"),
            "export_usd",
            "import_usd",
            "balance_usd",
            "balance_label",
        ),
        "commodity": structure.select(
            pl.col("reporter_code").alias("reporter"),
            "flow",
            "hs2",
            pl.col("value_usd").alias("value"),
            "share_pct",
            "rank",
        ),
    }
    return timings, {k: v.to_pandas() for k, v in out.items()}


# ----------------------------------------------------------------------------------------------------------------------
# plain pandas path
# ----------------------------------------------------------------------------------------------------------------------
def run_pandas(cols: dict[str, np.ndarray]) -> tuple[dict, dict]:
    import pandas as pd

    timings = {}
    t0 = time.perf_counter()
    df = pd.DataFrame({c: cols[c] for c in COLUMNS})

    # partner totals and World (grouped on the integer codes; flow labels added to the small result)
    pt = df.groupby(["reporter", "flow", "partner"], as_index=False)["value"].sum()
    pt["flow"] = np.where(pt["flow"].to_numpy() == 0, "X", "M")
    world = pt.groupby(["reporter", "flow"], as_index=False)["value"].sum().rename(columns={"value": "world_total_usd"})
    timings["aggregate_hs6_s"] = time.perf_counter() - t0

    # rankings and shares
    t1 = time.perf_counter()
    pt = pt.sort_values(["reporter", "flow", "value", "partner"], ascending=[True, True, False, True])
    pt["rank"] = pt.groupby(["reporter", "flow"]).cumcount() + 1
    pt["total_usd"] = pt.groupby(["reporter", "flow"])["value"].transform("sum")
    pt["share_pct"] = pt["value"] / pt["total_usd"] * 100.0
    rankings = pt[pt["rank"] <= TOP_N][["reporter", "flow", "rank", "partner", "value", "share_pct", "total_usd"]]
    timings["rankings_s"] = time.perf_counter() - t1

    # concentration
    t2 = time.perf_counter()
    pt["share_sq"] = pt["share_pct"] ** 2
    g = pt.groupby(["reporter", "flow"])
    conc = g.agg(
        hhi=("share_sq", "sum"), partner_count=("value", lambda v: int((v > 0).sum())), total_usd=("value", "sum")
    ).reset_index()
    top3 = pt[pt["rank"] <= 3]
    t3 = (
        top3.groupby(["reporter", "flow"])
        .agg(
            top3_share_pct=("share_pct", "sum"),
            top3_partner_codes=("partner", lambda p: ",".join(str(int(x)) for x in p)),
        )
        .reset_index()
    )
    conc = conc.merge(t3, on=["reporter", "flow"]).merge(world, on=["reporter", "flow"])
    timings["concentration_s"] = time.perf_counter() - t2

    # balances (World included as partner 0)
    t4 = time.perf_counter()
    both = pd.concat(
        [
            pt[["reporter", "flow", "partner", "value"]],
            world.rename(columns={"world_total_usd": "value"}).assign(partner=WORLD),
        ]
    )
    wide = both.pivot_table(
        index=["reporter", "partner"], columns="flow", values="value", aggfunc="sum", fill_value=0.0
    )
    bal = pd.DataFrame({"export_usd": wide.get("X", 0.0), "import_usd": wide.get("M", 0.0)}).reset_index()
    bal["balance_usd"] = bal["export_usd"] - bal["import_usd"]
    bal["balance_label"] = np.where(bal["balance_usd"] > 0, "順差", np.where(bal["balance_usd"] < 0, "逆差", "平衡"))
    timings["balances_s"] = time.perf_counter() - t4

    # HS structure
    t5 = time.perf_counter()
    hs = df.groupby(["reporter", "flow", df["hs6"] // 10_000], as_index=False)["value"].sum()
    hs = hs.rename(columns={"hs6": "hs2"})
    hs["hs2"] = hs["hs2"].map(lambda c: f"{c:02d}")
    hs["flow"] = np.where(hs["flow"].to_numpy() == 0, "X", "M")
    hs = hs.sort_values(["reporter", "flow", "value", "hs2"], ascending=[True, True, False, True])
    hs["rank"] = hs.groupby(["reporter", "flow"]).cumcount() + 1
    hs["share_pct"] = hs["value"] / hs.groupby(["reporter", "flow"])["value"].transform("sum") * 100.0
    commodity = hs[["reporter", "flow", "hs2", "value", "share_pct", "rank"]]
    timings["commodity_structure_s"] = time.perf_counter() - t5
    timings["total_s"] = time.perf_counter() - t0
    return timings, {"rankings": rankings, "concentration": conc, "balances": bal, "commodity": commodity}


# ----------------------------------------------------------------------------------------------------------------------
# comparison
# ----------------------------------------------------------------------------------------------------------------------
KEYS = {
    "rankings": ["reporter", "flow", "rank"],
    "concentration": ["reporter", "flow"],
    "balances": ["reporter", "partner"],
    "commodity": ["reporter", "flow", "hs2"],
}


def compare(dir_a: Path, dir_b: Path, rtol: float = 1e-6) -> dict:
    import pandas as pd

    report = {}
    for name, keys in KEYS.items():
        a = pd.read_parquet(dir_a / f"{name}.parquet")
        b = pd.read_parquet(dir_b / f"{name}.parquet")
        for frame in (a, b):
            for k in keys:
                frame[k] = frame[k].astype(str) if k in ("flow", "hs2") else frame[k].astype("int64")
        assert len(a) == len(b), f"{name}: {len(a)} rows vs {len(b)}"
        m = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
        assert (m["_merge"] == "both").all(), f"{name}: keys differ ({(m['_merge'] != 'both').sum()} rows)"
        worst = 0.0
        for col in [c for c in a.columns if c not in keys]:
            x, y = m[f"{col}_a"], m[f"{col}_b"]
            if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
                xf, yf = x.astype(float).to_numpy(), y.astype(float).to_numpy()
                rel = np.abs(xf - yf) / np.maximum(np.maximum(np.abs(xf), np.abs(yf)), 1e-300)
                rel[(xf == 0) & (yf == 0)] = 0.0
                assert np.all(rel <= rtol), f"{name}.{col}: max relative difference {rel.max():.3g} > {rtol}"
                worst = max(worst, float(rel.max()) if len(rel) else 0.0)
            else:
                xs, ys = x.astype(str).to_numpy(), y.astype(str).to_numpy()
                bad = int((xs != ys).sum())
                assert bad == 0, f"{name}.{col}: {bad} rows differ, e.g. {xs[xs != ys][:3]} vs {ys[xs != ys][:3]}"
        report[name] = {"rows": len(a), "max_rel_diff": worst}
    return report


# ----------------------------------------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    cmd = argv[0]
    if cmd == "gen":
        rows = int(argv[argv.index("--rows-per-group") + 1]) if "--rows-per-group" in argv else 250
        t = time.perf_counter()
        info = generate(Path(argv[1]), rows)
        info["generate_s"] = round(time.perf_counter() - t, 2)
        print(json.dumps(info))
        return 0
    if cmd == "run":
        impl, data_dir, out_dir = argv[1], Path(argv[2]), Path(argv[3])
        t = time.perf_counter()
        cols = load(data_dir)
        load_s = time.perf_counter() - t
        rss_after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        timings, out = (run_project if impl == "project" else run_pandas)(cols)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, frame in out.items():
            frame.reset_index(drop=True).to_parquet(out_dir / f"{name}.parquet")
        print(
            json.dumps(
                {
                    "impl": impl,
                    "rows": int(len(cols["value"])),
                    "load_s": round(load_s, 3),
                    "peak_rss_after_load_mib": round(rss_after_load, 1),
                    "peak_rss_compute_mib": round(peak, 1),
                    **{k: round(v, 3) for k, v in timings.items()},
                    "output_rows": {k: len(v) for k, v in out.items()},
                }
            )
        )
        return 0
    if cmd == "compare":
        print(json.dumps(compare(Path(argv[1]), Path(argv[2]))))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
