"""Issue 12, US Census half: one Census reply damaged at a time (a temp copy of the embedded sample's captures), week B
(2026-W05, data through 2025-11) re-run over the replayed baseline.

Every class asserts the run status, the quarantine rows (``quarantined_rows``: source, request, row as received,
reason), the flags on the stored rows of every table derived from the damaged cell, and that no derived figure is
computed as if complete: a missing, suppressed or quarantined month makes each year to date, balance and share that
includes it NULL (withheld) and flagged, never a smaller number. The layer's invariants (checks.py) must end with no
unflagged violation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from trade_pipeline.core import contract
from trade_pipeline.core.http import request_key
from trade_pipeline.core.partitions import as_of_instant
from trade_pipeline.defs.data_quality.assets import ASSETS as DQ_ASSETS
from trade_pipeline.defs.us_trade_census import release_calendar
from trade_pipeline.defs.us_trade_census.assets import ASSETS as CENSUS_ASSETS
from trade_pipeline.defs.us_trade_census.checks import INVARIANTS
from trade_pipeline.defs.us_trade_census.resources import PARTNERS, CensusRequest, CensusTradeClient
from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.support import CANONICAL, CENSUS_ROOT, WEEK_B

LATEST = release_calendar.latest_released_month(as_of_instant(WEEK_B).date())  # (2025, 11)
YEAR = LATEST[0]


def census_key(flow: str, level: str, year: int = YEAR) -> str:
    last = LATEST[1] if year == YEAR else 12
    req = CensusRequest(flow=flow, level=level, year=year, first_month=1, last_month=last)
    return request_key(
        "GET", f"{CANONICAL['census']}{CENSUS_ROOT}/{flow}s/hs", CensusTradeClient().request_params(req, list(PARTNERS))
    )


def edit_rows(fn: Callable[[list, list[list]], list[list]]) -> Callable[[str], str]:
    """A body edit: the reply's (header, rows) → new rows."""

    def edit(body: str) -> str:
        table = json.loads(body)
        return json.dumps([table[0], *fn(table[0], table[1:])])

    return edit


def cell(header: list, row: list, name: str):
    return row[header.index(name)]


def set_cell(cty: str, hs2: str, month: str, column: str, value) -> Callable[[list, list[list]], list[list]]:
    """Set ``column`` of the row of partner ``cty``, chapter ``hs2`` (None: a total reply), time ``month``."""

    def fn(header, rows):
        hits = 0
        for r in rows:
            if (
                cell(header, r, "CTY_CODE") == cty
                and cell(header, r, "time") == month
                and (hs2 is None or cell(header, r, "E_COMMODITY" if "E_COMMODITY" in header else "I_COMMODITY") == hs2)
            ):
                r[header.index(column)] = value
                hits += 1
        assert hits == 1, (cty, hs2, month, hits)
        return rows

    return fn


def run_week_b(captures: Path):
    client = CensusTradeClient(capture_dir=str(captures))
    result = support.run("census", WEEK_B, client, [*CENSUS_ASSETS, *DQ_ASSETS])
    return result, support.check_results(result)


def one(sql: str, *params) -> dict:
    with support.Warehouse().connect(read_only=True) as conn:
        cur = conn.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    assert len(rows) == 1, (sql, params, rows)
    return dict(zip(names, rows[0]))


def flags(row: dict) -> set[str]:
    return set(contract.split_flags(row["review_flags"]))


