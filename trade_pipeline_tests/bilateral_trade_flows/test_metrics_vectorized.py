"""The vectorized metric functions equal a row-by-row reference implementation, frame for frame.

The references below are the original per-row Python implementations of ``metrics.rankings``, ``concentration``,
``balances`` and ``commodity_structure`` (dict lookups over ``iter_rows``; flags joined with ``parse.join_flags``).
They are compared on seeded random inputs built to hit every rule: ties broken by partner code, NULL and zero
values, excluded partner codes (World, nes areas), Taiwan's mirror rows (158) with few and with ≥ 100 partners,
Taiwan's own filing (490), truncated / count-mismatch / missing-value row flags, requested groups without rows,
missing flows, several years (YoY, 2× ratio), last week's HHI, and both Int32 (warehouse) and Int64 key columns.
Same schema, same column order, same row order, same strings; floats to 1e-9 relative (HHI sums may add in another
order).
"""

from __future__ import annotations

import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from trade_pipeline.defs.bilateral_trade_flows import metrics
from trade_pipeline.defs.bilateral_trade_flows.codes import (
    EXCLUDED_PARTNER_CODES,
    HS2_ZH,
    TAIWAN_ISO_CODE,
    WORLD_CODE,
    area_name_zh,
)
from trade_pipeline.defs.bilateral_trade_flows.metrics import (
    BALANCE_SCHEMA,
    COMMODITY_SCHEMA,
    CONCENTRATION_SCHEMA,
    GROUP,
    MIRROR_MIN_PARTNERS,
    RANKING_SCHEMA,
    TOP_N,
    YEAR_RATIO_LIMIT,
    YOY_LIMIT_PCT,
    balance_label,
    concentration_level,
    confidence_for,
    partner_shares,
)
from trade_pipeline.defs.bilateral_trade_flows.parse import join_flags


# ---------------------------------------------------------------------------------------------------------------------
# reference: the row-by-row implementation
# ---------------------------------------------------------------------------------------------------------------------
def _yoy(cur, prev):
    if cur is None or prev is None or prev == 0:
        return None
    return (cur / prev - 1.0) * 100.0


def _ref_group_flags(flows: pl.DataFrame) -> dict:
    out = {}
    for r in flows.iter_rows(named=True):
        key = (r["reporter_code"], r["flow"], r["year"])
        flags, mirror = out.get(key, ("", False))
        out[key] = (join_flags([flags, r["review_flags"] or ""]), mirror or r["source_kind"] == "mirror")
    return out


def _names(flows: pl.DataFrame) -> dict:
    return {int(r): area_name_zh(int(r)) for r in flows["reporter_code"].unique().to_list()}


def ref_rankings(flows: pl.DataFrame, extra_flags=None) -> pl.DataFrame:
    shares = partner_shares(flows).with_columns(_partners=(pl.col("primary_value_usd") > 0).sum().over(GROUP))
    prev = {(r["reporter_code"], r["flow"], r["partner_code"], r["year"] + 1): r for r in shares.iter_rows(named=True)}
    gflags = _ref_group_flags(flows)
    names = _names(flows)
    rows = []
    for r in shares.filter(pl.col("rank") <= TOP_N).iter_rows(named=True):
        key = (r["reporter_code"], r["flow"], r["year"])
        p = prev.get((r["reporter_code"], r["flow"], r["partner_code"], r["year"]), {})
        group_flag, is_mirror = gflags.get(key, ("", False))
        yoy = _yoy(r["primary_value_usd"], p.get("primary_value_usd"))
        flags = [group_flag, (extra_flags or {}).get(key, "")]
        if yoy is not None and abs(yoy) > YOY_LIMIT_PCT:
            flags.append("yoy_gt_50pct")
        if is_mirror and r["_partners"] < MIRROR_MIN_PARTNERS:
            flags.append("mirror_low_coverage")
        joined = join_flags(flags)
        rows.append(
            {
                "reporter_code": r["reporter_code"],
                "reporter_name_zh": names[r["reporter_code"]],
                "flow": r["flow"],
                "year": r["year"],
                "rank": r["rank"],
                "partner_code": r["partner_code"],
                "partner_name_zh": r["partner_name_zh"],
                "value_usd": r["primary_value_usd"],
                "share_pct": r["share_pct"],
                "total_usd": r["total_usd"],
                "value_prev_year_usd": p.get("primary_value_usd"),
                "yoy_pct": yoy,
                "share_prev_year_pct": p.get("share_pct"),
                "rank_prev_year": p.get("rank"),
                "is_mirror": bool(is_mirror),
                "source_kind": r["source_kind"],
                "confidence": confidence_for(r["reporter_code"], bool(is_mirror), joined),
                "review_flags": joined,
                "request_id": r["request_id"],
                "fetched_at": r["fetched_at"],
            }
        )
    return pl.DataFrame(rows, schema=RANKING_SCHEMA, orient="row") if rows else pl.DataFrame(schema=RANKING_SCHEMA)


