"""Issue 12, Comtrade half + MOFCOM dates: one damaged reply at a time, in a copy of the embedded sample.

Each class damages ONE reply of week 2026-W05 (US 842 exports 2024, unless stated) and asserts, at the layer:
the run succeeds, the quarantine row (source, request, row as received, reason), and the flags on the stored rows of
comtrade_partner_flows → partner_rankings / trade_balances / market_concentration. Then the generic report diff
(report_diff.py) renders W05 (briefing_facts → trade_briefing: render, verify, publish) from the undamaged and the
damaged captures and asserts that the damage reached the report, that every line whose figures changed carries
[REVIEW_NEEDED] or a withheld note, and that the flag's reason is printed in words. A genuine swing (a partner ×2,
World moving with it) is data: flagged by the YoY rule (NOTICE), the week publishes and says so in words.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance, materialize

from trade_pipeline.core import contract
from trade_pipeline.core.formatting import format_as
from trade_pipeline.core.paths import sample_captures_dir
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.definitions import defs
from trade_pipeline.defs.bilateral_trade_flows.assets import ASSETS as COMTRADE_ASSETS
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.cn_export_control.assets import ASSETS as MOFCOM_ASSETS
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.data_quality.assets import quarantined_rows
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient
from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.report_diff import REVIEW, changed_lines, figures, unmarked_changes

WEEK = "2026-01-26"  # 2026-W05
REPORT = "site/Narrator/trade_briefing/2026-W05-trade-briefing.md"
RUN_CONFIG = {
    "ops": {"trade_briefing": {"config": {"generated_at": "2026-01-28T12:00:00Z"}}},
    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
}
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
#: the report: its charts, its facts (recomputed from the layer tables) and the render → verify → publish step
BRIEFING = [
    a
    for a in defs.assets
    if any(k.to_user_string() in (contract.BRIEFING_CHARTS, contract.BRIEFING_FACTS, "trade_briefing") for k in a.keys)
]


def flags(value: str | None) -> set[str]:
    return {f for f in (value or "").split(";") if f}


# ---------------------------------------------------------------------------------------------------------------------
# damage: one reply of a copy of the sample captures


def capture_of(root: Path, source: str = "comtrade", **params: str) -> Path:
    for path in sorted((root / source).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        got = dict(doc["request"]["params"])
        if all(got.get(k) == v for k, v in params.items()) and ("reporterCode" in got) == ("reporterCode" in params):
            return path
    raise LookupError(params)


US_X_2024 = {"reporterCode": "842", "flowCode": "X", "period": "2024", "cmdCode": "TOTAL"}


def edit_rows(
    change: Callable[[list[dict]], None], text: Callable[[str], str] | None = None, params: dict | None = None
) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        path = capture_of(root, **(params or US_X_2024))
        doc = json.loads(path.read_text(encoding="utf-8"))
        body = json.loads(doc["response"]["body"])
        change(body["data"])
        body["count"] = len(body["data"])
        raw = json.dumps(body)
        doc["response"]["body"] = text(raw) if text else raw
        path.write_text(json.dumps(doc), encoding="utf-8")

    return damage


def partner(rows: list[dict], code: int) -> dict:
    return next(r for r in rows if r["partnerCode"] == code)


def set_value(code: int, value: object) -> Callable[[list[dict]], None]:
    return lambda rows: partner(rows, code).update(primaryValue=value, fobvalue=value)


def _add_row(code: int, desc: str, value: float, aggregate: bool = False) -> Callable[[list[dict]], None]:
    def change(rows: list[dict]) -> None:
        extra = dict(
            partner(rows, 156),
            partnerCode=code,
            partnerISO="EUR" if aggregate else "XXX",
            partnerDesc=desc,
            primaryValue=value,
            fobvalue=value,
            isAggregate=aggregate,
        )
        rows.append(extra)

    return change


def _other_year(rows: list[dict]) -> None:
    for r in rows:  # the server answered 2023 to a request for 2024
        r.update(refYear=2023, period="2023", refPeriodId=20230101)


def _conflicting(rows: list[dict]) -> None:
    rows.append(dict(partner(rows, 156), primaryValue=partner(rows, 156)["primaryValue"] * 0.5))


def _exact(rows: list[dict]) -> None:
    rows.append(dict(partner(rows, 156)))


def _string_codes(rows: list[dict]) -> None:
    for r in rows:
        r.update(reporterCode="0842", partnerCode=f"{r['partnerCode']:03d}")


def _bad_code(rows: list[dict]) -> None:
    partner(rows, 124).update(partnerCode="12x")


def _exceed_world(rows: list[dict]) -> None:
    p = partner(rows, 124)
    p.update(primaryValue=p["primaryValue"] * 20, fobvalue=p["primaryValue"] * 20)


def _swing(rows: list[dict]) -> None:
    p, world = partner(rows, 156), partner(rows, 0)
    delta = p["primaryValue"]  # ×2, and World moves with it
    p.update(primaryValue=p["primaryValue"] + delta, fobvalue=p["primaryValue"] + delta)
    world.update(primaryValue=world["primaryValue"] + delta, fobvalue=world["primaryValue"] + delta)


def _corrupt(root: Path) -> None:
    path = capture_of(root, **US_X_2024)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["response"]["body"] = doc["response"]["body"][:5000]  # cut mid-reply: not JSON any more
    path.write_text(json.dumps(doc), encoding="utf-8")


SENTINEL = 123456789.25

# class → (damage, reason quarantined or None, flag expected on (842, X, 2024) rows, report xfail?)
CASES: dict[str, tuple[Callable[[Path], None], str | None, str | None]] = {
    "value_negative": (edit_rows(set_value(156, -1.5e11)), "value_negative", "quarantined_rows"),
    "value_nan_string": (edit_rows(set_value(156, "NaN")), "value_not_numeric", "quarantined_rows"),
    "value_1e400": (
        edit_rows(set_value(156, SENTINEL), text=lambda t: t.replace(str(SENTINEL), "1e400")),
        "value_not_finite",
        "quarantined_rows",
    ),
    "value_string_number": (edit_rows(set_value(156, "1.5e11")), "value_not_numeric", "quarantined_rows"),
    "reply_for_another_year": (edit_rows(_other_year), "not_requested", "reply_mismatch"),
    "aggregate_partner": (
        edit_rows(_add_row(97, "European Union", 9e11, aggregate=True)),
        "aggregate_partner",
        "quarantined_rows",
    ),
    "unknown_partner_code": (edit_rows(_add_row(9999, "Nowhere", 9e11)), "unknown_partner_code", "quarantined_rows"),
    "partners_exceed_world": (edit_rows(_exceed_world), None, "partners_exceed_world"),
    "conflicting_duplicate": (edit_rows(_conflicting), "conflicting_duplicate", "quarantined_rows"),
    "invalid_code": (edit_rows(_bad_code), "code_invalid", "quarantined_rows"),
    "corrupt_capture": (_corrupt, "reply_unreadable", "partial_http_failure"),
}


# ---------------------------------------------------------------------------------------------------------------------
# runs


def _resources(captures: Path) -> dict:
    return {
        "warehouse": Warehouse(),
        "site": Site(),
        "comtrade": ComtradeClient(capture_dir=str(captures)),
        "census": CensusTradeClient(),
        "mofcom": MofcomClient(capture_dir=str(captures)),
    }


@pytest.fixture(scope="module")
def undamaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """W05 of the whole graph (report included) from the undamaged sample, once per module."""
    data = tmp_path_factory.mktemp("undamaged") / "data"
    data.mkdir()
    with support.data_dir_env(data):
        result = materialize(
            list(defs.assets),
            resources=_resources(sample_captures_dir()),
            partition_key=WEEK,
            run_config=RUN_CONFIG,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=True,
        )
        assert result.success
    return data


def damaged_run(undamaged: Path, data: Path, captures: Path, damage: Callable[[Path], None]):
    """The undamaged world, then the Comtrade layer + quarantined_rows re-run on the damaged captures."""
    shutil.copytree(undamaged, data, dirs_exist_ok=True)
    shutil.copytree(sample_captures_dir() / "comtrade", captures / "comtrade", dirs_exist_ok=True)
    damage(captures)
    return materialize(
        [*COMTRADE_ASSETS, quarantined_rows],
        resources=_resources(captures),
        partition_key=WEEK,
        run_config=QUIET,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@dataclass
class Damaged:
    """One case's damaged world: the undamaged W05, then the Comtrade layer + quarantined_rows re-run on its damaged
    captures. Built once per case for the module; the tests only read it (the report test renders a copy)."""

    case: str
    data: Path
    captures: Path
    success: bool


@pytest.fixture(scope="module", params=list(CASES))
def damaged(request: pytest.FixtureRequest, undamaged: Path, tmp_path_factory: pytest.TempPathFactory) -> Damaged:
    case = request.param
    root = tmp_path_factory.mktemp(f"damaged-{case}")
    data = root / "data"
    data.mkdir()
    with support.data_dir_env(data):
        result = damaged_run(undamaged, data, root / "captures", CASES[case][0])
    return Damaged(case, data, root / "captures", result.success)


def render(captures: Path) -> None:
    result = materialize(
        BRIEFING,
        resources=_resources(captures),
        partition_key=WEEK,
        run_config=RUN_CONFIG,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success, "the report did not render"


def comtrade_quarantine() -> pl.DataFrame:
    return Warehouse().read_partition("quarantined_rows", WEEK).filter(pl.col("source") == "comtrade")


def group_rows(table: str, reporter: int = 842, flow: str | None = "X", year: int = 2024) -> pl.DataFrame:
    df = Warehouse().read_partition(table, WEEK)
    df = df.filter((pl.col("reporter_code") == reporter) & (pl.col("year") == year))
    return df.filter(pl.col("flow") == flow) if flow else df


# ---------------------------------------------------------------------------------------------------------------------
# layer: run success, quarantine row, flags on every derived row


def test_damaged_reply_is_quarantined_and_flags_every_derived_row(
    damaged: Damaged, undamaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = damaged.case
    _, reason, flag = CASES[case]
    assert damaged.success  # a finding, never a crash
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(damaged.data))  # read only

    q = comtrade_quarantine()
    if reason is None:
        assert q.filter(pl.col("action") != "collapsed").is_empty()
    else:
        hit = q.filter(pl.col("reason_code") == reason)
        assert hit.height >= 1, q.select("reason_code", "reason").rows()
        row = hit.row(0, named=True)
        assert row["source"] == "comtrade" and row["asset"] == "comtrade_partner_flows"
        assert (
            "reporterCode=842" in row["request"] and "period=2024" in row["request"] and "flowCode=X" in row["request"]
        )
        assert json.loads(row["group_key"]) == {"reporter_code": 842, "flow": "X", "year": 2024}
        assert row["row_json"] and row["reason"]
        if case == "value_1e400":
            assert '"primaryValue": 1e400' in row["row_json"]  # the literal as sent, not inf
        if case == "value_nan_string":
            assert '"primaryValue": "NaN"' in row["row_json"]

    # the flag on the stored rows and on every row derived from the group
    flows = group_rows("comtrade_partner_flows")
    conc = group_rows("market_concentration")
    ranks = group_rows("partner_rankings")
    bal = group_rows("trade_balances", flow=None)
    assert conc.height == 1 and flag in flags(conc["review_flags"][0]), conc["review_flags"].to_list()
    assert conc["confidence"][0] == "低" or flag == "partners_exceed_world"
    assert bal.height > 0 and all(flag in flags(f) for f in bal["review_flags"].to_list())
    assert all(flag in flags(f) for f in ranks["review_flags"].to_list())
    assert all(flag in flags(f) for f in flows["review_flags"].to_list())
    if ranks.height:  # what is ranked is a country, never an aggregate, an unknown code or a refused row
        assert not set(ranks["partner_code"].to_list()) & {97, 9999, 0}
        assert ranks["share_pct"].max() <= 100 and ranks["share_pct"].min() >= 0
    if case in ("value_negative", "value_nan_string", "value_1e400", "value_string_number", "conflicting_duplicate"):
        assert 156 not in ranks["partner_code"].to_list()  # the refused value is never used, by row order or else
    if conc["hhi"][0] is not None:
        n = conc["partner_count"][0]
        assert 10_000 / n - 1e-6 <= conc["hhi"][0] <= 10_000 + 1e-6
    if case in ("reply_for_another_year", "corrupt_capture"):
        # the request counts as not answered: no figure for 2024 exports, never 2023 data in its place
        assert conc["hhi"][0] is None and flows.is_empty()
        world = bal.filter(pl.col("partner_code") == 0).row(0, named=True)
        assert world["export_usd"] is None and world["balance_usd"] is None  # never "exports 0"
        assert {"quarantined_rows"} <= flags(conc["review_flags"][0])
        base = Warehouse(path=str(undamaged / "warehouse.duckdb")).read_partition("comtrade_partner_flows", WEEK)
        base_2023 = base.filter((pl.col("reporter_code") == 842) & (pl.col("flow") == "X") & (pl.col("year") == 2023))
        assert group_rows("comtrade_partner_flows", year=2023).height == base_2023.height  # no 2023 rows added
    # the untouched groups stay as they were: no flag leaks to another reporter
    other = Warehouse().read_partition("market_concentration", WEEK).filter(pl.col("reporter_code") == 156)
    assert not any(flag in flags(f) for f in other["review_flags"].to_list())


def test_exact_duplicate_is_collapsed_with_a_trace(undamaged: Path, isolated_data_dir: Path, tmp_path: Path) -> None:
    result = damaged_run(undamaged, isolated_data_dir, tmp_path / "captures", edit_rows(_exact))
    assert result.success
    q = comtrade_quarantine()
    assert q.select("reason_code", "action", "flag").rows() == [("exact_duplicate", "collapsed", "")]
    conc = group_rows("market_concentration")
    assert flags(conc["review_flags"][0]) == set()  # same figures as undamaged: nothing to review
    assert group_rows("partner_rankings").filter(pl.col("partner_code") == 156).height == 1


def test_codes_as_strings_are_normalised(undamaged: Path, isolated_data_dir: Path, tmp_path: Path) -> None:
    result = damaged_run(undamaged, isolated_data_dir, tmp_path / "captures", edit_rows(_string_codes))
    assert result.success
    assert comtrade_quarantine().is_empty()
    conc = group_rows("market_concentration").row(0, named=True)
    base = (
        Warehouse(path=str(undamaged / "warehouse.duckdb"))
        .read_partition("market_concentration", WEEK)
        .filter((pl.col("reporter_code") == 842) & (pl.col("flow") == "X") & (pl.col("year") == 2024))
        .row(0, named=True)
    )
    assert conc["hhi"] == pytest.approx(base["hhi"]) and conc["review_flags"] == ""


def test_genuine_swing_is_data_flagged_notice_and_publishes(
    undamaged: Path, isolated_data_dir: Path, tmp_path: Path
) -> None:
    result = damaged_run(undamaged, isolated_data_dir, tmp_path / "captures", edit_rows(_swing))
    assert result.success
    assert comtrade_quarantine().is_empty()  # nothing quarantined
    china = group_rows("partner_rankings").filter(pl.col("partner_code") == 156).row(0, named=True)
    assert china["yoy_pct"] > 50 and flags(china["review_flags"]) == {"yoy_gt_50pct"}  # NOTICE, this row only
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert all(c.passed for c in checks.values() if c.blocking)  # no invariant blocks the week
    render(tmp_path / "captures")  # and it publishes (verified figure by figure)
    report = (isolated_data_dir / REPORT).read_text(encoding="utf-8")
    before = (undamaged / REPORT).read_text(encoding="utf-8")
    # the swung figure is marked where it is printed, and the reason is said in words, beside the statement and
    # under 數據期間與限制
    printed = [f"{format_as(kind, china['value_usd'])} {REVIEW}" for kind in ("usd", "usd_amount")]  # prose, table
    assert any(p in report for p in printed), printed
    words = contract.flag_info("yoy_gt_50pct").zh
    assert report.count(words) >= 2 and report.count(words) > before.count(words)
    # it is data, not a fault: no quality finding appears that the undamaged week did not have
    for code, info in contract.FLAGS.items():
        if info.kind == contract.QUALITY:
            assert report.count(info.zh) == before.count(info.zh), code


# ---------------------------------------------------------------------------------------------------------------------
# report: every changed line marked (generic diff against the undamaged render)


def test_every_changed_report_line_is_marked(damaged: Damaged, undamaged: Path, isolated_data_dir: Path) -> None:
    case = damaged.case
    assert damaged.success
    shutil.copytree(damaged.data, isolated_data_dir, dirs_exist_ok=True)  # this test renders into its own copy
    render(damaged.captures)
    before = (undamaged / REPORT).read_text(encoding="utf-8")
    after = (isolated_data_dir / REPORT).read_text(encoding="utf-8")
    # the damage reached the report: a figure changed, or (rows refused before they were counted) the same figures
    # now carry the group's flag
    assert changed_lines(before, after) or after.count(REVIEW) > before.count(REVIEW), (
        "the damage changed nothing in the report: the case tests nothing"
    )
    bad = unmarked_changes(before, after)
    assert not bad, "\n".join(f"- {c.old!r}\n+ {c.new!r}" for c in bad[:10])
    words = contract.flag_info(CASES[case][2]).zh  # and the reason is said in words (數據期間與限制)
    assert after.count(words) > before.count(words), words
    if case in ("reply_for_another_year", "corrupt_capture"):
        # US 2024 exports could not compete in the choices made among reporters (lowest/highest HHI, the largest
        # surplus): whoever was chosen, the answer may be wrong, so the chosen figures carry the flag
        facts = Warehouse().read_partition(contract.BRIEFING_FACTS, WEEK)
        chosen = facts.filter(
            pl.col("slot").is_in(["concentration.low.hhi", "concentration.high.hhi", "summary.surplus.balance"])
        )
        assert chosen.height == 3, chosen["slot"].to_list()
        assert all(contract.quality_flags(flags(f)) for f in chosen["review_flags"].to_list()), chosen.rows()


def test_report_diff_helper_finds_unmarked_figures() -> None:
    before = "# t\n出口 1,000 億\n進口 900 億\n說明\n"
    after = "# t\n出口 1,500 億 [REVIEW_NEEDED]\n進口 950 億\n說明\n"
    assert [c.new for c in changed_lines(before, after)] == ["出口 1,500 億 [REVIEW_NEEDED]", "進口 950 億"]
    assert [c.new for c in unmarked_changes(before, after)] == ["進口 950 億"]
    assert [c.old for c in unmarked_changes(before, "# t\n說明\n")] == ["出口 1,000 億", "進口 900 億"]


def test_report_diff_helper_counts_figures_not_layout() -> None:
    """An item inserted above renumbers the list and a cited file name changes its year: no figure changed there.
    A wording change around the same figures is not a figure change; a renumbered item whose figure moved is."""
    before = (
        "1. **甲** — 占比 20.06%。\n   *依據：Extractor/x/842-export-2024.md*\n\n"
        "2. **乙** — 2 筆公告。\n台灣 HHI 為 1264.16，為各報告國中最高。\n"
    )
    after = (
        "1. **新** — 說明。\n   *依據：Extractor/x/842-export-2023.md*\n\n"
        "2. **甲** — 占比 20.06%。\n   *依據：Extractor/x/842-export-2024.md*\n\n"
        "3. **乙** — 3 筆公告。\n台灣 HHI 為 1264.16。\n"
    )
    assert [(c.old, c.new) for c in changed_lines(before, after)] == [
        ("2. **乙** — 2 筆公告。", "3. **乙** — 3 筆公告。")
    ]
    assert figures("10. **乙** — 2 筆（Extractor/a/156-balance-2024.md）") == ("2",)
    # a table sorted by a figure: the row that moved is paired with itself, and its changed figures must be marked
    table = "| 國家 | HHI |\n|---|---:|\n| 中國 | 436.43 |\n| 美國 | 713.24 |\n| 台灣 | 1264.16 |\n"
    moved = "| 國家 | HHI |\n|---|---:|\n| 中國 | 436.43 |\n| 台灣 | 1264.16 |\n| 美國 | 6487.70 |\n"
    assert [(c.old, c.new) for c in unmarked_changes(table, moved)] == [("| 美國 | 713.24 |", "| 美國 | 6487.70 |")]
    assert unmarked_changes(table, moved.replace("6487.70", "6487.70 [REVIEW_NEEDED]")) == []
    # a source-note number is a reference, not a figure; an item inserted above (its neighbours separated by blank
    # lines) leaves every later item paired with itself, so only a real figure change counts
    items = "1. **甲** — 占比 20.06%。〔1〕\n\n2. **乙** — 日本 17.79%。〔2〕\n"
    inserted = "1. **新** — 美國 30.00%。〔1〕\n\n2. **甲** — 占比 20.06%。〔2〕\n\n3. **乙** — 日本 17.79%。〔3〕\n"
    assert [(c.old, c.new) for c in changed_lines(items, inserted)] == [(None, "1. **新** — 美國 30.00%。〔1〕")]


# ---------------------------------------------------------------------------------------------------------------------
# MOFCOM: an impossible or disagreeing date never drops the announcement


def _mofcom_damage(root: Path, list_date: str | None, page_date: str | None) -> str:
    """Give the first announcement of the W05 list an impossible/other date on its list row and/or page."""
    shutil.copytree(sample_captures_dir() / "mofcom", root / "mofcom", dirs_exist_ok=True)
    for path in sorted((root / "mofcom").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        form = doc["request"].get("form") or {}
        if form.get("columnID") == "9" and form.get("pageNumber") == "1":
            body = json.loads(doc["response"]["body"])
            # the newest announcement already published by the end of W05 (so it is one of W05's rows)
            row = next(r for r in body["pageInfo"]["rows"] if r["publishTimeStr"][:10] <= "2026-02-01")
            url, old = row["url"], row["publishTimeStr"]
            if list_date:
                row["publishTimeStr"] = list_date
            doc["response"]["body"] = json.dumps(body, ensure_ascii=False)
            path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            break
    else:
        raise LookupError("column 9 page 1")
    if page_date:
        for path in sorted((root / "mofcom").glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc["request"]["url"].endswith(url.rsplit("/", 1)[-1]) and "publishTime" in (
                doc["response"].get("body") or ""
            ):
                doc["response"]["body"] = doc["response"]["body"].replace(old[:10], page_date)
                path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return url


@pytest.mark.parametrize(
    "list_date,page_date,flag,reason",
    [
        ("2025-02-30 00:00:00", "2025-02-30", "publish_date_invalid", "date_invalid"),
        ("2025-02-30 00:00:00", None, "publish_date_invalid", "date_invalid"),
        # the page says it was published after the list showed it (and after the week's end): the earlier date is used,
        # so the announcement stays in the week
        (None, "2026-03-01", "publish_date_conflict", "date_conflict"),
        # the list lagging the page (as 1072 in the sample): the page's date is right, a NOTICE, nothing quarantined
        (None, "2024-01-01", "list_date_later", None),
    ],
)
def test_mofcom_bad_date_keeps_the_announcement(list_date, page_date, flag, reason, tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    resources = {"warehouse": Warehouse(), "site": Site(), "mofcom": MofcomClient(capture_dir=str(captures))}
    clean = materialize(
        MOFCOM_ASSETS[:1],
        resources={**resources, "mofcom": MofcomClient()},
        partition_key=WEEK,
        run_config=QUIET,
        instance=DagsterInstance.ephemeral(),
    )
    assert clean.success
    n_clean = Warehouse().read_partition("mofcom_announcements", WEEK).height
    url = _mofcom_damage(captures, list_date, page_date)
    result = materialize(
        [*MOFCOM_ASSETS[:1], quarantined_rows],
        resources=resources,
        partition_key=WEEK,
        run_config=QUIET,
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    ann = Warehouse().read_partition("mofcom_announcements", WEEK)
    assert ann.height == n_clean  # 31 stays 31
    number = url.rsplit("/", 1)[-1].split(".")[0]
    row = ann.filter(pl.col("announcement_id") == f"mofcom-{number}").row(0, named=True)
    mine = (
        Warehouse()
        .read_partition("quarantined_rows", WEEK)
        .filter(pl.col("group_key") == json.dumps({"announcement_id": f"mofcom-{number}"}))
    )
    if reason is None:  # a NOTICE on this row only: the date is right, nothing was refused
        assert flag in flags(row["review_flags"]) and contract.quality_flags(flags(row["review_flags"])) == []
        assert mine.is_empty()
        assert str(row["publish_date"]) == page_date  # the page's date
        return
    assert {flag, "quarantined_rows"} <= flags(row["review_flags"])
    q = mine.filter(pl.col("reason_code") == reason)
    assert q.height >= 1 and q["source"][0] == "mofcom" and q["action"][0] == "repaired"
    if list_date:
        assert "2025-02-30" in q["row_json"][0]  # what was received
    if flag == "publish_date_conflict":
        assert str(row["publish_date"]) == "2026-01-06"  # the earlier of the two (the list's)
        assert "2026-03-01" in q["row_json"][0] and "2026-01-06" in q["row_json"][0]  # both, as received


@pytest.mark.parametrize(
    "list_date,page_date",
    [("2025-02-30 00:00:00", "2025-02-30"), ("2025-02-30 00:00:00", None), (None, "2026-03-01")],
    ids=["both_invalid", "list_invalid", "page_later"],
)
def test_a_mofcom_bad_date_marks_every_changed_report_line(
    list_date, page_date, undamaged: Path, isolated_data_dir: Path, tmp_path: Path
) -> None:
    """The MOFCOM layer re-run on the damaged captures, then the rest of the graph: in both editions every line whose
    figures (dates, counts) changed carries [REVIEW_NEEDED] or a withheld note. (A list lagging its page is a NOTICE:
    the page's date is right and prints unmarked.)"""
    shutil.copytree(undamaged, isolated_data_dir, dirs_exist_ok=True)
    captures = tmp_path / "captures"
    _mofcom_damage(captures, list_date, page_date)
    result = materialize(
        [*MOFCOM_ASSETS, quarantined_rows],
        resources={"warehouse": Warehouse(), "site": Site(), "mofcom": MofcomClient(capture_dir=str(captures))},
        partition_key=WEEK,
        run_config=QUIET,
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    support.render_rest_of_graph(WEEK)
    for edition in support.EDITIONS:
        before = support.report_text(undamaged, WEEK, edition)
        after = support.report_text(isolated_data_dir, WEEK, edition)
        assert changed_lines(before, after) or after.count(REVIEW) > before.count(REVIEW), f"{edition}: tests nothing"
        bad = unmarked_changes(before, after)
        assert not bad, f"{edition}:\n" + "\n".join(f"- {c.old!r}\n+ {c.new!r}" for c in bad[:10])
