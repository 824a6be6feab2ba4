"""Metrics per reporter × flow × single year (never summed across years), from normalized partner/HS2 rows.

Shares are percentages of the total over *non-excluded* partners (codes.EXCLUDED_PARTNER_CODES: World and the
nes/special areas); HHI is the sum of squared percentage shares (0–10,000). Every output row carries the union of
the review flags of the rows it was computed from, so a truncated response can never yield an unflagged figure.

Everything is computed with vectorized polars expressions (group_by / over / joins); the only Python loops run over
the few distinct reporter codes (for their names) and over the ``expected`` / ``extra_flags`` dictionaries (one
entry per requested group), never over data rows. The scalar helpers (``concentration_level``, ``confidence_for``,
``balance_label``) state the rules the expressions implement.
"""

from __future__ import annotations

import re

import polars as pl

from trade_pipeline.core import contract
from trade_pipeline.defs.bilateral_trade_flows.codes import (
    TAIWAN_ISO_CODE,
    TAIWAN_PARTNER_CODE,
    WORLD_CODE,
    area_name_zh,
)

TOP_N = 20
YOY_LIMIT_PCT = 50.0
YEAR_RATIO_LIMIT = 2.0
MIRROR_MIN_PARTNERS = 100  # fewer partners reporting trade with 490 → the mirror covers too little: confidence 低
LOW_CONFIDENCE_FLAGS = frozenset(
    {
        "truncated",
        "partial_http_failure",
        "zero_records",
        "count_mismatch",
        "missing_value",
        "mirror_low_coverage",
        "quarantined_rows",
        "reply_mismatch",
        "partners_exceed_world",
    }
)
GROUP = ["reporter_code", "flow", "year"]
HHI_MAX = contract.HHI_MAX + 1e-6


concentration_level = contract.concentration_level


def confidence_for(reporter_code: int, is_mirror: bool, flags: str) -> str:
    if any(f in LOW_CONFIDENCE_FLAGS for f in flags.split(";") if f):
        return "低"
    if is_mirror or reporter_code == TAIWAN_PARTNER_CODE:
        return "中"  # mirror estimate, or Taiwan's own filing under "Other Asia, nes"
    return "高"


def balance_label(balance: float) -> str:
    return "順差" if balance > 0 else ("逆差" if balance < 0 else "平衡")


# ----------------------------------------------------------------------------------------------------------------------
# expression helpers (the vectorized forms of the scalar rules above and of parse.join_flags)
# ----------------------------------------------------------------------------------------------------------------------
_LOW_CONFIDENCE_RE = "(^|;)(" + "|".join(re.escape(f) for f in sorted(LOW_CONFIDENCE_FLAGS)) + ")(;|$)"
_NO_FLAG = pl.lit(None, dtype=pl.Utf8)


def _gt(expr: pl.Expr, bound: float) -> pl.Expr:
    """``expr > bound`` with Python's float semantics: NaN is not greater (polars orders NaN above everything)."""
    return (expr > bound) & ~expr.is_nan()


def _flag(cond: pl.Expr, code: str) -> pl.Expr:
    return pl.when(cond).then(pl.lit(code)).otherwise(_NO_FLAG)


def _join_flags_expr(*parts: pl.Expr) -> pl.Expr:
    """parse.join_flags as an expression: the ';'-separated tokens of all parts, without empties, unique, sorted."""
    raw = pl.concat_str([p.cast(pl.Utf8) for p in parts], separator=";", ignore_nulls=True).fill_null("")
    return raw.str.split(";").list.eval(pl.element().filter(pl.element() != "").unique().sort()).list.join(";")


def _with_joined_flags(df: pl.DataFrame, name: str, *parts: pl.Expr) -> pl.DataFrame:
    """``df`` with column ``name`` = join_flags(parts) of each row (replacing any column of that name).

    The split/dedupe/sort runs once per distinct raw flag string (a handful per table), then joins back."""
    df = df.with_columns(
        pl.concat_str([p.cast(pl.Utf8) for p in parts], separator=";", ignore_nulls=True)
        .fill_null("")
        .alias("_raw_flags")
    ).drop(name, strict=False)
    lookup = df.select(pl.col("_raw_flags").unique()).with_columns(_join_flags_expr(pl.col("_raw_flags")).alias(name))
    return df.join(lookup, on="_raw_flags", how="left", maintain_order="left").drop("_raw_flags")