def ref_concentration(flows: pl.DataFrame, prev_week=None, expected=None) -> pl.DataFrame:
    shares = partner_shares(flows)
    stats = {}
    for (reporter, flow, year), g in shares.group_by(GROUP, maintain_order=True):
        g = g.sort("rank")
        top3 = g.head(3)
        positive = g["total_usd"][0] > 0
        stats[(reporter, flow, year)] = {
            "hhi": sum(s * s for s in g["share_pct"].to_list()) if positive else None,
            "top3_share_pct": sum(top3["share_pct"].to_list()) if positive else None,
            "top3_partner_codes": ",".join(str(c) for c in top3["partner_code"].to_list()),
            "top3_partner_names_zh": "、".join(top3["partner_name_zh"].to_list()),
            "partner_count": sum(1 for v in g["primary_value_usd"].to_list() if v > 0),
            "total_usd": float(g["total_usd"][0]),
            "fetched_at": max(g["fetched_at"].drop_nulls().to_list() or [""]),
            "source_kind": g["source_kind"][0],
        }
    world = {
        (r["reporter_code"], r["flow"], r["year"]): r["primary_value_usd"]
        for r in flows.filter((pl.col("partner_code") == WORLD_CODE) & (pl.col("source_kind") == "reported")).iter_rows(
            named=True
        )
    }
    gflags = _ref_group_flags(flows)
    last_week = (
        {}
        if prev_week is None
        else {(r["reporter_code"], r["flow"], r["year"]): r["hhi"] for r in prev_week.iter_rows(named=True)}
    )
    rows = []
    for key in sorted(set(stats) | set(expected or {})):
        reporter, flow, year = key
        s, p = stats.get(key, {}), stats.get((reporter, flow, year - 1), {})
        group_flag, is_mirror = gflags.get(key, ("", reporter == TAIWAN_ISO_CODE))
        row_flags = [group_flag, (expected or {}).get(key, "")] + ([] if s else ["zero_records"])
        total_yoy = _yoy(s.get("total_usd"), p.get("total_usd"))
        if total_yoy is not None and abs(total_yoy) > YOY_LIMIT_PCT:
            row_flags.append("yoy_gt_50pct")
        if s.get("total_usd") and p.get("total_usd"):
            ratio = s["total_usd"] / p["total_usd"]
            if ratio > YEAR_RATIO_LIMIT or ratio < 1 / YEAR_RATIO_LIMIT:
                row_flags.append("years_differ_2x")
        hhi = s.get("hhi")
        if hhi is not None and not (0.0 <= hhi <= 10_000.0 + 1e-6):
            row_flags.append("hhi_out_of_range")
        if is_mirror and s and s["partner_count"] < MIRROR_MIN_PARTNERS:
            row_flags.append("mirror_low_coverage")
        joined = join_flags(row_flags)
        hhi_prev_year, hhi_prev_week = p.get("hhi"), last_week.get(key)
        rows.append(
            {
                "reporter_code": reporter,
                "reporter_name_zh": area_name_zh(reporter),
                "flow": flow,
                "year": year,
                "hhi": hhi,
                "concentration_level": concentration_level(hhi),
                "top3_share_pct": s.get("top3_share_pct"),
                "top3_partner_codes": s.get("top3_partner_codes"),
                "top3_partner_names_zh": s.get("top3_partner_names_zh"),
                "partner_count": s.get("partner_count", 0),
                "total_usd": s.get("total_usd"),
                "world_total_usd": world.get(key),
                "total_yoy_pct": total_yoy,
                "top3_share_prev_year_pct": p.get("top3_share_pct"),
                "partner_count_prev_year": p.get("partner_count"),
                "hhi_prev_year": hhi_prev_year,
                "hhi_change_vs_prev_year": None if hhi is None or hhi_prev_year is None else hhi - hhi_prev_year,
                "hhi_prev_week": hhi_prev_week,
                "hhi_change_vs_prev_week": None if hhi is None or hhi_prev_week is None else hhi - hhi_prev_week,
                "is_mirror": bool(is_mirror),
                "source_kind": s.get("source_kind", "mirror" if is_mirror else "reported"),
                "confidence": confidence_for(reporter, bool(is_mirror), joined),
                "review_flags": joined,
                "fetched_at": s.get("fetched_at"),
            }
        )
    return (
        pl.DataFrame(rows, schema=CONCENTRATION_SCHEMA, orient="row")
        if rows
        else pl.DataFrame(schema=CONCENTRATION_SCHEMA)
    )


