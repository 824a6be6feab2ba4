"""core/quarantine + the quarantined_rows asset: staging per fetching asset, union per week, counts and the
blocking 'groups flagged' safety net."""

from __future__ import annotations

import json

import polars as pl
import pytest
from dagster import DagsterInstance, materialize

from trade_pipeline.core import contract, quarantine
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.data_quality.assets import quarantined_rows

WEEK = "2026-01-26"
REQ = "GET https://comtradeapi.un.org/public/v1/preview/C/A/HS?flowCode=X&period=2024&reporterCode=842"


def _item(reason: str = "value_negative", action: str = quarantine.REJECTED, **group) -> quarantine.Quarantined:
    return quarantine.Quarantined(
        source="comtrade",
        request=REQ,
        row={"partnerCode": 156, "primaryValue": -5.0},
        reason_code=reason,
        reason="primaryValue is negative (-5.0)",
        group_table=contract.COMTRADE_PARTNER_FLOWS,
        group=group or {"reporter_code": 842, "flow": "X", "year": 2024},
        action=action,
        row_index=3,
    )


def test_wire_literals_survive_into_row_json() -> None:
    doc = quarantine.loads_keeping_literals('{"a": 1e400, "b": NaN, "c": -Infinity, "d": 1.5, "e": "1e400"}')
    assert isinstance(doc["a"], quarantine.WireNumber) and doc["a"].value == float("inf")
    assert doc["d"] == 1.5 and type(doc["d"]) is float
    text = quarantine.row_json(doc)
    assert text == '{"a": 1e400, "b": NaN, "c": -Infinity, "d": 1.5, "e": "1e400"}'


def test_unregistered_reason_or_action_is_refused() -> None:
    with pytest.raises(ValueError, match="unregistered"):
        _item(reason="because")
    with pytest.raises(ValueError, match="action"):
        _item(action="dropped")


def test_flag_groups_marks_only_the_groups_of_rejected_rows() -> None:
    df = pl.DataFrame(
        {
            "reporter_code": [842, 842, 156],
            "flow": ["X", "M", "X"],
            "year": [2024] * 3,
            "review_flags": ["", "truncated", None],
        }
    ).cast({"reporter_code": pl.Int32, "year": pl.Int32})
    items = [_item(), _item(action=quarantine.COLLAPSED, reporter_code=156, flow="X", year=2024)]
    cols = ["reporter_code", "flow", "year"]
    groups = quarantine.flagged_group_keys(items, contract.COMTRADE_PARTNER_FLOWS, cols)
    assert groups == {(842, "X", 2024)}
    out = quarantine.flag_groups(df, groups, cols)
    assert out["review_flags"].to_list() == ["quarantined_rows", "truncated", ""]


def _run(key: str = WEEK):
    return materialize(
        [quarantined_rows],
        resources={"warehouse": Warehouse()},
        partition_key=key,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _store_group(flags: str) -> None:
    wh = Warehouse()
    wh.replace_partition(
        contract.COMTRADE_PARTNER_FLOWS,
        WEEK,
        pl.DataFrame(
            {
                "reporter_code": [842, 842],
                "flow": ["X", "X"],
                "year": [2024, 2024],
                "partner_code": [156, 124],
                "review_flags": [flags, flags],
            }
        ),
    )


def test_asset_unions_contributors_counts_reasons_and_passes_when_groups_are_flagged() -> None:
    wh = Warehouse()
    _store_group("quarantined_rows")
    quarantine.write_staging(
        wh,
        contract.COMTRADE_PARTNER_FLOWS,
        {WEEK: quarantine.frame([_item(), _item("not_requested")], contract.COMTRADE_PARTNER_FLOWS)},
    )
    mofcom = quarantine.Quarantined(
        source="mofcom",
        request="POST http://x/list | columnID=9&pageNumber=1",
        row={"publishTimeStr": "2025-02-30"},
        reason_code="date_invalid",
        reason="list date 2025-02-30 is not a date",
        action=quarantine.REPAIRED,
        group_table=contract.MOFCOM_ANNOUNCEMENTS,
        group={"announcement_id": "mofcom-1"},
    )
    quarantine.write_staging(
        wh, contract.MOFCOM_ANNOUNCEMENTS, {WEEK: quarantine.frame([mofcom], contract.MOFCOM_ANNOUNCEMENTS)}
    )
    result = _run()
    assert result.success
    rows = wh.read_partition(contract.QUARANTINED_ROWS, WEEK)
    assert sorted(rows["reason_code"].to_list()) == ["date_invalid", "not_requested", "value_negative"]
    assert set(rows["source"]) == {"comtrade", "mofcom"}
    neg = rows.filter(pl.col("reason_code") == "value_negative").row(0, named=True)
    assert json.loads(neg["row_json"]) == {"partnerCode": 156, "primaryValue": -5.0}
    assert neg["request"] == REQ and neg["flag"] == "quarantined_rows"
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["no_quarantined_rows"].passed  # WARN: rows were quarantined, and the UI says how many
    counts = checks["no_quarantined_rows"].metadata["by_week_source_reason"].value
    assert {
        "week": "2026-W05",
        "source": "comtrade",
        "reason_code": "value_negative",
        "action": "rejected",
        "rows": 1,
    } in counts
    assert checks["quarantined_groups_flagged"].passed


def test_unflagged_group_fails_the_blocking_check() -> None:
    wh = Warehouse()
    _store_group("")
    quarantine.write_staging(
        wh, contract.COMTRADE_PARTNER_FLOWS, {WEEK: quarantine.frame([_item()], contract.COMTRADE_PARTNER_FLOWS)}
    )
    result = _run()
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["quarantined_groups_flagged"].passed
    assert checks["quarantined_groups_flagged"].metadata["problem_count"].value == 1


def test_a_clean_rerun_clears_the_week() -> None:
    wh = Warehouse()
    quarantine.write_staging(
        wh, contract.COMTRADE_PARTNER_FLOWS, {WEEK: quarantine.frame([_item()], contract.COMTRADE_PARTNER_FLOWS)}
    )
    quarantine.write_staging(wh, contract.COMTRADE_PARTNER_FLOWS, {WEEK: quarantine.empty()})
    assert _run().success
    assert wh.read_partition(contract.QUARANTINED_ROWS, WEEK).height == 0


def test_staging_is_refused_for_an_asset_the_collector_does_not_read() -> None:
    with pytest.raises(ValueError, match="QUARANTINE_CONTRIBUTORS"):
        quarantine.write_staging(Warehouse(), "some_new_asset", {WEEK: quarantine.empty()})