def _confidence_expr(reporter: pl.Expr, is_mirror: pl.Expr, flags: pl.Expr) -> pl.Expr:
    """confidence_for as an expression (``flags`` already joined: no empty tokens)."""
    return (
        pl.when(flags.str.contains(_LOW_CONFIDENCE_RE))
        .then(pl.lit("低"))
        .when(is_mirror | (reporter == TAIWAN_PARTNER_CODE))
        .then(pl.lit("中"))
        .otherwise(pl.lit("高"))
    )


def _yoy_expr(cur: pl.Expr, prev: pl.Expr) -> pl.Expr:
    """(cur / prev − 1) × 100; NULL when either is missing or prev is 0."""
    return pl.when(cur.is_not_null() & prev.is_not_null() & (prev != 0)).then((cur / prev - 1.0) * 100.0)


def _reporter_names(flows: pl.DataFrame) -> dict[int, str]:
    return {int(r): area_name_zh(int(r)) for r in flows["reporter_code"].unique().drop_nulls().to_list()}


def _reporter_name_expr(frame: pl.DataFrame) -> pl.Expr:
    """reporter_name_zh of each row: area_name_zh of the frame's distinct reporter codes (a lookup, no row loop)."""
    names = _reporter_names(frame) if frame.height else {}
    return pl.col("reporter_code").replace_strict(names, default=None, return_dtype=pl.Utf8)


def _group_frame(mapping: dict[tuple[int, str, int], str] | None, name: str, schema: dict) -> pl.DataFrame:
    """{(reporter, flow, year): flags} → a frame keyed like ``schema`` (one row per requested group)."""
    items = list((mapping or {}).items())
    return pl.DataFrame(
        {
            "reporter_code": pl.Series([k[0] for k, _ in items], dtype=pl.Int64),
            "flow": pl.Series([k[1] for k, _ in items], dtype=pl.Utf8),
            "year": pl.Series([k[2] for k, _ in items], dtype=pl.Int64),
            name: pl.Series([v for _, v in items], dtype=pl.Utf8),
        }
    ).with_columns(pl.col(c).cast(schema[c]) for c in GROUP)


# ----------------------------------------------------------------------------------------------------------------------
# shares and group flags
# ----------------------------------------------------------------------------------------------------------------------
def partner_shares(flows: pl.DataFrame) -> pl.DataFrame:
    """Non-excluded partner rows with value, share_pct and a unique rank per reporter × flow × year.

    Ties are broken by partner code so ranks are unique and reproducible."""
    base = flows.filter(~pl.col("is_excluded_partner") & pl.col("primary_value_usd").is_not_null())
    base = base.sort(
        ["reporter_code", "flow", "year", "primary_value_usd", "partner_code"],
        descending=[False, False, False, True, False],
    )
    return base.with_columns(
        total_usd=pl.col("primary_value_usd").sum().over(GROUP),
        rank=pl.int_range(1, pl.len() + 1).over(GROUP).cast(pl.Int32),
    ).with_columns(
        share_pct=pl.when(pl.col("total_usd") > 0)
        .then(pl.col("primary_value_usd") / pl.col("total_usd") * 100.0)
        .otherwise(None)
    )


def group_flags(flows: pl.DataFrame) -> pl.DataFrame:
    """reporter × flow × year → union of row flags (excluded partners included: a truncated World row taints all)."""
    if flows.is_empty():
        return pl.DataFrame(
            schema={
                "reporter_code": pl.Int32,
                "flow": pl.Utf8,
                "year": pl.Int32,
                "group_flags": pl.Utf8,
                "is_mirror": pl.Boolean,
            }
        )
    return (
        flows.group_by(GROUP)
        .agg(
            pl.col("review_flags").fill_null("").str.join(";").alias("_flags"),
            (pl.col("source_kind") == "mirror").any().alias("is_mirror"),
        )
        .with_columns(_join_flags_expr(pl.col("_flags")).alias("group_flags"))
        .drop("_flags")
    )


