"""The declared wire schema on crafted replies, and the embedded reference code table against the real files."""

from __future__ import annotations

import json
from pathlib import Path

from trade_pipeline.core.quarantine import loads_keeping_literals
from trade_pipeline.defs.bilateral_trade_flows.codes import REFERENCE_AREA_CODES, known_area_codes
from trade_pipeline.defs.bilateral_trade_flows.resources import FetchResult
from trade_pipeline.defs.bilateral_trade_flows.validate import check_replies

KEY = (
    "GET https://comtradeapi.un.org/public/v1/preview/C/A/HS?cmdCode=TOTAL&customsCode=C00&flowCode=X&"
    "motCode=0&partner2Code=0&period=2024&reporterCode=842"
)


def _row(**kw) -> dict:
    return {
        "reporterCode": 842,
        "partnerCode": 156,
        "flowCode": "X",
        "refYear": 2024,
        "period": "2024",
        "cmdCode": "TOTAL",
        "customsCode": "C00",
        "motCode": 0,
        "partner2Code": 0,
        "primaryValue": 1.0e9,
        "isAggregate": False,
        **kw,
    }


def test_each_rule_refuses_its_rows_and_keeps_the_rest() -> None:
    rows = [
        _row(),
        _row(partnerCode="0124"),
        _row(primaryValue=-1.0),
        _row(primaryValue="NaN"),
        _row(refYear=2023, period="2023"),
        _row(partnerCode=97, isAggregate=True),
        _row(partnerCode=9999),
        _row(reporterCode="84x"),
        _row(cmdCode="85"),
        _row(partnerCode=0, isAggregate=True),
        loads_keeping_literals(json.dumps(_row()).replace("1000000000.0", "1e400")),
    ]
    result = FetchResult("partner_totals", "preview", KEY, "rid", "", rows, len(rows))
    checked = check_replies([result], "comtrade_partner_flows")[0]
    assert checked.accepted == (0, 1, 9)  # '0124' is a code; World with isAggregate is the total row
    reasons = {q.row_index: q.reason_code for q in checked.quarantined}
    assert reasons == {
        2: "value_negative",
        3: "value_not_numeric",
        4: "not_requested",
        5: "aggregate_partner",
        6: "unknown_partner_code",
        7: "code_invalid",
        8: "not_requested",
        10: "value_not_finite",
    }
    assert all(dict(q.group) == {"reporter_code": 842, "flow": "X", "year": 2024} for q in checked.quarantined)


def test_embedded_reference_codes_equal_the_reference_files(realdata: Path) -> None:
    ref = realdata / "comtrade" / "reference"
    partners = {int(x["id"]) for x in json.loads((ref / "partnerAreas.json").read_text("utf-8"))["results"]}
    reporters = {
        int(x["reporterCode"])
        for x in json.loads((ref / "v1_Reporters.json").read_text("utf-8"))["results"]
        if not x["isGroup"]
    }
    assert REFERENCE_AREA_CODES == partners | reporters
    assert {97, 975} & known_area_codes() == set()


def test_duplicates_exact_collapse_conflicting_refuse_never_by_row_order() -> None:
    from trade_pipeline.defs.bilateral_trade_flows.parse import resolve_duplicates

    def row(partner: int, value: float | None, **kw) -> dict:
        return {
            "reporter_code": 842,
            "partner_code": partner,
            "flow": "X",
            "year": 2024,
            "primary_value_usd": value,
            "cif_usd": None,
            "fob_usd": value,
            "review_flags": "",
            **kw,
        }

    rows = [
        row(156, 5.0),
        row(156, 5.0),  # the same row twice: kept once, a trace, no flag
        row(124, 3.0),
        row(124, 4.0),  # two values for one key: neither used
        row(392, 2.0),
        row(392, None, _placeholder=True),  # a refused copy: its twin cannot be trusted either
        row(410, 1.0),
    ]
    kept, items = resolve_duplicates(
        rows, ["reporter_code", "partner_code", "flow", "year"], "partner row", "comtrade_partner_flows"
    )
    by_partner = {r["partner_code"]: r for r in kept}
    assert sorted(by_partner) == [124, 156, 392, 410] and len(kept) == 4
    assert by_partner[156]["primary_value_usd"] == 5.0 and by_partner[156]["review_flags"] == ""
    assert by_partner[410]["primary_value_usd"] == 1.0
    for code in (124, 392):  # the key keeps its place, value unknown and flagged
        assert by_partner[code]["primary_value_usd"] is None and "quarantined_rows" in by_partner[code]["review_flags"]
    got = sorted((i.reason_code, i.action, dict(i.group)["reporter_code"]) for i in items)
    assert got == [("conflicting_duplicate", "rejected", 842)] * 3 + [("exact_duplicate", "collapsed", 842)]