def ref_balances(flows: pl.DataFrame, expected=None) -> pl.DataFrame:
    usable = flows.filter(~pl.col("is_excluded_partner") | (pl.col("partner_code") == WORLD_CODE))
    gflags = _ref_group_flags(flows)
    values, names, fetched, unknown = {}, {}, {}, set()
    for r in usable.iter_rows(named=True):
        side = values.setdefault((r["reporter_code"], r["partner_code"], r["year"]), {})
        if r["primary_value_usd"] is None:  # the partner is there, its value unknown: that side is NULL
            unknown.add((r["reporter_code"], r["partner_code"], r["year"], r["flow"]))
        else:
            side[r["flow"]] = r["primary_value_usd"]
        names[r["partner_code"]] = r["partner_name_zh"]
        if r["fetched_at"]:
            key = (r["reporter_code"], r["year"])
            fetched[key] = max(fetched.get(key, ""), r["fetched_at"])
    rows = []
    for (reporter, partner, year), v in sorted(values.items()):
        # a flow with no row at all for the reporter-year did not come back: unknown (NULL), never 0
        exp = (
            v.get("X", 0.0)
            if (reporter, "X", year) in gflags and (reporter, partner, year, "X") not in unknown
            else None
        )
        imp = (
            v.get("M", 0.0)
            if (reporter, "M", year) in gflags and (reporter, partner, year, "M") not in unknown
            else None
        )
        bal = exp - imp if exp is not None and imp is not None else None
        prev = values.get((reporter, partner, year - 1))
        prev_unknown = any((reporter, partner, year - 1, f) in unknown for f in ("X", "M"))
        prev_bal = (prev.get("X", 0.0) - prev.get("M", 0.0)) if prev is not None and not prev_unknown else None
        row_flags, is_mirror = [], False
        for flow in ("X", "M"):
            f, mirror = gflags.get((reporter, flow, year), ("zero_records", reporter == TAIWAN_ISO_CODE))
            row_flags += [f, (expected or {}).get((reporter, flow, year), "")]
            is_mirror = is_mirror or bool(mirror)
        yoy = None if prev_bal in (None, 0) or bal is None else (bal - prev_bal) / abs(prev_bal) * 100.0
        if yoy is not None and abs(yoy) > YOY_LIMIT_PCT and partner == WORLD_CODE:
            row_flags.append("yoy_gt_50pct")
        joined = join_flags(row_flags)
        rows.append(
            {
                "reporter_code": reporter,
                "reporter_name_zh": area_name_zh(reporter),
                "partner_code": partner,
                "partner_name_zh": names.get(partner),
                "year": year,
                "export_usd": exp,
                "import_usd": imp,
                "balance_usd": bal,
                "balance_label": balance_label(bal) if bal is not None else None,
                "export_yoy_pct": _yoy(v.get("X"), prev.get("X") if prev else None),
                "import_yoy_pct": _yoy(v.get("M"), prev.get("M") if prev else None),
                "balance_prev_year_usd": prev_bal,
                "yoy_pct": yoy,
                "is_world": partner == WORLD_CODE,
                "is_mirror": is_mirror,
                "confidence": confidence_for(reporter, is_mirror, joined),
                "review_flags": joined,
                "fetched_at": fetched.get((reporter, year)),
            }
        )
    return pl.DataFrame(rows, schema=BALANCE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=BALANCE_SCHEMA)


