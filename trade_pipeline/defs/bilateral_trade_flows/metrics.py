"""Metrics per reporter × flow × single year (never summed across years), from normalized partner/HS2 rows.

Shares are percentages of the total over *non-excluded* partners (codes.EXCLUDED_PARTNER_CODES: World and the
nes/special areas); HHI is the sum of squared percentage shares (0–10,000). Every output row carries the union of
the review flags of the rows it was computed from, so a truncated response can never yield an unflagged figure.
"""

from __future__ import annotations

import polars as pl

from trade_pipeline.defs.bilateral_trade_flows.codes import (
    TAIWAN_ISO_CODE,
    TAIWAN_PARTNER_CODE,
    WORLD_CODE,
    area_name_zh,
)
from trade_pipeline.defs.bilateral_trade_flows.parse import join_flags

TOP_N = 20
YOY_LIMIT_PCT = 50.0
YEAR_RATIO_LIMIT = 2.0
MIRROR_MIN_PARTNERS = 100  # fewer partners reporting trade with 490 → the mirror covers too little: confidence 低
LOW_CONFIDENCE_FLAGS = frozenset({"truncated", "partial_http_failure", "zero_records", "count_mismatch",
                                  "missing_value", "mirror_low_coverage"})
GROUP = ["reporter_code", "flow", "year"]


def concentration_level(hhi: float | None) -> str | None:
    if hhi is None:
        return None
    return "低" if hhi < 1500 else ("中" if hhi <= 2500 else "高")


def confidence_for(reporter_code: int, is_mirror: bool, flags: str) -> str:
    if any(f in LOW_CONFIDENCE_FLAGS for f in flags.split(";") if f):
        return "低"
    if is_mirror or reporter_code == TAIWAN_PARTNER_CODE:
        return "中"  # mirror estimate, or Taiwan's own filing under "Other Asia, nes"
    return "高"


def _yoy(cur: float | None, prev: float | None) -> float | None:
    if cur is None or prev is None or prev == 0:
        return None
    return (cur / prev - 1.0) * 100.0


def _flag_expr(col: str = "review_flags") -> pl.Expr:
    return pl.col(col).fill_null("")


def partner_shares(flows: pl.DataFrame) -> pl.DataFrame:
    """Non-excluded partner rows with value, share_pct and a unique rank per reporter × flow × year.

    Ties are broken by partner code so ranks are unique and reproducible."""
    base = flows.filter(~pl.col("is_excluded_partner") & pl.col("primary_value_usd").is_not_null())
    base = base.sort(["reporter_code", "flow", "year", "primary_value_usd", "partner_code"],
                     descending=[False, False, False, True, False])
    return base.with_columns(
        total_usd=pl.col("primary_value_usd").sum().over(GROUP),
        rank=pl.int_range(1, pl.len() + 1).over(GROUP).cast(pl.Int32),
    ).with_columns(share_pct=pl.when(pl.col("total_usd") > 0)
                   .then(pl.col("primary_value_usd") / pl.col("total_usd") * 100.0).otherwise(None))


def group_flags(flows: pl.DataFrame) -> pl.DataFrame:
    """reporter × flow × year → union of row flags (excluded partners included: a truncated World row taints all)."""
    if flows.is_empty():
        return pl.DataFrame(schema={"reporter_code": pl.Int32, "flow": pl.Utf8, "year": pl.Int32,
                                    "group_flags": pl.Utf8, "is_mirror": pl.Boolean})
    return flows.group_by(GROUP).agg(
        pl.col("review_flags").fill_null("").alias("_flags"),
        (pl.col("source_kind") == "mirror").any().alias("is_mirror"),
    ).with_columns(pl.col("_flags").map_elements(join_flags, return_dtype=pl.Utf8).alias("group_flags")).drop("_flags")


def _reporter_names(flows: pl.DataFrame) -> dict[int, str]:
    return {int(r): area_name_zh(int(r)) for r in flows["reporter_code"].unique().to_list()}


