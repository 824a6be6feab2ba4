"""Property-based tests (hypothesis) of the parsers, the metric functions and the markdown escaper."""

from __future__ import annotations

import json
import math
import re

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trade_pipeline.core import contract
from trade_pipeline.defs.bilateral_trade_flows import metrics
from trade_pipeline.defs.trade_briefing.markdown import md_escape
from trade_pipeline.defs.us_trade_census.wire import CensusFormatError, ReplyRequest, parse_table, validate_reply

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = st.one_of(st.floats(min_value=0, max_value=1e13, allow_nan=False), st.integers(0, 10**12).map(float))


@st.composite
def partner_flows(draw) -> pl.DataFrame:
    rows = []
    for reporter in draw(st.lists(st.sampled_from([156, 392, 842]), min_size=1, max_size=2, unique=True)):
        for flow in draw(st.lists(st.sampled_from(["X", "M"]), min_size=1, max_size=2, unique=True)):
            partners = draw(st.lists(st.integers(1, 899), min_size=1, max_size=30, unique=True))
            for p in partners:
                rows.append(
                    {
                        "reporter_code": reporter,
                        "flow": flow,
                        "year": 2024,
                        "partner_code": p,
                        "partner_name_zh": f"P{p}",
                        "primary_value_usd": draw(values),
                        "is_excluded_partner": draw(st.booleans()) if p > 880 else False,
                        "source_kind": "reported",
                        "review_flags": "",
                        "fetched_at": "",
                        "request_id": "r",
                    }
                )
    return pl.DataFrame(rows)


@SETTINGS
@given(partner_flows())
def test_hhi_within_0_10000_and_shares_sum_to_100(flows: pl.DataFrame) -> None:
    conc = metrics.concentration(flows)
    for hhi in conc["hhi"].drop_nulls():
        assert -1e-6 <= hhi <= 10_000 + 1e-6
    assert "hhi_out_of_range" not in ";".join(conc["review_flags"].to_list())
    shares = metrics.partner_shares(flows).filter(pl.col("total_usd") > 0)
    for total in shares.group_by(metrics.GROUP).agg(pl.col("share_pct").sum())["share_pct"]:
        assert abs(total - 100.0) < 1e-6


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(["84", "85", "27", "87", "30"]), values),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0],
    )
)
def test_commodity_shares_sum_to_100(chapters) -> None:
    df = pl.DataFrame(
        [
            {
                "reporter_code": 842,
                "flow": "X",
                "year": 2024,
                "hs2": h,
                "hs2_desc": h,
                "primary_value_usd": v,
                "review_flags": "",
                "fetched_at": "",
            }
            for h, v in chapters
        ]
    )
    out = metrics.commodity_structure(df)
    if sum(v for _, v in chapters) > 0:
        assert abs(out["share_pct"].sum() - 100.0) < 1e-6
        assert sorted(out["rank"].to_list()) == list(range(1, len(chapters) + 1))


cells = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["-", "(D)", "(X)", "1,234", "nan", "inf", "5830"]))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6)),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    max_leaves=20,
)
census_like = st.lists(st.lists(cells, min_size=1, max_size=6), min_size=0, max_size=6).map(
    lambda rows: (
        [
            ["CTY_CODE", "CTY_NAME", "ALL_VAL_MO", "ALL_VAL_YR", "E_COMMODITY", "time"][: max(1, len(rows[0]))]
            if rows
            else []
        ]
        + rows[1:]
        if rows
        else rows
    )
)


@SETTINGS
@given(
    st.one_of(st.binary(max_size=200), st.text(max_size=200), json_values.map(json.dumps), census_like.map(json.dumps))
)
def test_census_wire_parser_never_crashes_unexpectedly(body) -> None:
    try:
        rows = parse_table(body, "GET https://api.census.gov/x")
    except CensusFormatError as exc:
        assert "[census]" in str(exc)
        return
    assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
    reply = validate_reply(
        rows, ReplyRequest("export", "HS2", 2025, 1, 12, frozenset({"5700"})), "GET https://api.census.gov/x"
    )
    assert "[census]" in reply.error if reply.error else True
    # every row is either a record or rejected with a registered reason: nothing dropped silently
    assert len(reply.records) + len(reply.rejected) == len(rows)
    assert all(r.reason_code in contract.QUARANTINE_REASONS for r in reply.rejected)
    for r in reply.records:
        assert r.value_usd is None or (math.isfinite(r.value_usd) and r.value_usd >= 0)  # never NaN, inf, negative


@SETTINGS
@given(st.text(max_size=120) | st.sampled_from(["a|b", "{{ x }}", "{% raw %}", "x\ny", "a\\|b", "\u2028|\r\n{{"]))
def test_md_escape_output_is_one_inert_line(text: str) -> None:
    out = md_escape(text)
    assert "\n" not in out and "\r" not in out
    # every pipe escaped: preceded by an odd number of backslashes (an escaped backslash does not escape it)
    assert all(len(m.group(1)) % 2 == 1 for m in re.finditer(r"(\\*)\|", out)), out
    assert "{{" not in out and "{%" not in out and "<" not in out
    # the escaped pipe stays escaped even after a preceding backslash in the input
    assert len(re.findall(r"\\\|", out)) >= text.count("|")
