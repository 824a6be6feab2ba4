"""Census array-of-arrays parsing: by header name, strings to numbers, missing markers, partner filter, bad bodies."""

import json

import pytest

from trade_pipeline.defs.us_trade_census.wire import CensusFormatError, normalize_rows, parse_table, to_number

# sources.md §2.9 realistic reply (values illustrative)
FIXTURE = """[["CTY_NAME","ALL_VAL_MO","ALL_VAL_YR","E_COMMODITY","E_COMMODITY_LDESC","CTY_CODE","COMM_LVL","time"],
["TAIWAN","412345678","412345678","84","NUCLEAR REACTORS, BOILERS, MACHINERY AND MECHANICAL APPLIANCES; PARTS THEREOF","5830","HS2","2025-01"],
["TAIWAN","398765432","398765432","85","ELECTRICAL MACHINERY AND EQUIPMENT AND PARTS THEREOF","5830","HS2","2025-01"],
["TAIWAN","301234567","301234567","27","MINERAL FUELS, MINERAL OILS AND PRODUCTS OF THEIR DISTILLATION","5830","HS2","2025-01"]]"""


def test_parses_the_reference_fixture() -> None:
    records = normalize_rows(parse_table(FIXTURE), "export")
    assert [(r.cty_code, r.hs2, r.year, r.month, r.value_usd, r.ytd_usd) for r in records] == [
        ("5830", "84", 2025, 1, 412345678.0, 412345678.0),
        ("5830", "85", 2025, 1, 398765432.0, 398765432.0),
        ("5830", "27", 2025, 1, 301234567.0, 301234567.0),
    ]
    assert records[0].hs2_desc.startswith("NUCLEAR REACTORS")
    assert all(r.flags == [] for r in records)


def test_duplicate_columns_keep_the_first_and_order_does_not_matter() -> None:
    body = json.dumps([["time", "CTY_CODE", "GEN_VAL_MO", "CTY_CODE", "CTY_NAME"],
                       ["2024-12", "5700", "37553745287", "9999", "CHINA"]])
    (rec,) = normalize_rows(parse_table(body), "import")
    assert (rec.cty_code, rec.hs2, rec.value_usd, rec.year, rec.month) == ("5700", "TOTAL", 37553745287.0, 2024, 12)


def test_year_month_columns_and_aggregates_are_dropped() -> None:
    body = json.dumps([["CTY_CODE", "CTY_NAME", "GEN_VAL_MO", "YEAR", "MONTH"],
                       ["-", "TOTAL FOR ALL COUNTRIES", "253692671061", "2024", "01"],
                       ["0003", "EUROPEAN UNION", "46462552767", "2024", "01"],
                       ["7XXX", "AFRICA", "1", "2024", "01"],
                       ["5830", "TAIWAN", "8195658125", "2024", "01"],
                       [None, None, "5", "2024", "01"]])
    records = normalize_rows(parse_table(body), "import")
    assert [(r.cty_code, r.year, r.month) for r in records] == [("5830", 2024, 1)]


@pytest.mark.parametrize("cell", [None, "", "-", "(D)", "(X)", " (D) "])
def test_missing_markers_are_missing_not_zero(cell) -> None:
    assert to_number(cell) == (None, "value_missing")


def test_garbage_numbers_are_flagged() -> None:
    assert to_number("12a4") == (None, "value_unparseable")
    assert to_number("nan") == (None, "value_unparseable")
    assert to_number("1,234") == (1234.0, None)


def test_suppressed_value_keeps_the_row_with_a_flag() -> None:
    body = json.dumps([["CTY_CODE", "CTY_NAME", "ALL_VAL_MO", "E_COMMODITY", "time"],
                       ["5880", "JAPAN", "(D)", "93", "2025-03"], ["5880", "JAPAN", "-", "-", "2025-03"]])
    records = normalize_rows(parse_table(body), "export")
    assert [(r.hs2, r.value_usd, r.flags) for r in records] == [("93", None, ["value_missing"]),
                                                                ("TOTAL", None, ["value_missing"])]


def test_non_hs2_commodity_rows_are_not_chapters() -> None:
    body = json.dumps([["CTY_CODE", "ALL_VAL_MO", "E_COMMODITY", "COMM_LVL", "time"],
                       ["5880", "10", "8542", "HS4", "2025-03"], ["5880", "7", "85", "HS2", "2025-03"]])
    assert [r.hs2 for r in normalize_rows(parse_table(body), "export")] == ["85"]


@pytest.mark.parametrize("body, words", [
    ('[["CTY_CODE","ALL_VAL_MO"],["5700","12', "not valid JSON"),
    ('<html><body>You included a key with this request</body></html>', "HTML page"),
    ('{"error": "x"}', "array of arrays"),
    ('[["CTY_CODE","ALL_VAL_MO"],["5700"]]', "row 1 has 1 cells"),
    ('[[1, 2]]', "header row"),
])
def test_bad_bodies_raise_naming_the_request(body: str, words: str) -> None:
    with pytest.raises(CensusFormatError) as err:
        parse_table(body, "GET https://api.census.gov/data/timeseries/intltrade/exports/hs?time=2025-01")
    assert words in str(err.value) and "[census]" in str(err.value) and "exports/hs?time=2025-01" in str(err.value)


def test_missing_value_column_is_an_error() -> None:
    body = json.dumps([["CTY_CODE", "CTY_NAME", "time"], ["5700", "CHINA", "2025-01"]])
    with pytest.raises(CensusFormatError, match="GEN_VAL_MO"):
        normalize_rows(parse_table(body), "import", request="req")