# ----------------------------------------------------------------------------------------------------------------------
# partners vs World (a reported group's partner rows cannot add up to more than its World row)
# ----------------------------------------------------------------------------------------------------------------------
WORLD_TOLERANCE = 0.01  # relative: rounding, late revisions of single partners
WORLD_TOLERANCE_USD = 1.0


def partners_vs_world(flows: pl.DataFrame) -> pl.DataFrame:
    """reporter × flow × year of reported rows with the sum of partner rows (World excluded) and the World row,
    and ``exceeds`` = the partners sum to more than World (tolerance); groups without a World row are skipped."""
    schema = {
        "reporter_code": pl.Int32,
        "flow": pl.Utf8,
        "year": pl.Int32,
        "partners_usd": pl.Float64,
        "world_usd": pl.Float64,
        "exceeds": pl.Boolean,
    }
    if flows.is_empty():
        return pl.DataFrame(schema=schema)
    value = pl.col("primary_value_usd")
    world = pl.col("partner_code") == WORLD_CODE
    df = (
        flows.filter(pl.col("source_kind") == "reported")
        .group_by(GROUP)
        .agg(partners_usd=value.filter(~world).sum(), world_usd=value.filter(world).max(), _has_world=world.any())
        .filter(pl.col("_has_world"))
        .drop("_has_world")
    )
    return df.with_columns(
        exceeds=(pl.col("partners_usd") > pl.col("world_usd") * (1 + WORLD_TOLERANCE) + WORLD_TOLERANCE_USD).fill_null(
            False
        )
    ).cast(schema)


def flag_partners_exceed_world(flows: pl.DataFrame) -> pl.DataFrame:
    """``flows`` with ``partners_exceed_world`` on every row of a group whose partners sum to more than World."""
    bad = partners_vs_world(flows).filter(pl.col("exceeds"))
    if bad.is_empty():
        return flows
    hit = _keyed(bad.select(GROUP)).with_columns(_hit=pl.lit(True))
    df = _keyed(flows).join(hit, on=GROUP, how="left", maintain_order="left")
    df = _with_joined_flags(
        df, "review_flags", pl.col("review_flags"), _flag(pl.col("_hit").fill_null(False), "partners_exceed_world")
    )
    return df.select(flows.columns).cast(flows.schema)


# ----------------------------------------------------------------------------------------------------------------------
# rankings
# ----------------------------------------------------------------------------------------------------------------------
RANKING_SCHEMA = {
    "reporter_code": pl.Int32,
    "reporter_name_zh": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "rank": pl.Int32,
    "partner_code": pl.Int32,
    "partner_name_zh": pl.Utf8,
    "value_usd": pl.Float64,
    "share_pct": pl.Float64,
    "total_usd": pl.Float64,
    "value_prev_year_usd": pl.Float64,
    "yoy_pct": pl.Float64,
    "share_prev_year_pct": pl.Float64,
    "rank_prev_year": pl.Int32,
    "is_mirror": pl.Boolean,
    "source_kind": pl.Utf8,
    "confidence": pl.Utf8,
    "review_flags": pl.Utf8,
    "request_id": pl.Utf8,
    "fetched_at": pl.Utf8,
}