def quarantined(week: str = WEEK_B) -> list[dict]:
    with support.Warehouse().connect(read_only=True) as conn:
        cur = conn.execute(
            "SELECT * FROM quarantined_rows WHERE week_start = ?::DATE AND source = 'census' "
            "ORDER BY request, row_index",
            [week],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def assert_no_unflagged_violation(result, checks: dict[str, bool]) -> None:
    assert result.success, support.failure_text(result)
    severities = {c.check_name: c.severity.value for c in result.get_asset_check_evaluations()}
    for inv in INVARIANTS:
        assert f"{inv.asset}:{inv.name}" in checks
        assert checks[f"{inv.asset}:{inv.name}"] or severities[inv.name] == "WARN", inv.name
    assert checks["quarantined_rows:quarantined_groups_flagged"], "a quarantined group has unflagged rows"


def balance(cty: str, hs2: str) -> dict:
    return one(
        "SELECT * FROM census_trade_balance WHERE week_start = ?::DATE AND cty_code = ? AND hs2 = ?", WEEK_B, cty, hs2
    )


def monthly(cty: str, flow: str, month: int, hs2: str, year: int = YEAR) -> dict:
    return one(
        "SELECT * FROM census_monthly_flows WHERE week_start = ?::DATE AND cty_code = ? AND flow = ? "
        "AND year = ? AND month = ? AND hs2 = ?",
        WEEK_B,
        cty,
        flow,
        year,
        month,
        hs2,
    )


def shares_withheld(cty: str) -> None:
    """Every chapter share of the partner is NULL and every chapter row is flagged (the denominator is unknown)."""
    rows = support.q(
        "SELECT share_of_deficit_pct, review_flags FROM census_trade_balance WHERE week_start = ?::DATE "
        "AND cty_code = ? AND hs2 <> 'TOTAL'",
        WEEK_B,
        cty,
    )
    assert rows and all(s is None for s, _ in rows)
    assert all(contract.quality_flags(contract.split_flags(f)) for _, f in rows)


def detail_flagged(cty: str) -> None:
    rows = support.q(
        "SELECT review_flags FROM census_country_detail WHERE week_start = ?::DATE AND cty_code = ?", WEEK_B, cty
    )
    assert all(contract.quality_flags(contract.split_flags(f)) for (f,) in rows)


def other_partners_untouched(cty: str, world) -> None:
    """The other partners' balance rows are exactly the baseline's."""
    base = support.Warehouse(path=str(world.data / "warehouse.duckdb")).query(
        "SELECT * FROM census_trade_balance WHERE week_start = ?::DATE AND cty_code <> ? ORDER BY cty_code, hs2",
        [WEEK_B, cty],
    )
    now = support.Warehouse().query(
        "SELECT * FROM census_trade_balance WHERE week_start = ?::DATE AND cty_code <> ? ORDER BY cty_code, hs2",
        [WEEK_B, cty],
    )
    assert now.equals(base)


# --- suppressed / missing markers -------------------------------------------------------------------------------


# every marker is checked at the boundary (us_trade_census/test_wire.py); here three go through the whole layer
@pytest.mark.parametrize("marker", ["(D)", "", None])
def test_suppressed_month_is_missing_never_zero(world, captures: Path, marker) -> None:
    rewrite = set_cell("5700", "85", f"{YEAR}-03", "ALL_VAL_MO", marker)
    support.rewrite_capture(captures, "census", census_key("export", "HS2"), edit=edit_rows(rewrite))
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    march = monthly("5700", "export", 3, "85")
    assert march["value_usd"] is None and "value_missing" in flags(march)  # NULL, not 0
    assert march["ytd_usd"] is None
    later = monthly("5700", "export", LATEST[1], "85")
    assert later["value_usd"] is not None and later["ytd_usd"] is None and "ytd_month_missing" in flags(later)
    feb = monthly("5700", "export", 2, "85")
    assert feb["ytd_usd"] is not None and not contract.quality_flags(flags(feb))  # before the gap: untouched
    hs85 = balance("5700", "85")
    assert hs85["export_ytd_usd"] is None and hs85["balance_usd"] is None and hs85["share_of_deficit_pct"] is None
    assert {"value_missing", "ytd_month_missing"} <= flags(hs85)
    shares_withheld("5700")
    detail_flagged("5700")
    total = balance("5700", "TOTAL")  # the country total is its own series: still known
    assert total["export_ytd_usd"] is not None
    assert quarantined() == []  # a suppression marker is data, not a bad row
    other_partners_untouched("5700", world)


# --- values that are not finite non-negative numbers -----------------------------------------------------------


@pytest.mark.parametrize(
    "value, code", [("1e400", "value_not_finite"), ("-1498616522", "value_negative"), ("12a4", "value_not_numeric")]
)
def test_unusable_value_is_quarantined_and_its_cell_withheld(world, captures: Path, value, code) -> None:
    support.rewrite_capture(
        captures,
        "census",
        census_key("export", "HS2"),
        edit=edit_rows(set_cell("5700", "85", f"{YEAR}-01", "ALL_VAL_MO", value)),
    )
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    (q,) = quarantined()
    assert (q["reason_code"], q["action"], q["group_table"]) == (code, "repaired", "census_monthly_flows")
    assert json.loads(q["group_key"]) == {"cty_code": "5700", "flow": "export", "year": YEAR, "month": 1, "hs2": "85"}
    assert value in q["row_json"] and q["request"] == census_key("export", "HS2")
    assert not checks["quarantined_rows:no_quarantined_rows"]
    jan = monthly("5700", "export", 1, "85")
    assert jan["value_usd"] is None and "quarantined_rows" in flags(jan)
    hs85 = balance("5700", "85")
    assert hs85["export_ytd_usd"] is None and hs85["balance_usd"] is None and "quarantined_rows" in flags(hs85)
    shares_withheld("5700")
    status = one("SELECT quarantined_rows, review_flags FROM census_release_status WHERE week_start = ?::DATE", WEEK_B)
    assert status["quarantined_rows"] == 1 and "quarantined_rows" in status["review_flags"]
    assert not checks["census_monthly_flows:census_reply_rows_valid"]


# --- codes normalised -------------------------------------------------------------------------------------------


def test_codes_with_leading_zeros_are_normalised(world, captures: Path) -> None:
    def pad(header, rows):
        for r in rows:
            r[header.index("CTY_CODE")] = "0" + r[header.index("CTY_CODE")]
            r[header.index("E_COMMODITY")] = "0" + r[header.index("E_COMMODITY")]
        return rows

    support.rewrite_capture(captures, "census", census_key("export", "HS2"), edit=edit_rows(pad))
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    assert quarantined() == []
    assert support.only_week(support.flagged_counts(), WEEK_B, support.LAYER_TABLES["census"]) == support.only_week(
        world.flagged, WEEK_B, support.LAYER_TABLES["census"]
    )
    other_partners_untouched("", world)  # every balance row is the baseline's


# --- rows that answer another question --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "what, change",
    [
        (
            "another partner",
            lambda h, r: r[h.index("CTY_CODE")] == "5700" and r.__setitem__(h.index("CTY_CODE"), "5820"),
        ),
        ("a month outside the window", lambda h, r: r.__setitem__(h.index("time"), f"{YEAR}-12")),
        ("an aggregate partner", lambda h, r: r.__setitem__(h.index("CTY_CODE"), "0003")),
    ],
)  # another year, a level or a total row in a chapter reply: us_trade_census/test_wire.py
def test_rows_for_another_request_are_quarantined_and_the_reply_flagged(world, captures: Path, what, change) -> None:
    def extra(header, rows):
        stray = list(next(r for r in rows if cell(header, r, "CTY_CODE") == "5700"))
        change(header, stray)
        return [*rows, stray]

    support.rewrite_capture(captures, "census", census_key("export", "HS2"), edit=edit_rows(extra))
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    (q,) = quarantined()
    assert q["action"] == "rejected" and q["reason_code"] in ("not_requested", "aggregate_partner")
    assert q["group_table"] == contract.CENSUS_COVERAGE
    assert json.loads(q["group_key"]) == {"flow": "export", "level": "HS2", "year": YEAR}
    # every row the reply delivered is flagged, and every balance chapter built from it
    rows = support.q(
        "SELECT review_flags FROM census_monthly_flows WHERE week_start = ?::DATE AND flow = 'export' "
        "AND year = ? AND hs2 <> 'TOTAL'",
        WEEK_B,
        YEAR,
    )
    assert rows and all("quarantined_rows" in contract.split_flags(f) for (f,) in rows)
    chapters = support.q(
        "SELECT review_flags FROM census_trade_balance WHERE week_start = ?::DATE AND hs2 <> 'TOTAL'", WEEK_B
    )
    assert all("quarantined_rows" in contract.split_flags(f) for (f,) in chapters)
    # the stray row was never used: no 2023 / December month and no partner 5820 in the table
    assert support.q(
        "SELECT count(*) FROM census_monthly_flows WHERE week_start = ?::DATE AND (cty_code NOT IN "
        "('5700','5830','5800','5880','4280') OR month > ? AND year = ? OR year < ?)",
        WEEK_B,
        LATEST[1],
        YEAR,
        YEAR - 1,
    ) == [(0,)]