def rankings(flows: pl.DataFrame, extra_flags: dict[tuple[int, str, int], str] | None = None) -> pl.DataFrame:
    """Top-20 partners per reporter × flow × year with shares and YoY of value, share and rank."""
    shares = partner_shares(flows).with_columns(
        _partners=(pl.col("primary_value_usd") > 0).sum().over(GROUP))
    prev = shares.select(GROUP[:2] + ["partner_code", "year", "primary_value_usd", "share_pct", "rank"]).with_columns(
        (pl.col("year") + 1).alias("year")).rename(
        {"primary_value_usd": "value_prev_year_usd", "share_pct": "share_prev_year_pct", "rank": "rank_prev_year"})
    top = shares.filter(pl.col("rank") <= TOP_N).join(prev, on=["reporter_code", "flow", "partner_code", "year"],
                                                      how="left")
    top = top.join(group_flags(flows), on=GROUP, how="left")
    names = _reporter_names(flows)
    rows = []
    for r in top.iter_rows(named=True):
        yoy = _yoy(r["primary_value_usd"], r["value_prev_year_usd"])
        flags = [r["group_flags"] or "", (extra_flags or {}).get((r["reporter_code"], r["flow"], r["year"]), "")]
        if yoy is not None and abs(yoy) > YOY_LIMIT_PCT:
            flags.append("yoy_gt_50pct")
        if r["is_mirror"] and r["_partners"] < MIRROR_MIN_PARTNERS:
            flags.append("mirror_low_coverage")  # same rule as the concentration row of this group
        joined = join_flags(flags)
        rows.append({
            "reporter_code": r["reporter_code"], "reporter_name_zh": names[r["reporter_code"]], "flow": r["flow"],
            "year": r["year"], "rank": r["rank"], "partner_code": r["partner_code"],
            "partner_name_zh": r["partner_name_zh"], "value_usd": r["primary_value_usd"], "share_pct": r["share_pct"],
            "total_usd": r["total_usd"], "value_prev_year_usd": r["value_prev_year_usd"], "yoy_pct": yoy,
            "share_prev_year_pct": r["share_prev_year_pct"], "rank_prev_year": r["rank_prev_year"],
            "is_mirror": bool(r["is_mirror"]), "source_kind": r["source_kind"],
            "confidence": confidence_for(r["reporter_code"], bool(r["is_mirror"]), joined), "review_flags": joined,
            "request_id": r["request_id"], "fetched_at": r["fetched_at"],
        })
    return pl.DataFrame(rows, schema=RANKING_SCHEMA, orient="row") if rows else pl.DataFrame(schema=RANKING_SCHEMA)


RANKING_SCHEMA = {
    "reporter_code": pl.Int32, "reporter_name_zh": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32, "rank": pl.Int32,
    "partner_code": pl.Int32, "partner_name_zh": pl.Utf8, "value_usd": pl.Float64, "share_pct": pl.Float64,
    "total_usd": pl.Float64, "value_prev_year_usd": pl.Float64, "yoy_pct": pl.Float64,
    "share_prev_year_pct": pl.Float64, "rank_prev_year": pl.Int32, "is_mirror": pl.Boolean, "source_kind": pl.Utf8,
    "confidence": pl.Utf8, "review_flags": pl.Utf8, "request_id": pl.Utf8, "fetched_at": pl.Utf8,
}

CONCENTRATION_SCHEMA = {
    "reporter_code": pl.Int32, "reporter_name_zh": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32, "hhi": pl.Float64,
    "concentration_level": pl.Utf8, "top3_share_pct": pl.Float64, "top3_partner_codes": pl.Utf8,
    "top3_partner_names_zh": pl.Utf8, "partner_count": pl.Int32, "total_usd": pl.Float64,
    "world_total_usd": pl.Float64, "total_yoy_pct": pl.Float64, "top3_share_prev_year_pct": pl.Float64,
    "partner_count_prev_year": pl.Int32, "hhi_prev_year": pl.Float64, "hhi_change_vs_prev_year": pl.Float64,
    "hhi_prev_week": pl.Float64, "hhi_change_vs_prev_week": pl.Float64, "is_mirror": pl.Boolean,
    "source_kind": pl.Utf8, "confidence": pl.Utf8, "review_flags": pl.Utf8, "fetched_at": pl.Utf8,
}