def rankings(flows: pl.DataFrame, extra_flags: dict[tuple[int, str, int], str] | None = None) -> pl.DataFrame:
    """Top-20 partners per reporter × flow × year with shares and YoY of value, share and rank."""
    shares = partner_shares(flows).with_columns(_partners=(pl.col("primary_value_usd") > 0).sum().over(GROUP))
    if shares.is_empty():
        return pl.DataFrame(schema=RANKING_SCHEMA)
    prev = (
        shares.select(GROUP[:2] + ["partner_code", "year", "primary_value_usd", "share_pct", "rank"])
        .with_columns((pl.col("year") + 1).alias("year"))
        .rename(
            {"primary_value_usd": "value_prev_year_usd", "share_pct": "share_prev_year_pct", "rank": "rank_prev_year"}
        )
    )
    top = shares.filter(pl.col("rank") <= TOP_N).join(
        prev, on=["reporter_code", "flow", "partner_code", "year"], how="left", maintain_order="left"
    )
    top = top.join(group_flags(flows), on=GROUP, how="left", maintain_order="left")
    top = top.join(_group_frame(extra_flags, "_extra", top.schema), on=GROUP, how="left", maintain_order="left")
    top = top.with_columns(
        yoy_pct=_yoy_expr(pl.col("primary_value_usd"), pl.col("value_prev_year_usd")),
        is_mirror=pl.col("is_mirror").fill_null(False),
    )
    top = _with_joined_flags(
        top,
        "review_flags",
        pl.col("group_flags"),
        pl.col("_extra"),
        _flag(_gt(pl.col("yoy_pct").abs(), YOY_LIMIT_PCT), "yoy_gt_50pct"),
        # same rule as the concentration row of this group
        _flag(pl.col("is_mirror") & (pl.col("_partners") < MIRROR_MIN_PARTNERS), "mirror_low_coverage"),
    )
    return top.select(
        "reporter_code",
        _reporter_name_expr(flows).alias("reporter_name_zh"),
        "flow",
        "year",
        "rank",
        "partner_code",
        "partner_name_zh",
        pl.col("primary_value_usd").alias("value_usd"),
        "share_pct",
        "total_usd",
        "value_prev_year_usd",
        "yoy_pct",
        "share_prev_year_pct",
        "rank_prev_year",
        "is_mirror",
        "source_kind",
        _confidence_expr(pl.col("reporter_code"), pl.col("is_mirror"), pl.col("review_flags")).alias("confidence"),
        "review_flags",
        "request_id",
        "fetched_at",
    ).cast(RANKING_SCHEMA)


# ----------------------------------------------------------------------------------------------------------------------
# concentration
# ----------------------------------------------------------------------------------------------------------------------
CONCENTRATION_SCHEMA = {
    "reporter_code": pl.Int32,
    "reporter_name_zh": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "hhi": pl.Float64,
    "concentration_level": pl.Utf8,
    "top3_share_pct": pl.Float64,
    "top3_partner_codes": pl.Utf8,
    "top3_partner_names_zh": pl.Utf8,
    "partner_count": pl.Int32,
    "total_usd": pl.Float64,
    "world_total_usd": pl.Float64,
    "total_yoy_pct": pl.Float64,
    "top3_share_prev_year_pct": pl.Float64,
    "partner_count_prev_year": pl.Int32,
    "hhi_prev_year": pl.Float64,
    "hhi_change_vs_prev_year": pl.Float64,
    "hhi_prev_week": pl.Float64,
    "hhi_change_vs_prev_week": pl.Float64,
    "is_mirror": pl.Boolean,
    "source_kind": pl.Utf8,
    "confidence": pl.Utf8,
    "review_flags": pl.Utf8,
    "fetched_at": pl.Utf8,
}
_KEY_SCHEMA = {"reporter_code": pl.Int32, "flow": pl.Utf8, "year": pl.Int32}


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    """The group columns cast to one key schema, so frames of any integer width join."""
    return frame.with_columns(pl.col(c).cast(t) for c, t in _KEY_SCHEMA.items())


def _group_stats(shares: pl.DataFrame) -> pl.DataFrame:
    """Per reporter × flow × year of ``partner_shares`` (rows already in rank order within each group)."""
    positive = pl.col("total_usd").first() > 0
    positive = positive & ~pl.col("total_usd").first().is_nan()
    return _keyed(
        shares.group_by(GROUP).agg(
            hhi=pl.when(positive).then((pl.col("share_pct") ** 2).sum()),
            top3_share_pct=pl.when(positive).then(pl.col("share_pct").head(3).sum()),
            top3_partner_codes=pl.col("partner_code").head(3).cast(pl.Utf8).str.join(","),
            top3_partner_names_zh=pl.col("partner_name_zh").head(3).str.join("、"),
            partner_count=(pl.col("primary_value_usd") > 0).sum().cast(pl.Int32),
            total_usd=pl.col("total_usd").first().cast(pl.Float64),
            fetched_at=pl.col("fetched_at").drop_nulls().max().fill_null(""),
            source_kind=pl.col("source_kind").first(),
        )
    ).with_columns(_has_stats=pl.lit(True))


