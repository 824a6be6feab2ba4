"""The declared wire schema on crafted replies, and the embedded reference code table against the real files."""

from __future__ import annotations

import json
from pathlib import Path

from trade_pipeline.core.quarantine import loads_keeping_literals
from trade_pipeline.defs.bilateral_trade_flows.codes import REFERENCE_AREA_CODES, known_area_codes
from trade_pipeline.defs.bilateral_trade_flows.resources import FetchResult
from trade_pipeline.defs.bilateral_trade_flows.validate import check_replies

KEY = ("GET https://comtradeapi.un.org/public/v1/preview/C/A/HS?cmdCode=TOTAL&customsCode=C00&flowCode=X&"
       "motCode=0&partner2Code=0&period=2024&reporterCode=842")


def _row(**kw) -> dict:
    return {"reporterCode": 842, "partnerCode": 156, "flowCode": "X", "refYear": 2024, "period": "2024",
            "cmdCode": "TOTAL", "customsCode": "C00", "motCode": 0, "partner2Code": 0, "primaryValue": 1.0e9,
            "isAggregate": False, **kw}


def test_each_rule_refuses_its_rows_and_keeps_the_rest() -> None:
    rows = [_row(), _row(partnerCode="0124"), _row(primaryValue=-1.0), _row(primaryValue="NaN"),
            _row(refYear=2023, period="2023"), _row(partnerCode=97, isAggregate=True), _row(partnerCode=9999),
            _row(reporterCode="84x"), _row(cmdCode="85"), _row(partnerCode=0, isAggregate=True),
            loads_keeping_literals(json.dumps(_row()).replace("1000000000.0", "1e400"))]
    result = FetchResult("partner_totals", "preview", KEY, "rid", "", rows, len(rows))
    checked = check_replies([result], "comtrade_partner_flows")[0]
    assert checked.accepted == (0, 1, 9)  # '0124' is a code; World with isAggregate is the total row
    reasons = {q.row_index: q.reason_code for q in checked.quarantined}
    assert reasons == {2: "value_negative", 3: "value_not_numeric", 4: "not_requested", 5: "aggregate_partner",
                       6: "unknown_partner_code", 7: "code_invalid", 8: "not_requested", 10: "value_not_finite"}
    assert all(dict(q.group) == {"reporter_code": 842, "flow": "X", "year": 2024} for q in checked.quarantined)


def test_embedded_reference_codes_equal_the_reference_files(realdata: Path) -> None:
    ref = realdata / "comtrade" / "reference"
    partners = {int(x["id"]) for x in json.loads((ref / "partnerAreas.json").read_text("utf-8"))["results"]}
    reporters = {int(x["reporterCode"]) for x in json.loads((ref / "v1_Reporters.json").read_text("utf-8"))["results"]
                 if not x["isGroup"]}
    assert REFERENCE_AREA_CODES == partners | reporters
    assert {97, 975} & known_area_codes() == set()
