"""Census array-of-arrays parsing and the parse boundary: by header name, strings to numbers, suppression markers,
codes normalised, rows checked against the request, conflicting duplicates, bad bodies."""

import json

import pytest

from trade_pipeline.core import contract
from trade_pipeline.core.quarantine import row_json
from trade_pipeline.defs.us_trade_census.wire import (
    CensusFormatError,
    ReplyRequest,
    parse_table,
    to_number,
    validate_reply,
)

# sources.md §2.9 realistic reply (values illustrative)
FIXTURE = """[["CTY_NAME","ALL_VAL_MO","ALL_VAL_YR","E_COMMODITY","E_COMMODITY_LDESC","CTY_CODE","COMM_LVL","time"],
["TAIWAN","412345678","412345678","84","NUCLEAR REACTORS, BOILERS, MACHINERY AND MECHANICAL APPLIANCES; PARTS THEREOF","5830","HS2","2025-01"],
["TAIWAN","398765432","398765432","85","ELECTRICAL MACHINERY AND EQUIPMENT AND PARTS THEREOF","5830","HS2","2025-01"],
["TAIWAN","301234567","301234567","27","MINERAL FUELS, MINERAL OILS AND PRODUCTS OF THEIR DISTILLATION","5830","HS2","2025-01"]]"""
HS2_HEADER = ["CTY_NAME", "ALL_VAL_MO", "ALL_VAL_YR", "E_COMMODITY", "CTY_CODE", "COMM_LVL", "time"]
ASK = ReplyRequest(
    flow="export", level="HS2", year=2025, first_month=1, last_month=2, partners=frozenset({"5830", "5700"})
)


def reply(*rows, header=HS2_HEADER, ask=ASK):
    return validate_reply(parse_table(json.dumps([header, *rows])), ask, "GET https://api.census.gov/x")


def test_parses_the_reference_fixture() -> None:
    out = validate_reply(parse_table(FIXTURE), ReplyRequest("export", "HS2", 2025, 1, 1, frozenset({"5830"})))
    assert out.rejected == [] and not out.error
    assert [(r.cty_code, r.hs2, r.year, r.month, r.value_usd, r.ytd_usd) for r in out.records] == [
        ("5830", "84", 2025, 1, 412345678.0, 412345678.0),
        ("5830", "85", 2025, 1, 398765432.0, 398765432.0),
        ("5830", "27", 2025, 1, 301234567.0, 301234567.0),
    ]
    assert out.records[0].hs2_desc.startswith("NUCLEAR REACTORS")
    assert all(r.flags == [] for r in out.records)


def test_duplicate_columns_keep_the_first_and_order_does_not_matter() -> None:
    body = json.dumps(
        [
            ["time", "CTY_CODE", "GEN_VAL_MO", "CTY_CODE", "CTY_NAME"],
            ["2024-12", "5700", "37553745287", "9999", "CHINA"],
        ]
    )
    (rec,) = validate_reply(parse_table(body), ReplyRequest("import", "TOTAL", 2024, 12, 12)).records
    assert (rec.cty_code, rec.hs2, rec.value_usd, rec.year, rec.month) == ("5700", "TOTAL", 37553745287.0, 2024, 12)


def test_aggregates_and_unrequested_partners_are_rejected_not_dropped() -> None:
    body = json.dumps(
        [
            ["CTY_CODE", "CTY_NAME", "GEN_VAL_MO", "YEAR", "MONTH"],
            ["-", "TOTAL FOR ALL COUNTRIES", "253692671061", "2024", "01"],
            ["0003", "EUROPEAN UNION", "46462552767", "2024", "01"],
            ["7XXX", "AFRICA", "1", "2024", "01"],
            ["5830", "TAIWAN", "8195658125", "2024", "01"],
            ["5820", "HONG KONG", "5", "2024", "01"],
            ["ABC", "?", "5", "2024", "01"],
            [None, None, "5", "2024", "01"],
        ]
    )
    out = validate_reply(parse_table(body), ReplyRequest("import", "TOTAL", 2024, 1, 1, frozenset({"5830"})))
    assert [(r.cty_code, r.year, r.month) for r in out.records] == [("5830", 2024, 1)]
    codes = {json.loads(row_json(r.row))["CTY_CODE"]: r.reason_code for r in out.rejected}
    assert codes == {
        "-": "aggregate_partner",
        "0003": "aggregate_partner",
        "7XXX": "aggregate_partner",
        "5820": "not_requested",
        "ABC": "code_invalid",
        None: "code_invalid",
    }
    assert all(r.action == "rejected" and r.cell is None for r in out.rejected)  # not a cell it asked for
    assert all(r.reason_code in contract.QUARANTINE_REASONS for r in out.rejected)


def test_codes_are_normalised_before_the_rules() -> None:
    out = reply(
        ["TAIWAN", "7", "7", "085", "05830", "HS2", "2025-01"], ["TAIWAN", "8", "8", "8", "5830", "HS2", "2025-01"]
    )
    assert [(r.cty_code, r.hs2) for r in out.records] == [("5830", "85"), ("5830", "08")]
    bad = reply(
        ["TAIWAN", "1", "1", "8501", "5830", "HS2", "2025-01"],
        ["TAIWAN", "1", "1", "8A", "5830", "HS2", "2025-01"],
        ["TAIWAN", "1", "1", "00", "5830", "HS2", "2025-01"],
    )
    assert bad.records == [] and {r.reason_code for r in bad.rejected} == {"code_invalid"}