def concentration(
    flows: pl.DataFrame, prev_week: pl.DataFrame | None = None, expected: dict[tuple[int, str, int], str] | None = None
) -> pl.DataFrame:
    """HHI, top-3 share, partner count per reporter × flow × year, with YoY and last-week comparisons.

    ``expected`` maps groups that were requested to extra flags (e.g. 'partial_http_failure', 'zero_records'):
    a requested group without rows still gets a row (figures NULL) so the gap is visible, never silent."""
    stats = _group_stats(partner_shares(flows))
    expected_df = _group_frame(expected, "_expected", _KEY_SCHEMA)
    keys = pl.concat([stats.select(GROUP), expected_df.select(GROUP)]).unique().sort(GROUP)
    if keys.is_empty():
        return pl.DataFrame(schema=CONCENTRATION_SCHEMA)
    prev_year = stats.select(
        *GROUP[:2],
        (pl.col("year") + 1).alias("year"),
        pl.col("total_usd").alias("_total_prev"),
        pl.col("top3_share_pct").alias("top3_share_prev_year_pct"),
        pl.col("partner_count").alias("partner_count_prev_year"),
        pl.col("hhi").alias("hhi_prev_year"),
    )
    world = _keyed(
        flows.filter((pl.col("partner_code") == WORLD_CODE) & (pl.col("source_kind") == "reported"))
        .group_by(GROUP)
        .agg(world_total_usd=pl.col("primary_value_usd").last())
    )
    flags = _keyed(group_flags(flows)).select(
        *GROUP, "group_flags", pl.col("is_mirror").alias("_group_mirror"), _has_flags=pl.lit(True)
    )
    if prev_week is not None and not prev_week.is_empty():
        last_week = _keyed(prev_week.group_by(GROUP).agg(hhi_prev_week=pl.col("hhi").last()))
    else:
        last_week = pl.DataFrame(schema={**_KEY_SCHEMA, "hhi_prev_week": pl.Float64})

    df = keys
    for right in (stats, prev_year, world, flags, last_week, expected_df):
        df = df.join(right, on=GROUP, how="left", maintain_order="left")
    has_stats = pl.col("_has_stats").fill_null(False)
    total, total_prev, hhi = pl.col("total_usd"), pl.col("_total_prev"), pl.col("hhi")
    df = df.with_columns(
        is_mirror=pl.when(pl.col("_has_flags").fill_null(False))
        .then(pl.col("_group_mirror").fill_null(False))
        .otherwise(pl.col("reporter_code") == TAIWAN_ISO_CODE),
        total_yoy_pct=_yoy_expr(total, total_prev),
        _ratio=pl.when(total.is_not_null() & (total != 0) & total_prev.is_not_null() & (total_prev != 0)).then(
            total / total_prev
        ),
    )
    ratio = pl.col("_ratio")
    df = df.with_columns(
        review_flags=_join_flags_expr(
            pl.col("group_flags"),
            pl.col("_expected"),
            _flag(~has_stats, "zero_records"),
            _flag(_gt(pl.col("total_yoy_pct").abs(), YOY_LIMIT_PCT), "yoy_gt_50pct"),
            _flag(_gt(ratio, YEAR_RATIO_LIMIT) | (ratio < 1 / YEAR_RATIO_LIMIT), "years_differ_2x"),
            _flag(hhi.is_not_null() & (hhi.is_nan() | (hhi < 0.0) | (hhi > HHI_MAX)), "hhi_out_of_range"),
            _flag(
                pl.col("is_mirror") & has_stats & (pl.col("partner_count") < MIRROR_MIN_PARTNERS), "mirror_low_coverage"
            ),
        )
    )
    level = (
        pl.when(hhi.is_null())
        .then(_NO_FLAG)
        .when(hhi < contract.HHI_LOW_BELOW)
        .then(pl.lit("低"))
        .when((hhi <= contract.HHI_HIGH_ABOVE) & ~hhi.is_nan())
        .then(pl.lit("中"))
        .otherwise(pl.lit("高"))
    )
    return df.select(
        "reporter_code",
        _reporter_name_expr(keys).alias("reporter_name_zh"),
        "flow",
        "year",
        "hhi",
        level.alias("concentration_level"),
        "top3_share_pct",
        "top3_partner_codes",
        "top3_partner_names_zh",
        pl.when(has_stats).then(pl.col("partner_count")).otherwise(0).alias("partner_count"),
        "total_usd",
        "world_total_usd",
        "total_yoy_pct",
        "top3_share_prev_year_pct",
        "partner_count_prev_year",
        "hhi_prev_year",
        (hhi - pl.col("hhi_prev_year")).alias("hhi_change_vs_prev_year"),
        "hhi_prev_week",
        (hhi - pl.col("hhi_prev_week")).alias("hhi_change_vs_prev_week"),
        "is_mirror",
        pl.when(has_stats)
        .then(pl.col("source_kind"))
        .otherwise(pl.when(pl.col("is_mirror")).then(pl.lit("mirror")).otherwise(pl.lit("reported")))
        .alias("source_kind"),
        _confidence_expr(pl.col("reporter_code"), pl.col("is_mirror"), pl.col("review_flags")).alias("confidence"),
        "review_flags",
        "fetched_at",
    ).cast(CONCENTRATION_SCHEMA)