def concentration(flows: pl.DataFrame, prev_week: pl.DataFrame | None = None,
                  expected: dict[tuple[int, str, int], str] | None = None) -> pl.DataFrame:
    """HHI, top-3 share, partner count per reporter × flow × year, with YoY and last-week comparisons.

    ``expected`` maps groups that were requested to extra flags (e.g. 'partial_http_failure', 'zero_records'):
    a requested group without rows still gets a row (figures NULL) so the gap is visible, never silent."""
    shares = partner_shares(flows)
    stats: dict[tuple[int, str, int], dict] = {}
    for (reporter, flow, year), g in shares.group_by(GROUP, maintain_order=True):
        g = g.sort("rank")
        top3 = g.head(3)
        stats[(reporter, flow, year)] = {
            "hhi": float((g["share_pct"] ** 2).sum()) if g["total_usd"][0] > 0 else None,
            "top3_share_pct": float(top3["share_pct"].sum()) if g["total_usd"][0] > 0 else None,
            "top3_partner_codes": ",".join(str(c) for c in top3["partner_code"].to_list()),
            "top3_partner_names_zh": "、".join(top3["partner_name_zh"].to_list()),
            "partner_count": int((g["primary_value_usd"] > 0).sum()), "total_usd": float(g["total_usd"][0]),
            "fetched_at": max(g["fetched_at"].drop_nulls().to_list() or [""]),
            "source_kind": g["source_kind"][0],
        }
    world = {(r["reporter_code"], r["flow"], r["year"]): r["primary_value_usd"] for r in flows.filter(
        (pl.col("partner_code") == WORLD_CODE) & (pl.col("source_kind") == "reported")).iter_rows(named=True)}
    flags = {(r["reporter_code"], r["flow"], r["year"]): (r["group_flags"], r["is_mirror"])
             for r in group_flags(flows).iter_rows(named=True)}
    prev_week_hhi: dict[tuple[int, str, int], float | None] = {}
    if prev_week is not None and not prev_week.is_empty():
        prev_week_hhi = {(r["reporter_code"], r["flow"], r["year"]): r["hhi"] for r in prev_week.iter_rows(named=True)}
    names = _reporter_names(flows)
    keys = set(stats) | set(expected or {})
    rows = []
    for key in sorted(keys, key=lambda k: (k[0], k[1], k[2])):
        reporter, flow, year = key
        s = stats.get(key, {})
        p = stats.get((reporter, flow, year - 1), {})
        group_flag, is_mirror = flags.get(key, ("", reporter == TAIWAN_ISO_CODE))
        row_flags = [group_flag or "", (expected or {}).get(key, "")]
        if not s:
            row_flags.append("zero_records")
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
        if is_mirror and s and s.get("partner_count", 0) < MIRROR_MIN_PARTNERS:
            row_flags.append("mirror_low_coverage")
        joined = join_flags(row_flags)
        hhi_prev_year = p.get("hhi")
        hhi_prev_week = prev_week_hhi.get(key)
        rows.append({
            "reporter_code": reporter, "reporter_name_zh": names.get(reporter, area_name_zh(reporter)), "flow": flow,
            "year": year, "hhi": hhi, "concentration_level": concentration_level(hhi),
            "top3_share_pct": s.get("top3_share_pct"), "top3_partner_codes": s.get("top3_partner_codes"),
            "top3_partner_names_zh": s.get("top3_partner_names_zh"), "partner_count": s.get("partner_count", 0),
            "total_usd": s.get("total_usd"), "world_total_usd": world.get(key), "total_yoy_pct": total_yoy,
            "top3_share_prev_year_pct": p.get("top3_share_pct"), "partner_count_prev_year": p.get("partner_count"),
            "hhi_prev_year": hhi_prev_year,
            "hhi_change_vs_prev_year": None if hhi is None or hhi_prev_year is None else hhi - hhi_prev_year,
            "hhi_prev_week": hhi_prev_week,
            "hhi_change_vs_prev_week": None if hhi is None or hhi_prev_week is None else hhi - hhi_prev_week,
            "is_mirror": bool(is_mirror), "source_kind": s.get("source_kind", "mirror" if is_mirror else "reported"),
            "confidence": confidence_for(reporter, bool(is_mirror), joined), "review_flags": joined,
            "fetched_at": s.get("fetched_at"),
        })
    return pl.DataFrame(rows, schema=CONCENTRATION_SCHEMA, orient="row") if rows else pl.DataFrame(
        schema=CONCENTRATION_SCHEMA)