# --- conflicting duplicates -------------------------------------------------------------------------------------


def test_conflicting_duplicates_are_both_quarantined(world, captures: Path) -> None:
    def dup(header, rows):
        r = next(
            r
            for r in rows
            if cell(header, r, "CTY_CODE") == "5830"
            and cell(header, r, "time") == f"{YEAR}-05"
            and cell(header, r, "I_COMMODITY") == "84"
        )
        twin = list(r)
        twin[header.index("GEN_VAL_MO")] = str(int(r[header.index("GEN_VAL_MO")]) * 2)
        return [*rows, twin]

    support.rewrite_capture(captures, "census", census_key("import", "HS2"), edit=edit_rows(dup))
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    qs = quarantined()
    assert [(q["reason_code"], q["action"]) for q in qs] == [("conflicting_duplicate", "rejected")] * 2
    may = monthly("5830", "import", 5, "84")
    assert may["value_usd"] is None and "quarantined_rows" in flags(may)  # neither copy is used
    hs84 = balance("5830", "84")
    assert hs84["import_ytd_usd"] is None and hs84["balance_usd"] is None and "quarantined_rows" in flags(hs84)
    shares_withheld("5830")


def test_verbatim_repeat_is_collapsed_not_flagged(world, captures: Path) -> None:
    support.rewrite_capture(
        captures, "census", census_key("import", "HS2"), edit=edit_rows(lambda h, rows: [*rows, list(rows[3])])
    )
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    (q,) = quarantined()
    assert (q["reason_code"], q["action"], q["flag"]) == ("exact_duplicate", "collapsed", "")
    base = support.Warehouse(path=str(world.data / "warehouse.duckdb")).query(
        "SELECT * FROM census_trade_balance WHERE week_start = ?::DATE ORDER BY cty_code, hs2", [WEEK_B]
    )
    assert (
        support.Warehouse()
        .query("SELECT * FROM census_trade_balance WHERE week_start = ?::DATE ORDER BY cty_code, hs2", [WEEK_B])
        .equals(base)
    )