# ----------------------------------------------------------------------------------------------------------------------
# balances
# ----------------------------------------------------------------------------------------------------------------------
BALANCE_SCHEMA = {
    "reporter_code": pl.Int32,
    "reporter_name_zh": pl.Utf8,
    "partner_code": pl.Int32,
    "partner_name_zh": pl.Utf8,
    "year": pl.Int32,
    "export_usd": pl.Float64,
    "import_usd": pl.Float64,
    "balance_usd": pl.Float64,
    "balance_label": pl.Utf8,
    "export_yoy_pct": pl.Float64,
    "import_yoy_pct": pl.Float64,
    "balance_prev_year_usd": pl.Float64,
    "yoy_pct": pl.Float64,
    "is_world": pl.Boolean,
    "is_mirror": pl.Boolean,
    "confidence": pl.Utf8,
    "review_flags": pl.Utf8,
    "fetched_at": pl.Utf8,
}
BALANCE_KEY = ["reporter_code", "partner_code", "year"]


def balances(flows: pl.DataFrame, expected: dict[tuple[int, str, int], str] | None = None) -> pl.DataFrame:
    """Export − import per reporter × partner × year (partner World included as the reporter's overall balance).

    A partner missing from one flow counts 0 there (Comtrade omits zero trade); a whole flow missing for the
    reporter-year is not zero trade, so those rows are flagged."""
    # rows with a NULL value stay: the partner is there, its figure unknown (missing_value, or a refused row kept as
    # a placeholder) — that side of its balance is NULL, never zero trade
    usable = flows.filter(~pl.col("is_excluded_partner") | (pl.col("partner_code") == WORLD_CODE))
    if usable.is_empty():
        return pl.DataFrame(schema=BALANCE_SCHEMA)
    value = pl.col("primary_value_usd")
    # one row per reporter × partner × year; a repeated flow keeps its last row (as a dict update would)
    values = usable.group_by(BALANCE_KEY).agg(
        _x=value.filter((pl.col("flow") == "X") & value.is_not_null()).last(),
        _m=value.filter((pl.col("flow") == "M") & value.is_not_null()).last(),
        _xn=((pl.col("flow") == "X") & value.is_null()).any(),
        _mn=((pl.col("flow") == "M") & value.is_null()).any(),
    )
    prev = values.select(
        "reporter_code",
        "partner_code",
        (pl.col("year") + 1).alias("year"),
        pl.col("_x").alias("_px"),
        pl.col("_m").alias("_pm"),
        _prev_unknown=pl.col("_xn") | pl.col("_mn"),
        _has_prev=pl.lit(True),
    )
    names = usable.group_by("partner_code").agg(pl.col("partner_name_zh").last())  # the last name seen per code
    fetched = (
        usable.filter(pl.col("fetched_at").is_not_null() & (pl.col("fetched_at") != ""))
        .group_by("reporter_code", "year")
        .agg(pl.col("fetched_at").max())
    )
    # flags of the reporter-year: both flows' group flags and expected flags; a flow without any row: zero_records
    gflags = group_flags(flows)
    exp = _group_frame(expected, "_expected", gflags.schema)
    side = values.select("reporter_code", "year").unique()
    for flow in ("X", "M"):
        f = flow.lower()
        side = side.join(
            gflags.filter(pl.col("flow") == flow).select(
                "reporter_code",
                "year",
                pl.col("group_flags").fill_null("").alias(f"_f{f}"),
                pl.col("is_mirror").alias(f"_mirror{f}"),
                pl.lit(True).alias(f"_has{f}"),
            ),
            on=["reporter_code", "year"],
            how="left",
        ).join(
            exp.filter(pl.col("flow") == flow).select("reporter_code", "year", pl.col("_expected").alias(f"_e{f}")),
            on=["reporter_code", "year"],
            how="left",
        )
    taiwan = pl.col("reporter_code") == TAIWAN_ISO_CODE

    def flow_flags(f: str) -> pl.Expr:
        return pl.when(pl.col(f"_has{f}").fill_null(False)).then(pl.col(f"_f{f}")).otherwise(pl.lit("zero_records"))

    def flow_mirror(f: str) -> pl.Expr:
        return (
            pl.when(pl.col(f"_has{f}").fill_null(False)).then(pl.col(f"_mirror{f}").fill_null(False)).otherwise(taiwan)
        )

    side = side.select(
        "reporter_code",
        "year",
        _side_flags=pl.concat_str(
            [flow_flags("x"), pl.col("_ex"), flow_flags("m"), pl.col("_em")], separator=";", ignore_nulls=True
        ),
        is_mirror=flow_mirror("x") | flow_mirror("m"),
        _hx=pl.col("_hasx").fill_null(False),
        _hm=pl.col("_hasm").fill_null(False),
    )

    df = (
        values.sort(BALANCE_KEY)
        .join(prev, on=BALANCE_KEY, how="left", maintain_order="left")
        .join(names, on="partner_code", how="left", maintain_order="left")
        .join(fetched, on=["reporter_code", "year"], how="left", maintain_order="left")
        .join(side, on=["reporter_code", "year"], how="left", maintain_order="left")
    )
    has_prev = pl.col("_has_prev").fill_null(False)
    # a partner missing from a flow that came back is zero trade; a flow that did not come back at all (failed,
    # empty, not answering the request) is unknown: NULL, never 0, and the balance with it
    df = df.with_columns(
        export_usd=pl.when(pl.col("_hx") & ~pl.col("_xn")).then(pl.col("_x").fill_null(0.0)),
        import_usd=pl.when(pl.col("_hm") & ~pl.col("_mn")).then(pl.col("_m").fill_null(0.0)),
        balance_prev_year_usd=pl.when(has_prev & ~pl.col("_prev_unknown").fill_null(False)).then(
            pl.col("_px").fill_null(0.0) - pl.col("_pm").fill_null(0.0)
        ),
    )
    df = df.with_columns(balance_usd=pl.col("export_usd") - pl.col("import_usd"))
    prev_bal = pl.col("balance_prev_year_usd")
    df = df.with_columns(
        yoy_pct=pl.when(prev_bal.is_not_null() & (prev_bal != 0)).then(
            (pl.col("balance_usd") - prev_bal) / prev_bal.abs() * 100.0
        )
    )
    is_world = pl.col("partner_code") == WORLD_CODE
    df = _with_joined_flags(
        df,
        "review_flags",
        pl.col("_side_flags"),
        _flag(_gt(pl.col("yoy_pct").abs(), YOY_LIMIT_PCT) & is_world, "yoy_gt_50pct"),
    )
    bal = pl.col("balance_usd")
    return df.select(
        "reporter_code",
        _reporter_name_expr(flows).alias("reporter_name_zh"),
        "partner_code",
        "partner_name_zh",
        "year",
        "export_usd",
        "import_usd",
        "balance_usd",
        pl.when(bal.is_null())
        .then(_NO_FLAG)
        .when(_gt(bal, 0.0))
        .then(pl.lit("順差"))
        .when(bal < 0)
        .then(pl.lit("逆差"))
        .otherwise(pl.lit("平衡"))
        .alias("balance_label"),
        _yoy_expr(pl.col("_x"), pl.col("_px")).alias("export_yoy_pct"),
        _yoy_expr(pl.col("_m"), pl.col("_pm")).alias("import_yoy_pct"),
        "balance_prev_year_usd",
        "yoy_pct",
        is_world.alias("is_world"),
        pl.col("is_mirror").fill_null(False),
        _confidence_expr(pl.col("reporter_code"), pl.col("is_mirror").fill_null(False), pl.col("review_flags")).alias(
            "confidence"
        ),
        "review_flags",
        "fetched_at",
    ).cast(BALANCE_SCHEMA)