BALANCE_SCHEMA = {
    "reporter_code": pl.Int32, "reporter_name_zh": pl.Utf8, "partner_code": pl.Int32, "partner_name_zh": pl.Utf8,
    "year": pl.Int32, "export_usd": pl.Float64, "import_usd": pl.Float64, "balance_usd": pl.Float64,
    "balance_label": pl.Utf8, "export_yoy_pct": pl.Float64, "import_yoy_pct": pl.Float64,
    "balance_prev_year_usd": pl.Float64, "yoy_pct": pl.Float64, "is_world": pl.Boolean, "is_mirror": pl.Boolean,
    "confidence": pl.Utf8, "review_flags": pl.Utf8, "fetched_at": pl.Utf8,
}


def balance_label(balance: float) -> str:
    return "順差" if balance > 0 else ("逆差" if balance < 0 else "平衡")


def balances(flows: pl.DataFrame, expected: dict[tuple[int, str, int], str] | None = None) -> pl.DataFrame:
    """Export − import per reporter × partner × year (partner World included as the reporter's overall balance).

    A partner missing from one flow counts 0 there (Comtrade omits zero trade); a whole flow missing for the
    reporter-year is not zero trade, so those rows are flagged."""
    usable = flows.filter(pl.col("primary_value_usd").is_not_null()
                          & (~pl.col("is_excluded_partner") | (pl.col("partner_code") == WORLD_CODE)))
    flags = {(r["reporter_code"], r["flow"], r["year"]): (r["group_flags"] or "", r["is_mirror"])
             for r in group_flags(flows).iter_rows(named=True)}
    values: dict[tuple[int, int, int], dict[str, float]] = {}
    names: dict[int, str] = {}
    fetched: dict[tuple[int, int], str] = {}
    for r in usable.iter_rows(named=True):
        values.setdefault((r["reporter_code"], r["partner_code"], r["year"]), {})[r["flow"]] = r["primary_value_usd"]
        names[r["partner_code"]] = r["partner_name_zh"]
        if r["fetched_at"]:
            key = (r["reporter_code"], r["year"])
            fetched[key] = max(fetched.get(key, ""), r["fetched_at"])
    reporter_names = _reporter_names(flows) if not flows.is_empty() else {}
    rows = []
    for (reporter, partner, year), v in sorted(values.items()):
        exp, imp = v.get("X", 0.0), v.get("M", 0.0)
        bal = exp - imp
        prev = values.get((reporter, partner, year - 1))
        prev_bal = (prev.get("X", 0.0) - prev.get("M", 0.0)) if prev else None
        row_flags = []
        is_mirror = False
        for flow in ("X", "M"):
            f, mirror = flags.get((reporter, flow, year), ("zero_records", reporter == TAIWAN_ISO_CODE))
            row_flags += [f, (expected or {}).get((reporter, flow, year), "")]
            is_mirror = is_mirror or bool(mirror)
        yoy = None if prev_bal in (None, 0) else (bal - prev_bal) / abs(prev_bal) * 100.0
        if yoy is not None and abs(yoy) > YOY_LIMIT_PCT and partner == WORLD_CODE:
            row_flags.append("yoy_gt_50pct")
        joined = join_flags(row_flags)
        rows.append({
            "reporter_code": reporter, "reporter_name_zh": reporter_names.get(reporter, area_name_zh(reporter)),
            "partner_code": partner, "partner_name_zh": names.get(partner), "year": year, "export_usd": exp,
            "import_usd": imp, "balance_usd": bal, "balance_label": balance_label(bal),
            "export_yoy_pct": _yoy(v.get("X"), prev.get("X") if prev else None),
            "import_yoy_pct": _yoy(v.get("M"), prev.get("M") if prev else None),
            "balance_prev_year_usd": prev_bal, "yoy_pct": yoy, "is_world": partner == WORLD_CODE,
            "is_mirror": is_mirror, "confidence": confidence_for(reporter, is_mirror, joined), "review_flags": joined,
            "fetched_at": fetched.get((reporter, year)),
        })
    return pl.DataFrame(rows, schema=BALANCE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=BALANCE_SCHEMA)


