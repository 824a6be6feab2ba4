"""Table-driven fault injection, per source: every fault ends in a retry that succeeds, a [REVIEW_NEEDED] flag, or a
clear error naming the source and the request — and no other partition loses or gains a row.

Baseline: weeks A (2026-W04) and B (2026-W05) of all three layers replayed from the embedded sample. Each case then
re-runs week B of one layer with a fault and compares DuckDB row counts per table per week with the baseline:

- week A of every table: identical (nothing lost, nothing duplicated);
- week B of the other layers' tables: identical;
- week B of the faulty layer: identical with no new flags (``retry``), completed with flags (``flag``), or — when
  the run failed — exactly its previous content (``error``).

Transport faults (429, 5xx, reset, read timeout) are served live by a loopback server that answers from the
sample captures; content faults are recorded responses rewritten in a temp copy of the captures (replay mode).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from trade_pipeline.core import contract
from trade_pipeline.core.http import request_key
from trade_pipeline.core.partitions import as_of_instant
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.fetch import candidate_years
from trade_pipeline.defs.bilateral_trade_flows.resources import AVAILABILITY_PATH, availability_params
from trade_pipeline.defs.cn_export_control.resources import LIST_PATH
from trade_pipeline.defs.us_trade_census import release_calendar
from trade_pipeline.defs.us_trade_census.resources import PARTNERS, CensusRequest, CensusTradeClient
from trade_pipeline_tests.reliability import support
from trade_pipeline_tests.reliability.report_diff import REVIEW, changed_lines, unmarked_changes
from trade_pipeline_tests.reliability.support import (
    CANONICAL,
    CENSUS_ROOT,
    LAYER_TABLES,
    WEEK_A,
    WEEK_B,
    Fault,
    reset_connection,
    respond,
)

HOSTILE_TITLE = "商务部公告2026年第5号 <script>alert(1)</script> {{ config.items() }} {% raw %} | 锂电池 | 正极材料"
MOJIBAKE = "å•†åŠ¡éƒ¨å…¬å‘Š2025å¹´ç¬¬61å·"  # '商务部公告2025年第61号' as UTF-8 read as CP1252


# --- which request each case hits ---------------------------------------------------------------------------------


def comtrade_partner_request(base_data: Path) -> str:
    """A week-B partner-totals request of the baseline (its key, from comtrade_requests): US exports of the latest
    year, the series the report prints (an earlier year's reply would reach only comparisons)."""
    wh = Warehouse(path=str(base_data / "warehouse.duckdb"))
    df = wh.query(
        "SELECT request FROM comtrade_requests WHERE week_start = ?::DATE AND kind = 'partner_totals' "
        "AND status = 'ok' AND reporter_code = 842 AND flow = 'X' ORDER BY year DESC LIMIT 1",
        [WEEK_B],
    )
    return df["request"][0]


def comtrade_availability_request() -> str:
    return request_key("GET", CANONICAL["comtrade"] + AVAILABILITY_PATH, availability_params(candidate_years(WEEK_B)))


def census_request(flow: str = "export", level: str = "HS2") -> str:
    year, month = release_calendar.latest_released_month(as_of_instant(WEEK_B).date())
    req = CensusRequest(flow=flow, level=level, year=year, first_month=1, last_month=month)
    params = CensusTradeClient().request_params(req, list(PARTNERS))
    return request_key("GET", f"{CANONICAL['census']}{CENSUS_ROOT}/{flow}s/hs", params)


def mofcom_list_request(column: int = 9, page: int = 1) -> str:
    return request_key(
        "POST", CANONICAL["mofcom"] + LIST_PATH, [], {"pageNumber": str(page), "columnID": str(column), "title": ""}
    )


def mofcom_ok_article(base_data: Path) -> tuple[str, str]:
    """(announcement_id, url) of a week-B announcement whose article was fetched fine in the baseline."""
    wh = Warehouse(path=str(base_data / "warehouse.duckdb"))
    row = wh.query(
        "SELECT announcement_id, url FROM mofcom_announcements WHERE week_start = ?::DATE "
        "AND fetch_status = 'ok' AND review_flags = '' ORDER BY announcement_id LIMIT 1",
        [WEEK_B],
    ).row(0)
    return row[0], row[1]


def request_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# --- content faults on recorded exchanges (replay) ------------------------------------------------------------------


def _json_edit(fn: Callable[[dict], None]) -> Callable[[str], str]:
    def edit(body: str) -> str:
        doc = json.loads(body)
        fn(doc)
        return json.dumps(doc, ensure_ascii=False)

    return edit


def _truncate(body: str) -> str:
    return body[: len(body) // 2]


def _set_count(value: int) -> Callable[[dict], None]:
    def fn(doc: dict) -> None:
        doc["count"] = value

    return fn


def _list_add_row(title: str, url: str) -> Callable[[dict], None]:
    def fn(doc: dict) -> None:
        doc["pageInfo"]["rows"].insert(
            1,
            {
                "id": 1301,
                "title": title,
                "url": url,
                "publishTimeStr": "2026-01-27 00:00:00",
                "source": "商务部",
                "content": "",
                "columnName": "管制清单",
            },
        )

    return fn


def _list_retitle(title: str) -> Callable[[dict], None]:
    def fn(doc: dict) -> None:
        doc["pageInfo"]["rows"][1]["title"] = title

    return fn


ARTICLE_1301 = "/article/zcfg/gnzcfg/zcfggzqd/202601/1301.html"


def _article_page(title: str, body_html: str) -> str:
    return (
        f"<html><head><title>{title}</title></head><body><div class=\"u-art-box\"><script>var title = '{title}'; "
        f"var source = '商务部'; var publishTime = '2026-01-27';</script>{body_html}"
        '<div class="u-disclaimer-box">免责声明</div></div></body></html>'
    )


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    fault: str
    outcome: str  # 'retry' | 'flag' | 'error'
    mode: str  # 'live' | 'replay'
    flag: str = ""  # expected review flag code (outcome 'flag')
    flag_table: str = ""  # table whose week-B rows carry it
    failed_check: str = ""  # WARN check expected to fail (outcome 'flag')
    error_text: tuple[str, ...] = ()  # fragments of the error (outcome 'error')


# Live (loopback) transport faults: the first hit of one request misbehaves, the retry gets the recorded answer.
def _transient(source: str) -> list[Case]:
    return [
        Case(f"{source}-{f}", source, f, "retry", "live")
        for f in ("429_retry_after", "429_no_retry_after", "500", "502", "503", "connection_reset", "read_timeout")
    ]


LIVE_MATCH = {
    "comtrade": lambda k: "/preview/" in k and "reporterCode=842" in k and "flowCode=X" in k,
    "census": lambda k: "/exports/hs" in k and "COMM_LVL=HS2" in k,
    "mofcom": lambda k: "getColumnList" in k and "columnID=9" in k and "pageNumber=1" in k,
}

CASES: list[Case] = [
    *_transient("comtrade"),
    *_transient("census"),
    *_transient("mofcom"),
    # persistent transport faults
    Case(
        "comtrade-503_forever",
        "comtrade",
        "503 on every attempt",
        "flag",
        "live",
        "partial_http_failure",
        "market_concentration",
        "market_concentration:no_missing_groups",
    ),
    Case(
        "census-500_forever",
        "census",
        "500 on every attempt",
        "flag",
        "live",
        "partial_fetch",
        "census_release_status",
        "census_monthly_flows:census_fetch_complete",
    ),
    Case(
        "census-503_all_requests",
        "census",
        "503 on every request of the week",
        "error",
        "live",
        error_text=("[census]", "every request failed", "giving up"),
    ),
    Case(
        "mofcom-list_503_forever",
        "mofcom",
        "503 on every attempt (list page)",
        "error",
        "live",
        error_text=("[mofcom]", "getColumnList", "columnID=9", "HTTP 503"),
    ),
    Case(
        "mofcom-article_503_forever",
        "mofcom",
        "503 on every attempt (article)",
        "flag",
        "live",
        "title_only",
        "mofcom_announcements",
        "mofcom_announcements:article_text_fetched",
    ),
    # Comtrade content faults
    Case(
        "comtrade-truncated_json",
        "comtrade",
        "truncated JSON",
        "flag",
        "replay",
        "partial_http_failure",
        "market_concentration",
        "market_concentration:no_missing_groups",
    ),
    Case(
        "comtrade-wrong_shape",
        "comtrade",
        "valid JSON, wrong shape",
        "flag",
        "replay",
        "partial_http_failure",
        "market_concentration",
        "market_concentration:no_missing_groups",
    ),
    Case(
        "comtrade-empty_body",
        "comtrade",
        "empty body",
        "flag",
        "replay",
        "partial_http_failure",
        "market_concentration",
        "market_concentration:no_missing_groups",
    ),
    Case(
        "comtrade-count_eq_cap",
        "comtrade",
        "count == cap (500, preview)",
        "flag",
        "replay",
        "truncated",
        "market_concentration",
        "market_concentration:no_truncated_metric",
    ),
    Case(
        "comtrade-availability_truncated",
        "comtrade",
        "truncated JSON (availability)",
        "error",
        "replay",
        error_text=("[comtrade]", "getDa", "not JSON"),
    ),
    # Census content faults
    Case(
        "census-truncated_json",
        "census",
        "truncated JSON",
        "flag",
        "replay",
        "partial_fetch",
        "census_release_status",
        "census_monthly_flows:census_fetch_complete",
    ),
    Case(
        "census-wrong_shape",
        "census",
        "valid JSON, wrong shape",
        "flag",
        "replay",
        "partial_fetch",
        "census_release_status",
        "census_monthly_flows:census_fetch_complete",
    ),
    Case(
        "census-empty_body",
        "census",
        "empty body (200)",
        "flag",
        "replay",
        "partial_fetch",
        "census_release_status",
        "census_monthly_flows:census_fetch_complete",
    ),
    Case(
        "census-204",
        "census",
        "204 No Content",
        "flag",
        "replay",
        "series_missing",
        "census_release_status",
        "census_monthly_flows:census_expected_series_present",
    ),
    Case(
        "census-400_text",
        "census",
        "400 plain-text error",
        "flag",
        "replay",
        "partial_fetch",
        "census_release_status",
        "census_monthly_flows:census_fetch_complete",
    ),
    # MOFCOM content faults
    Case(
        "mofcom-list_truncated_json",
        "mofcom",
        "truncated JSON (list)",
        "error",
        "replay",
        error_text=("[mofcom]", "getColumnList", "columnID=9", "not JSON"),
    ),
    Case(
        "mofcom-list_wrong_shape",
        "mofcom",
        "valid JSON, wrong shape (list)",
        "error",
        "replay",
        error_text=("[mofcom]", "getColumnList", "columnID=9", "pageInfo.rows"),
    ),
    Case(
        "mofcom-list_empty_body",
        "mofcom",
        "empty body (list)",
        "error",
        "replay",
        error_text=("[mofcom]", "getColumnList", "columnID=9"),
    ),
    Case(
        "mofcom-list_question_marks",
        "mofcom",
        '"???" text (list)',
        "error",
        "replay",
        error_text=("[mofcom]", "garbled", "columnID=9"),
    ),
    Case(
        "mofcom-list_mojibake",
        "mofcom",
        "mojibake title (list)",
        "error",
        "replay",
        error_text=("[mofcom]", "mojibake", "columnID=9"),
    ),
    Case(
        "mofcom-article_question_marks",
        "mofcom",
        '"???" text (article)',
        "flag",
        "replay",
        "garbled_text",
        "mofcom_announcements",
        "mofcom_announcements:article_text_fetched",
    ),
    Case(
        "mofcom-article_mojibake",
        "mofcom",
        "mojibake (article)",
        "flag",
        "replay",
        "garbled_text",
        "mofcom_announcements",
        "mofcom_announcements:article_text_fetched",
    ),
    Case(
        "mofcom-article_empty_body",
        "mofcom",
        "empty body (article)",
        "flag",
        "replay",
        "title_only",
        "mofcom_announcements",
        "mofcom_announcements:article_text_fetched",
    ),
    Case(
        "mofcom-changed_html",
        "mofcom",
        "changed HTML structure (no div.bd)",
        "flag",
        "replay",
        "changed_structure",
        "mofcom_announcements",
        "mofcom_announcements:article_text_fetched",
    ),
    Case(
        "mofcom-off_host_item",
        "mofcom",
        "list item pointing off-host",
        "flag",
        "replay",
        "off_host_url",
        "mofcom_announcements",
        "mofcom_announcements:article_text_fetched",
    ),
]


# --- set-up per case --------------------------------------------------------------------------------------------------


def _setup_live(case: Case, cs: support.CaptureServer, base: Path) -> Fault:
    s = case.source
    match = LIVE_MATCH[s]
    if case.id == "mofcom-article_503_forever":
        _, url = mofcom_ok_article(base)
        path = url.split("mofcom.gov.cn", 1)[1]
        match = lambda k, path=path: k.endswith(path)  # noqa: E731
    if case.id == "census-503_all_requests":
        match = lambda k: True  # noqa: E731
    actions = {
        "429_retry_after": [respond(429, "Rate limit is exceeded. Try again in 7 seconds.", {"Retry-After": "7"})],
        "429_no_retry_after": [respond(429, "Rate limit is exceeded.")],
        "500": [respond(500, "There was an error while running your query.")],
        "502": [respond(502, "<html>Bad Gateway</html>")],
        "503": [respond(503, "Service Unavailable")],
        "connection_reset": [reset_connection()],
        "read_timeout": [cs.stall()],
    }.get(case.fault)
    forever = actions is None
    if forever:
        status = 500 if "500" in case.fault else 503
        actions = [respond(status, "down")]
    if case.fault == "read_timeout":
        support.SeamSettings.timeout_s = 1.0
    fault = Fault(s, match, actions, forever=forever)
    cs.faults.append(fault)
    return fault


def _setup_replay(case: Case, root: Path, base: Path) -> dict:
    """Rewrite the recorded exchange(s) of the case; returns facts the assertions need."""
    s, f = case.source, case.id.split("-", 1)[1]
    facts: dict = {}
    if s == "comtrade":
        key = comtrade_availability_request() if f == "availability_truncated" else comtrade_partner_request(base)
        facts["key"] = key
        edit = {
            "truncated_json": dict(edit=_truncate),
            "availability_truncated": dict(edit=_truncate),
            "wrong_shape": dict(body=json.dumps({"rows": [], "total": 0})),
            "empty_body": dict(body=""),
            "count_eq_cap": dict(edit=_json_edit(_set_count(500))),
        }[f]
        support.rewrite_capture(root, s, key, **edit)
    elif s == "census":
        key = census_request()
        facts["key"] = key
        edit = {
            "truncated_json": dict(edit=_truncate),
            "wrong_shape": dict(body=json.dumps({"CTY_CODE": "5700"})),
            "empty_body": dict(body=""),
            "204": dict(status=204, body=""),
            "400_text": dict(status=400, body="error: unknown variable 'E_COMMODITYX'"),
        }[f]
        support.rewrite_capture(root, s, key, **edit)
    else:
        key = mofcom_list_request()
        list_edits = {
            "list_truncated_json": dict(edit=_truncate),
            "list_wrong_shape": dict(body=json.dumps({"data": []})),
            "list_empty_body": dict(body=""),
            "list_question_marks": dict(edit=_json_edit(_list_retitle("????2025?61? ??????????"))),
            "list_mojibake": dict(edit=_json_edit(_list_retitle(MOJIBAKE))),
        }
        if f in list_edits:
            support.rewrite_capture(root, s, key, **list_edits[f])
        elif f == "off_host_item":
            support.rewrite_capture(
                root,
                s,
                key,
                edit=_json_edit(
                    _list_add_row(
                        "商务部公告2026年第7号 外站转载", "http://evil.example.com/article/gndt/202601/1301.html"
                    )
                ),
            )
            facts["new_id"] = "mofcom-1301"
        else:
            ann_id, url = mofcom_ok_article(base)
            facts["ann_id"] = ann_id
            body = {
                "article_question_marks": _article_page("??????", '<div class="bd"><p>???????2026?6?</p></div>'),
                "article_mojibake": _article_page("x", f'<div class="bd"><p>{MOJIBAKE}</p></div>'),
                "article_empty_body": "",
                "changed_html": _article_page("商务部公告", '<div class="article-content"><p>新版页面正文</p></div>'),
            }[f]
            support.rewrite_capture(root, s, request_key("GET", url), body=body)
    return facts


def _client(case: Case, captures: Path, cs: support.CaptureServer | None):
    if case.mode == "live":
        return support.live_client(case.source, cs)
    cls = {"comtrade": support.ComtradeClient, "census": support.CensusTradeClient, "mofcom": support.MofcomClient}
    return cls[case.source](capture_dir=str(captures))


# --- the test -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault_leaves_other_partitions_intact(case: Case, world, captures: Path, request: pytest.FixtureRequest):
    base = world.data
    cs = request.getfixturevalue("capture_server") if case.mode == "live" else None
    fault = _setup_live(case, cs, base) if cs is not None else None
    facts = _setup_replay(case, captures, base) if cs is None else {}

    result = support.run(case.source, WEEK_B, _client(case, captures, cs))
    after, flagged = support.row_counts(), support.flagged_counts()
    layer = LAYER_TABLES[case.source]

    # Nothing lost, nothing duplicated: week A of every table, week B of every other layer.
    assert support.only_week(after, WEEK_A) == support.only_week(world.counts, WEEK_A)
    assert support.only_week(after, WEEK_B, exclude=layer) == support.only_week(world.counts, WEEK_B, exclude=layer)

    if case.outcome == "retry":
        assert result.success, support.failure_text(result)
        assert fault is not None and fault.hits == 1
        hits = [k for src, k, _ in cs.log if src == case.source and fault.match(k)]
        assert len(hits) >= 2, "the faulty request was not retried"
        assert support.only_week(after, WEEK_B, layer) == support.only_week(world.counts, WEEK_B, layer)
        assert support.only_week(flagged, WEEK_B, layer) == support.only_week(world.flagged, WEEK_B, layer)
        if case.fault == "429_retry_after":
            assert any(7.0 <= s <= 7.2 for s in support.SeamSettings.sleeps), support.SeamSettings.sleeps
        elif case.fault != "read_timeout":
            assert support.SeamSettings.sleeps and all(s <= 2.0 for s in support.SeamSettings.sleeps)
    elif case.outcome == "flag":
        assert result.success, support.failure_text(result)
        checks = support.check_results(result)
        assert checks[case.failed_check] is False, checks
        rows = support.q(f"SELECT review_flags FROM {case.flag_table} WHERE week_start = ?::DATE", WEEK_B)
        assert any(case.flag in (r[0] or "").split(";") for r in rows), f"no {case.flag} flag in {case.flag_table}"
        assert flagged[(case.flag_table, WEEK_B)] > world.flagged.get((case.flag_table, WEEK_B), 0)
        _assert_flag_case_rows(case, facts, after, world)
    else:
        assert not result.success
        text = support.failure_text(result)
        for fragment in case.error_text:
            assert fragment in text, (fragment, text[:2000])
        # The week kept its previous content, row for row.
        assert support.only_week(after, WEEK_B, layer) == support.only_week(world.counts, WEEK_B, layer)
        _assert_same_content(world.data, _main_table(case.source))


def _main_table(source: str) -> str:
    return {"comtrade": "comtrade_partner_flows", "census": "census_monthly_flows", "mofcom": "mofcom_announcements"}[
        source
    ]


def _assert_same_content(base_data: Path, table: str) -> None:
    before = Warehouse(path=str(base_data / "warehouse.duckdb")).read_partition(table, WEEK_B)
    now = Warehouse().read_partition(table, WEEK_B)
    assert now.equals(before), f"{table} week B changed although the run failed"


def _assert_flag_case_rows(case: Case, facts: dict, after: dict, world) -> None:
    """Exactly the rows of the failed request are missing; every other row of week B is still there."""
    before = world.counts
    if case.source == "comtrade" and "key" in facts:
        lost = _baseline_rows(world.data, "comtrade_partner_flows", request_id(facts["key"]))
        assert lost > 0
        expect = before[("comtrade_partner_flows", WEEK_B)] - (0 if case.flag == "truncated" else lost)
        assert after[("comtrade_partner_flows", WEEK_B)] == expect
        assert after[("market_concentration", WEEK_B)] == before[("market_concentration", WEEK_B)]
    elif case.source == "census" and "key" in facts:
        lost = _baseline_rows(world.data, "census_monthly_flows", request_id(facts["key"]))
        assert lost > 0
        assert after[("census_monthly_flows", WEEK_B)] == before[("census_monthly_flows", WEEK_B)] - lost
    elif case.source == "mofcom":
        extra = 1 if "new_id" in facts else 0
        assert after[("mofcom_announcements", WEEK_B)] == before[("mofcom_announcements", WEEK_B)] + extra
        if "ann_id" in facts:
            row = support.q(
                "SELECT fetch_status, review_flags FROM mofcom_announcements WHERE week_start = ?::DATE "
                "AND announcement_id = ?",
                WEEK_B,
                facts["ann_id"],
            )[0]
            assert row[0] != "ok" and case.flag in row[1].split(";")
        if "new_id" in facts:
            row = support.q(
                "SELECT fetch_status, fetch_problem, url FROM mofcom_announcements WHERE week_start = "
                "?::DATE AND announcement_id = ?",
                WEEK_B,
                facts["new_id"],
            )[0]
            assert row[0] == "failed" and "refused" in row[1] and row[2].startswith("http://evil.example.com/")
    elif case.source == "comtrade":  # live: the failed request's rows are gone, the others stay
        assert 0 < after[("comtrade_partner_flows", WEEK_B)] < before[("comtrade_partner_flows", WEEK_B)]
        failed = support.q(
            "SELECT error FROM comtrade_requests WHERE week_start = ?::DATE AND status = 'failed'", WEEK_B
        )
        assert failed and all("[comtrade]" in e and "reporterCode=842" in e and "503" in e for (e,) in failed)
    elif case.source == "census":
        assert 0 < after[("census_monthly_flows", WEEK_B)] < before[("census_monthly_flows", WEEK_B)]


def _baseline_rows(base_data: Path, table: str, rid: str) -> int:
    wh = Warehouse(path=str(base_data / "warehouse.duckdb"))
    return wh.query(f"SELECT count(*) AS n FROM {table} WHERE week_start = ?::DATE AND request_id = ?", [WEEK_B, rid])[
        "n"
    ][0]


# --- the report -----------------------------------------------------------------------------------------------------
#: One flagged case per (source, flag code): the report marks a line by the flags of the rows it prints, whichever
#: transport (live server or replayed capture) brought the fault; each case's rows and flags are checked above.
REPORT_CASES = list({(c.source, c.flag): c for c in reversed(CASES) if c.outcome == "flag"}.values())[::-1]


@pytest.mark.parametrize("case", REPORT_CASES, ids=[c.id for c in REPORT_CASES])
def test_a_flagged_fault_marks_every_changed_report_line(
    case: Case, world, captures: Path, baseline_report: dict[str, str], request: pytest.FixtureRequest
):
    """The fault's whole layer re-run for week B, then the rest of the graph (facts, charts, report): in both
    editions, every report line whose figures differ from the undamaged report carries [REVIEW_NEEDED] or a withheld
    note, and a flag's reason is said in words (report_diff.py)."""
    cs = request.getfixturevalue("capture_server") if case.mode == "live" else None
    if cs is not None:
        _setup_live(case, cs, world.data)
    else:
        _setup_replay(case, captures, world.data)
    result = support.run(case.source, WEEK_B, _client(case, captures, cs), support.layer_assets(case.source))
    assert result.success, support.failure_text(result)
    support.render_rest_of_graph(WEEK_B)
    for edition, before in baseline_report.items():
        after = support.report_text(support.data_dir(), WEEK_B, edition)
        assert changed_lines(before, after) or after.count(REVIEW) > before.count(REVIEW), (
            f"{edition}: the fault changed nothing in the report: the case tests nothing"
        )
        bad = unmarked_changes(before, after)
        assert not bad, f"{edition}:\n" + "\n".join(f"- {c.old!r}\n+ {c.new!r}" for c in bad[:10])
        # the reason is said in words: the case's flag, or a more specific one its rows carry
        words = (lambda info: info.en) if edition == ".en.md" else (lambda info: info.zh)
        said = [c for c, info in contract.FLAGS.items() if after.count(words(info)) > before.count(words(info))]
        assert said, f"{edition}: no flag's words are said more often than in the undamaged report ({case.flag})"