# --- a series that is missing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["204", "absent"])
def test_missing_export_chapters_are_null_never_zero(world, captures: Path, how) -> None:
    """The issue's cases: exports by HS2 answered 204 (series_missing) or never recorded (the request fails). Before:
    chapter exports were taken as 0, HS85 China moved -605 → -753 億 and 31.97 → 39.78 % with no flag."""
    key = census_key("export", "HS2")
    if how == "204":
        support.rewrite_capture(captures, "census", key, status=204, body="")
        reason = "series_missing"
    else:
        support.find_capture(captures, "census", key).unlink()
        reason = "hs2_fetch_failed"
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    assert not checks["census_monthly_flows:census_expected_series_present"]
    for cty in PARTNERS:
        rows = support.q(
            "SELECT export_ytd_usd, balance_usd, share_of_deficit_pct, review_flags FROM "
            "census_trade_balance WHERE week_start = ?::DATE AND cty_code = ? AND hs2 <> 'TOTAL'",
            WEEK_B,
            cty,
        )
        assert rows and all(e is None and b is None and s is None for e, b, s, _ in rows)  # withheld, not 0
        assert all(reason in contract.split_flags(f) for *_, f in rows)
        total = balance(cty, "TOTAL")
        assert total["export_ytd_usd"] is not None and reason in flags(total)  # totals: answered, not cross-checked
        assert support.q(
            "SELECT count(*) FROM census_country_detail WHERE week_start = ?::DATE AND cty_code = ? "
            "AND flow = 'export'",
            WEEK_B,
            cty,
        ) == [(0,)]
        detail_flagged(cty)
    cov = support.q(
        "SELECT count(*), min(review_flags) FROM census_series_coverage WHERE week_start = ?::DATE AND "
        "flow = 'export' AND level = 'HS2' AND year = ? AND status = 'missing'",
        WEEK_B,
        YEAR,
    )
    assert cov == [(5 * LATEST[1], reason)]
    # the Extractor files say why
    site = support.data_dir() / "site" / "Extractor" / "us_trade_census"
    detail = (site / "country_detail" / f"us-detail-5700-{YEAR}.md").read_text(encoding="utf-8")
    words = contract.flag_info(reason).zh
    assert "出口章別排名從缺：" in detail and words in detail
    bal = (site / "trade_balance" / f"us-balance-5700-{YEAR}.md").read_text(encoding="utf-8")
    hs85 = next(line for line in bal.splitlines() if line.startswith("| 85 |"))
    assert "| -- |" in hs85 and "[REVIEW_NEEDED]" in hs85 and "0.00 億" not in bal
    assert "占逆差從缺" in bal


def test_a_month_missing_from_a_total_reply(world, captures: Path) -> None:
    support.rewrite_capture(
        captures,
        "census",
        census_key("export", "TOTAL"),
        edit=edit_rows(
            lambda h, rows: [
                r for r in rows if not (cell(h, r, "CTY_CODE") == "5880" and cell(h, r, "time") == f"{YEAR}-04")
            ]
        ),
    )
    result, checks = run_week_b(captures)
    assert_no_unflagged_violation(result, checks)
    total = balance("5880", "TOTAL")
    assert total["export_ytd_usd"] is None and total["balance_usd"] is None and "series_missing" in flags(total)
    may = monthly("5880", "export", 5, "TOTAL")
    assert may["ytd_usd"] is None and "series_missing" in flags(may)
    # detail shares are over the (now unknown) total: withheld, flagged
    rows = support.q(
        "SELECT share_pct, review_flags FROM census_country_detail WHERE week_start = ?::DATE AND "
        "cty_code = '5880' AND flow = 'export'",
        WEEK_B,
    )
    assert rows and all(s is None and "series_missing" in contract.split_flags(f) for s, f in rows)
    other_partners_untouched("5880", world)