COMMODITY_SCHEMA = {
    "reporter_code": pl.Int32, "reporter_name_zh": pl.Utf8, "flow": pl.Utf8, "year": pl.Int32, "hs2": pl.Utf8,
    "hs2_desc": pl.Utf8, "hs2_desc_zh": pl.Utf8, "value_usd": pl.Float64, "share_pct": pl.Float64, "rank": pl.Int32,
    "value_prev_year_usd": pl.Float64, "yoy_pct": pl.Float64, "share_prev_year_pct": pl.Float64,
    "total_usd": pl.Float64, "confidence": pl.Utf8, "review_flags": pl.Utf8, "fetched_at": pl.Utf8,
}


def commodity_structure(commodity: pl.DataFrame) -> pl.DataFrame:
    """HS2 chapters per reporter × flow × year: value, share of the chapters' sum, rank, YoY."""
    from trade_pipeline.defs.bilateral_trade_flows.codes import HS2_ZH

    base = commodity.filter(pl.col("primary_value_usd").is_not_null())
    if base.is_empty():
        return pl.DataFrame(schema=COMMODITY_SCHEMA)
    base = base.sort(GROUP + ["primary_value_usd", "hs2"], descending=[False, False, False, True, False])
    base = base.with_columns(total_usd=pl.col("primary_value_usd").sum().over(GROUP),
                             rank=pl.int_range(1, pl.len() + 1).over(GROUP).cast(pl.Int32),
                             _flags=pl.col("review_flags").fill_null("").str.join(";").over(GROUP))
    base = base.with_columns(share_pct=pl.col("primary_value_usd") / pl.col("total_usd") * 100.0)
    prev = {(r["reporter_code"], r["flow"], r["year"], r["hs2"]): (r["primary_value_usd"], r["share_pct"])
            for r in base.iter_rows(named=True)}
    rows = []
    for r in base.iter_rows(named=True):
        pv, ps = prev.get((r["reporter_code"], r["flow"], r["year"] - 1, r["hs2"]), (None, None))
        flags = join_flags([r["_flags"]])
        rows.append({
            "reporter_code": r["reporter_code"], "reporter_name_zh": area_name_zh(r["reporter_code"]),
            "flow": r["flow"], "year": r["year"], "hs2": r["hs2"], "hs2_desc": r["hs2_desc"],
            "hs2_desc_zh": HS2_ZH.get(r["hs2"]), "value_usd": r["primary_value_usd"], "share_pct": r["share_pct"],
            "rank": r["rank"], "value_prev_year_usd": pv, "yoy_pct": _yoy(r["primary_value_usd"], pv),
            "share_prev_year_pct": ps, "total_usd": r["total_usd"],
            "confidence": confidence_for(r["reporter_code"], False, flags), "review_flags": flags,
            "fetched_at": r["fetched_at"],
        })
    return pl.DataFrame(rows, schema=COMMODITY_SCHEMA, orient="row")