def ref_commodity_structure(commodity: pl.DataFrame) -> pl.DataFrame:
    base = commodity.filter(pl.col("primary_value_usd").is_not_null())
    if base.is_empty():
        return pl.DataFrame(schema=COMMODITY_SCHEMA)
    base = base.sort(GROUP + ["primary_value_usd", "hs2"], descending=[False, False, False, True, False])
    base = base.with_columns(
        total_usd=pl.col("primary_value_usd").sum().over(GROUP),
        rank=pl.int_range(1, pl.len() + 1).over(GROUP).cast(pl.Int32),
    )
    base = base.with_columns(share_pct=pl.col("primary_value_usd") / pl.col("total_usd") * 100.0)
    group_flag: dict = {}
    for r in base.iter_rows(named=True):
        key = (r["reporter_code"], r["flow"], r["year"])
        group_flag[key] = join_flags([group_flag.get(key, ""), r["review_flags"] or ""])
    prev = {
        (r["reporter_code"], r["flow"], r["year"], r["hs2"]): (r["primary_value_usd"], r["share_pct"])
        for r in base.iter_rows(named=True)
    }
    rows = []
    for r in base.iter_rows(named=True):
        pv, ps = prev.get((r["reporter_code"], r["flow"], r["year"] - 1, r["hs2"]), (None, None))
        flags = group_flag[(r["reporter_code"], r["flow"], r["year"])]
        rows.append(
            {
                "reporter_code": r["reporter_code"],
                "reporter_name_zh": area_name_zh(r["reporter_code"]),
                "flow": r["flow"],
                "year": r["year"],
                "hs2": r["hs2"],
                "hs2_desc": r["hs2_desc"],
                "hs2_desc_zh": HS2_ZH.get(r["hs2"]),
                "value_usd": r["primary_value_usd"],
                "share_pct": r["share_pct"],
                "rank": r["rank"],
                "value_prev_year_usd": pv,
                "yoy_pct": _yoy(r["primary_value_usd"], pv),
                "share_prev_year_pct": ps,
                "total_usd": r["total_usd"],
                "confidence": confidence_for(r["reporter_code"], False, flags),
                "review_flags": flags,
                "fetched_at": r["fetched_at"],
            }
        )
    return pl.DataFrame(rows, schema=COMMODITY_SCHEMA, orient="row")


# ---------------------------------------------------------------------------------------------------------------------
# seeded inputs
# ---------------------------------------------------------------------------------------------------------------------
PARTNERS = [0, 129, 839, 899, 490, 4, 8, 32, 36, 56, 76, 124, 156, 251, 276, 344, 392, 410, 699, 757, 842]
ROW_FLAGS = [
    "",
    "",
    "",
    "",
    None,
    "truncated",
    "count_mismatch;truncated",
    "missing_value",
    "taiwan_dual_code",
    ";truncated;",
]
GROUP_FLAGS = ["", "", "partial_http_failure", "zero_records", "truncated", "partial_http_failure;zero_records"]
FETCHED = [None, "", "2026-01-19T08:00:00+00:00", "2026-01-26T08:00:00+00:00"]
TIED = [0.0, 5.0, 5.0, 40.0, 100.0, 100.0, 250.5]
KEY_TYPES = {"reporter_code": pl.Int32, "partner_code": pl.Int32, "year": pl.Int32}


def _value(rng: random.Random) -> float | None:
    roll = rng.random()
    if roll < 0.06:
        return None
    if roll < 0.45:
        return rng.choice(TIED)  # ties: ranks fall back to the partner code
    return float(rng.randint(1, 10 ** rng.randint(1, 12)))


def random_flows(rng: random.Random, int32: bool) -> pl.DataFrame:
    rows = []
    for reporter in rng.sample([842, 156, 490, TAIWAN_ISO_CODE], rng.randint(1, 4)):
        many = reporter == TAIWAN_ISO_CODE and rng.random() < 0.4  # a mirror with ≥ 100 partners: no coverage flag
        for year in rng.sample([2022, 2023, 2024], rng.randint(1, 3)):
            for flow in rng.sample(["X", "M"], rng.randint(1, 2)):  # sometimes a whole flow is missing
                partners = (
                    list(range(1000, 1000 + MIRROR_MIN_PARTNERS + 10))
                    if many
                    else rng.sample(PARTNERS, rng.randint(1, len(PARTNERS)))
                )
                for partner in partners:
                    rows.append(
                        {
                            "reporter_code": reporter,
                            "partner_code": partner,
                            "partner_name_zh": f"夥伴{partner}",
                            "flow": flow,
                            "year": year,
                            "primary_value_usd": _value(rng),
                            "is_excluded_partner": partner in EXCLUDED_PARTNER_CODES,
                            "source_kind": "mirror" if reporter == TAIWAN_ISO_CODE else "reported",
                            "request_id": f"req-{reporter}-{year}",
                            "fetched_at": rng.choice(FETCHED),
                            "review_flags": rng.choice(ROW_FLAGS),
                        }
                    )
    df = pl.DataFrame(rows, infer_schema_length=None)
    return df.with_columns(pl.col(c).cast(t) for c, t in KEY_TYPES.items()) if int32 else df


def random_expected(rng: random.Random, flows: pl.DataFrame) -> dict:
    present = sorted(set(flows.select(GROUP).unique().iter_rows()))
    expected = {k: rng.choice(GROUP_FLAGS) for k in rng.sample(present, rng.randint(0, len(present)))}
    for _ in range(rng.randint(0, 3)):  # requested groups that returned nothing
        expected[(rng.choice([276, 842, TAIWAN_ISO_CODE]), rng.choice(["X", "M"]), rng.choice([2021, 2024]))] = (
            rng.choice(GROUP_FLAGS)
        )
    return expected