# ----------------------------------------------------------------------------------------------------------------------
# HS2 structure
# ----------------------------------------------------------------------------------------------------------------------
COMMODITY_SCHEMA = {
    "reporter_code": pl.Int32,
    "reporter_name_zh": pl.Utf8,
    "flow": pl.Utf8,
    "year": pl.Int32,
    "hs2": pl.Utf8,
    "hs2_desc": pl.Utf8,
    "hs2_desc_zh": pl.Utf8,
    "value_usd": pl.Float64,
    "share_pct": pl.Float64,
    "rank": pl.Int32,
    "value_prev_year_usd": pl.Float64,
    "yoy_pct": pl.Float64,
    "share_prev_year_pct": pl.Float64,
    "total_usd": pl.Float64,
    "confidence": pl.Utf8,
    "review_flags": pl.Utf8,
    "fetched_at": pl.Utf8,
}


def commodity_structure(commodity: pl.DataFrame) -> pl.DataFrame:
    """HS2 chapters per reporter × flow × year: value, share of the chapters' sum, rank, YoY."""
    from trade_pipeline.defs.bilateral_trade_flows.codes import HS2_ZH

    base = commodity.filter(pl.col("primary_value_usd").is_not_null())
    if base.is_empty():
        return pl.DataFrame(schema=COMMODITY_SCHEMA)
    base = base.sort(GROUP + ["primary_value_usd", "hs2"], descending=[False, False, False, True, False])
    base = base.with_columns(
        total_usd=pl.col("primary_value_usd").sum().over(GROUP),
        rank=pl.int_range(1, pl.len() + 1).over(GROUP).cast(pl.Int32),
    )
    base = base.with_columns(share_pct=pl.col("primary_value_usd") / pl.col("total_usd") * 100.0)
    keys = ["reporter_code", "flow", "year", "hs2"]
    prev = base.select(
        *GROUP[:2],
        (pl.col("year") + 1).alias("year"),
        "hs2",
        pl.col("primary_value_usd").alias("value_prev_year_usd"),
        pl.col("share_pct").alias("share_prev_year_pct"),
    ).unique(subset=keys, keep="last", maintain_order=True)  # a repeated chapter: the last row wins
    df = base.join(prev, on=keys, how="left", maintain_order="left")
    # every chapter row carries the union of its group's flags
    df = _with_joined_flags(df, "review_flags", pl.col("review_flags").fill_null("").str.join(";").over(GROUP))
    return df.select(
        "reporter_code",
        _reporter_name_expr(base).alias("reporter_name_zh"),
        "flow",
        "year",
        "hs2",
        "hs2_desc",
        pl.col("hs2").replace_strict(HS2_ZH, default=None, return_dtype=pl.Utf8).alias("hs2_desc_zh"),
        pl.col("primary_value_usd").alias("value_usd"),
        "share_pct",
        "rank",
        "value_prev_year_usd",
        _yoy_expr(pl.col("primary_value_usd"), pl.col("value_prev_year_usd")).alias("yoy_pct"),
        "share_prev_year_pct",
        "total_usd",
        _confidence_expr(pl.col("reporter_code"), pl.lit(False), pl.col("review_flags")).alias("confidence"),
        "review_flags",
        "fetched_at",
    ).cast(COMMODITY_SCHEMA)