@pytest.mark.parametrize("cell", [None, "", "-", "(D)", "(X)", " (D) ", "(S)", "(NA)", "N/A"])
def test_suppression_markers_are_missing_never_zero(cell) -> None:
    assert to_number(cell) == (None, "value_missing")
    out = reply(["JAPAN", cell, "5", "93", "5700", "HS2", "2025-02"])
    (rec,) = out.records
    assert rec.value_usd is None and rec.flags == ["value_missing"] and out.rejected == []


def test_garbage_numbers_are_flagged() -> None:
    assert to_number("12a4") == (None, "value_unparseable")
    assert to_number("nan") == (None, "value_unparseable")
    assert to_number("1,234") == (1234.0, None)


@pytest.mark.parametrize(
    "cell, code",
    [
        ("-5", "value_negative"),
        ("1e400", "value_not_finite"),
        ("NaN", "value_not_finite"),
        ("inf", "value_not_finite"),
        ("12a4", "value_not_numeric"),
        ("true", "value_not_numeric"),
    ],
)
def test_unusable_values_are_repaired_to_null_cells(cell, code) -> None:
    out = reply(
        ["CHINA", "10", "10", "84", "5700", "HS2", "2025-01"], ["CHINA", cell, "5", "85", "5700", "HS2", "2025-01"]
    )
    assert [r.hs2 for r in out.records] == ["84"]
    (rej,) = out.rejected
    assert (rej.reason_code, rej.action, rej.cell) == (code, "repaired", ("5700", "export", 2025, 1, "85"))
    assert json.loads(row_json(rej.row))["ALL_VAL_MO"] == cell  # the row as received


def test_json_number_literals_are_kept_as_sent() -> None:
    body = '[["CTY_CODE","ALL_VAL_MO","E_COMMODITY","time"],["5700",1e400,"85","2025-01"],["5700",12,"84","2025-01"]]'
    out = validate_reply(parse_table(body), ASK)
    assert [(r.hs2, r.value_usd) for r in out.records] == [("84", 12.0)]
    assert out.rejected[0].reason_code == "value_not_finite" and "1e400" in row_json(out.rejected[0].row)


@pytest.mark.parametrize(
    "row, what",
    [
        (["TAIWAN", "1", "1", "84", "5830", "HS2", "2025-03"], "month outside"),  # after the window
        (["TAIWAN", "1", "1", "84", "5830", "HS2", "2024-01"], "year not asked"),
        (["TAIWAN", "1", "1", "84", "5880", "HS2", "2025-01"], "partner not asked"),
        (["TAIWAN", "1", "1", "84", "5830", "HS4", "2025-01"], "commodity level"),
        (["TAIWAN", "1", "1", "-", "5830", "HS2", "2025-01"], "country-total row in a chapter request"),
        (["TAIWAN", "1", "1", "84", "5830", "HS2", "2025"], "month missing"),
    ],
)
def test_rows_that_answer_another_question_are_rejected(row, what) -> None:
    out = reply(row)
    (rej,) = out.rejected
    assert out.records == [] and rej.action == "rejected" and rej.cell is None and what in rej.reason


def test_conflicting_duplicates_are_both_rejected_and_verbatim_repeats_collapse() -> None:
    out = reply(
        ["CHINA", "10", "10", "84", "5700", "HS2", "2025-01"],
        ["CHINA", "11", "11", "84", "5700", "HS2", "2025-01"],
        ["CHINA", "7", "7", "85", "5700", "HS2", "2025-01"],
        ["CHINA", "7", "7", "85", "5700", "HS2", "2025-01"],
    )
    assert [(r.hs2, r.value_usd, r.flags) for r in out.records] == [("85", 7.0, ["duplicate_collapsed"])]
    got = sorted((r.row_index, r.reason_code, r.action) for r in out.rejected)
    assert got == [
        (0, "conflicting_duplicate", "rejected"),
        (1, "conflicting_duplicate", "rejected"),
        (3, "exact_duplicate", "collapsed"),
    ]
    assert out.merged_duplicates == 1


def test_a_reply_for_the_other_flow_is_not_an_answer() -> None:
    body = json.dumps([["CTY_CODE", "GEN_VAL_MO", "I_COMMODITY", "time"], ["5700", "5", "85", "2025-01"]])
    out = validate_reply(parse_table(body), ASK, "req")
    assert out.records == [] and "ALL_VAL_MO" in out.error and "[census]" in out.error
    assert [(r.reason_code, r.action) for r in out.rejected] == [("not_requested", "rejected")]


def test_non_hs2_commodity_rows_are_rejected() -> None:
    body = json.dumps(
        [
            ["CTY_CODE", "ALL_VAL_MO", "E_COMMODITY", "COMM_LVL", "time"],
            ["5880", "10", "8542", "HS4", "2025-02"],
            ["5880", "7", "85", "HS2", "2025-02"],
        ]
    )
    out = validate_reply(parse_table(body), ReplyRequest("export", "HS2", 2025, 1, 2, frozenset({"5880"})))
    assert [r.hs2 for r in out.records] == ["85"] and len(out.rejected) == 1


@pytest.mark.parametrize(
    "body, words",
    [
        ('[["CTY_CODE","ALL_VAL_MO"],["5700","12', "not valid JSON"),
        ("<html><body>You included a key with this request</body></html>", "HTML page"),
        ('{"error": "x"}', "array of arrays"),
        ('[["CTY_CODE","ALL_VAL_MO"],["5700"]]', "row 1 has 1 cells"),
        ("[[1, 2]]", "header row"),
    ],
)
def test_bad_bodies_raise_naming_the_request(body: str, words: str) -> None:
    with pytest.raises(CensusFormatError) as err:
        parse_table(body, "GET https://api.census.gov/data/timeseries/intltrade/exports/hs?time=2025-01")
    assert words in str(err.value) and "[census]" in str(err.value) and "exports/hs?time=2025-01" in str(err.value)