def random_commodity(rng: random.Random, int32: bool) -> pl.DataFrame:
    rows = []
    for reporter in rng.sample([842, 156, 490], rng.randint(1, 3)):
        for year in rng.sample([2023, 2024], rng.randint(1, 2)):
            for flow in rng.sample(["X", "M"], rng.randint(1, 2)):
                for hs2 in rng.sample(["01", "27", "30", "77", "84", "85", "87", "99"], rng.randint(1, 8)):
                    rows.append(
                        {
                            "reporter_code": reporter,
                            "flow": flow,
                            "year": year,
                            "hs2": hs2,
                            "hs2_desc": f"chapter {hs2}",
                            "primary_value_usd": _value(rng),
                            "review_flags": rng.choice(ROW_FLAGS),
                            "fetched_at": rng.choice(FETCHED),
                        }
                    )
    df = pl.DataFrame(rows, infer_schema_length=None)
    return df.with_columns(pl.col("reporter_code", "year").cast(pl.Int32)) if int32 else df


def assert_same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.columns == want.columns
    assert got.schema == want.schema
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


# ---------------------------------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------------------------------
SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_vectorized_metrics_equal_row_reference(seed: int) -> None:
    rng = random.Random(seed)
    int32 = seed % 2 == 0
    flows = random_flows(rng, int32)
    expected = random_expected(rng, flows)
    prev_week = ref_concentration(random_flows(rng, int32))
    assert_same(metrics.rankings(flows, expected), ref_rankings(flows, expected))
    assert_same(metrics.concentration(flows, prev_week, expected), ref_concentration(flows, prev_week, expected))
    assert_same(metrics.concentration(flows), ref_concentration(flows))
    assert_same(metrics.balances(flows, expected), ref_balances(flows, expected))
    commodity = random_commodity(rng, int32)
    assert_same(metrics.commodity_structure(commodity), ref_commodity_structure(commodity))


def test_the_seeded_inputs_reach_every_rule() -> None:
    """The comparison above is only as good as its inputs: every flag and label occurs in them."""
    flags, labels, confidence = set(), set(), set()
    for seed in SEEDS:
        rng = random.Random(seed)
        flows = random_flows(rng, seed % 2 == 0)
        expected = random_expected(rng, flows)
        for frame in (
            ref_rankings(flows, expected),
            ref_concentration(flows, None, expected),
            ref_balances(flows, expected),
        ):
            flags |= {f for s in frame["review_flags"].to_list() for f in s.split(";") if f}
            confidence |= set(frame["confidence"].to_list())
        labels |= set(ref_balances(flows)["balance_label"].to_list())
        labels |= set(ref_concentration(flows)["concentration_level"].drop_nulls().to_list())
    assert {
        "truncated",
        "count_mismatch",
        "missing_value",
        "taiwan_dual_code",
        "partial_http_failure",
        "zero_records",
        "yoy_gt_50pct",
        "years_differ_2x",
        "mirror_low_coverage",
    } <= flags
    assert {"順差", "逆差", "平衡", "低", "中", "高"} <= labels
    assert {"低", "中", "高"} <= confidence


def test_empty_and_null_only_inputs() -> None:
    rng = random.Random(99)
    flows = random_flows(rng, True)
    nulls = flows.with_columns(pl.lit(None, dtype=pl.Float64).alias("primary_value_usd"))
    expected = {(842, "X", 2024): "partial_http_failure", (TAIWAN_ISO_CODE, "M", 2024): ""}
    for frame in (nulls, flows.clear()):
        assert_same(metrics.rankings(frame, expected), ref_rankings(frame, expected))
        assert_same(metrics.concentration(frame, None, expected), ref_concentration(frame, None, expected))
        assert_same(metrics.balances(frame, expected), ref_balances(frame, expected))
    gaps = metrics.concentration(flows.clear(), None, expected)  # requested, nothing came back: visible rows
    assert gaps.select("reporter_code", "is_mirror", "source_kind", "confidence", "review_flags").rows() == [
        (TAIWAN_ISO_CODE, True, "mirror", "低", "zero_records"),
        (842, False, "reported", "低", "partial_http_failure;zero_records"),
    ]
    commodity = random_commodity(rng, True)
    for frame in (commodity.with_columns(pl.lit(None, dtype=pl.Float64).alias("primary_value_usd")), commodity.clear()):
        assert_same(metrics.commodity_structure(frame), ref_commodity_structure(frame))
