"""A single-run backfill does each week-independent piece of work once per run, and gives the same answers.

- per-run request dedupe: in a two-week run each distinct request is read from the captures once and its reply
  parsed once (Comtrade envelopes and rows, Census records, the policy-exposure HS6 replies), although both weeks ask
  for (some of) the same requests; what is built from the same answers (a week's Comtrade frame, Census monthly rows,
  exposure rows) is built once; the rows written are exactly those of a run without dedupe; nothing is carried into
  the next run;
- a warehouse session opens the DuckDB file once for many reads and writes;
- ``replace_partitions`` (several weeks, one transaction) leaves the table exactly as one ``replace_partition`` per
  week does, and ``read_partitions`` returns exactly what ``read_partition`` returns week by week;
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance, materialize
from polars.testing import assert_frame_equal

from trade_pipeline.core import http as http_module
from trade_pipeline.core import warehouse as warehouse_module
from trade_pipeline.core.http import SourceHttp
from trade_pipeline.core.partitions import as_of_instant
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows import parse, resources, validate
from trade_pipeline.defs.bilateral_trade_flows.assets import comtrade_commodity_flows, comtrade_partner_flows
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.policy_exposure.assets import controlled_hs_map, policy_exposure_inputs
from trade_pipeline.defs.us_trade_census import assets as census_assets
from trade_pipeline.defs.us_trade_census import resources as census_resources
from trade_pipeline.defs.us_trade_census.assets import census_monthly_flows
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

W03, W04, W05 = "2026-01-12", "2026-01-19", "2026-01-26"
TWO_WEEKS = {"dagster/asset_partition_range_start": W04, "dagster/asset_partition_range_end": W05}
COMTRADE_TABLES = (
    "comtrade_partner_flows",
    "comtrade_requests",
    "comtrade_data_availability",
    "comtrade_commodity_flows",
    "comtrade_commodity_requests",
)


class NoDedupeComtrade(ComtradeClient):
    """The production client with request dedupe off (the documented ``_http()`` seam): every ask is answered anew."""

    def _http(self) -> SourceHttp:
        http = super()._http()
        http.dedupe = False
        return http


class NoDedupeCensus(CensusTradeClient):
    def _http(self) -> SourceHttp:
        http = super()._http()
        http.dedupe = False
        return http


CENSUS_EXPOSURE_TABLES = (
    "census_monthly_flows",
    "census_release_status",
    "census_series_coverage",
    "comtrade_cn_hs6_exports",
    "census_hs6_imports",
    "policy_exposure_requests",
)


def _run_comtrade_two_weeks(client: ComtradeClient | None = None) -> None:
    result = materialize(
        [comtrade_partner_flows, comtrade_commodity_flows],
        resources={"warehouse": Warehouse(), "comtrade": client or ComtradeClient()},
        tags=TWO_WEEKS,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success


def _tables(tables: tuple[str, ...]) -> dict[str, pl.DataFrame]:
    out = {}
    with Warehouse().connect(read_only=True) as conn:
        for table in tables:
            df = conn.execute(f"SELECT * FROM {table}").pl()
            out[table] = df.sort(df.columns, nulls_last=True)
    return out


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Counter]:
    """Counters by request key: asked (SourceHttp.request), read (a capture document loaded), parsed (a Comtrade
    envelope or a Census table parsed), rows (a Comtrade result turned into rows), checked (a Comtrade reply run
    through the pandera wire schema, by request key and table)."""
    counts: dict[str, Counter] = {name: Counter() for name in ("asked", "read", "parsed", "rows", "checked")}
    real_request, real_get = SourceHttp.request, http_module.CaptureStore.get
    real_envelope, real_table = resources.parse_envelope, census_resources.parse_table
    real_rows = parse.partner_flow_rows.__wrapped__

    def request(self, method, url, **kw):  # noqa: ANN001, ANN003, ANN202
        resp = real_request(self, method, url, **kw)
        counts["asked"][resp.request_key] += 1
        return resp

    def get(self, key):  # noqa: ANN001, ANN202
        counts["read"][key] += 1
        return real_get(self, key)

    def envelope(resp, source="comtrade"):  # noqa: ANN001, ANN202
        counts["parsed"][resp.request_key] += 1
        return real_envelope(resp, source)

    def table(content, described):  # noqa: ANN001, ANN202
        counts["parsed"][described] += 1
        return real_table(content, described)

    def rows(result):  # noqa: ANN001, ANN202
        counts["rows"][result.request_key] += 1
        return real_rows(result)

    real_check = validate._check_batch

    def check(results, table):  # noqa: ANN001, ANN202
        counts["checked"].update((r.request_key, table) for r in results)
        return real_check(results, table)

    monkeypatch.setattr(validate, "_check_batch", check)
    monkeypatch.setattr(SourceHttp, "request", request)
    monkeypatch.setattr(http_module.CaptureStore, "get", get)
    monkeypatch.setattr(resources, "parse_envelope", envelope)
    monkeypatch.setattr(census_resources, "parse_table", table)
    from trade_pipeline.defs.bilateral_trade_flows import fetch

    counting_rows = parse._once_per_result(rows)
    monkeypatch.setattr(parse, "partner_flow_rows", counting_rows)
    monkeypatch.setattr(fetch, "partner_flow_rows", counting_rows)
    return counts


def _once_each(counter: Counter, what: str) -> None:
    assert counter, f"nothing was {what}"
    repeated = {k: n for k, n in counter.items() if n > 1}
    assert not repeated, f"{what} more than once in one run: {sorted(repeated.items())[:3]}"


def test_two_week_comtrade_run_reads_and_parses_each_distinct_request_once(counted: dict[str, Counter]) -> None:
    _run_comtrade_two_weeks()
    assert any(n > 1 for n in counted["asked"].values()), "both weeks should ask for (some of) the same requests"
    _once_each(counted["read"], "read from the captures")
    _once_each(counted["parsed"], "parsed")
    _once_each(counted["checked"], "validated against the wire schema")
    assert set(counted["parsed"]) <= set(counted["read"])


def test_two_week_census_run_reads_and_parses_each_distinct_request_once(
    counted: dict[str, Counter], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[tuple[int, int]] = []  # the release month of each week's monthly rows really built
    real_build = census_assets.build_monthly_flows
    monkeypatch.setattr(
        census_assets,
        "build_monthly_flows",
        lambda fetches, latest: built.append(latest) or real_build(fetches, latest),
    )
    weeks = (W03, W04, W05)  # W03 and W04: data through 2025-10; W05: through 2025-11
    result = materialize(
        [census_monthly_flows],
        resources={"warehouse": Warehouse(), "census": CensusTradeClient()},
        tags={"dagster/asset_partition_range_start": W03, "dagster/asset_partition_range_end": W05},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success
    assert any(n > 1 for n in counted["asked"].values()), "the weeks should ask for (some of) the same requests"
    _once_each(counted["read"], "read from the captures")
    _once_each(counted["parsed"], "parsed")
    # weeks with the same release month get the same answers: their rows are built once
    months = [CensusTradeClient().latest_released_month(as_of_instant(k).date()) for k in weeks]
    assert len(set(months)) < len(months), "two of the weeks should share a release month"
    assert sorted(built) == sorted(set(months))


def test_two_week_exposure_run_reads_parses_and_builds_each_distinct_request_once(
    counted: dict[str, Counter], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trade_pipeline.defs.policy_exposure import exposure as rules

    for name in ("comtrade_rows", "census_rows"):  # rows built from one reply, by its request key
        real = getattr(rules, name)
        monkeypatch.setattr(
            rules,
            name,
            lambda fetch, codes, *a, _real=real: (counted["rows"].update([fetch.request_key]), _real(fetch, codes, *a))[
                1
            ],
        )
    result = materialize(
        [comtrade_partner_flows, controlled_hs_map, policy_exposure_inputs],
        resources={"warehouse": Warehouse(), "comtrade": ComtradeClient(), "census": CensusTradeClient()},
        tags=TWO_WEEKS,
        instance=DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success
    exposure = {k for k in counted["asked"] if "cmdCode=" in k and "COMM_LVL" not in k} | {
        k for k in counted["asked"] if "COMM_LVL=HS6" in k
    }
    assert exposure and any(counted["asked"][k] > 1 for k in exposure), "both weeks should ask the exposure requests"
    _once_each(counted["read"], "read from the captures")
    _once_each(counted["parsed"], "parsed")
    _once_each(counted["rows"], "turned into exposure rows")
    assert set(counted["rows"]) <= exposure


def test_a_comtrade_result_is_turned_into_rows_once_per_run(
    counted: dict[str, Counter], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trade_pipeline.defs.bilateral_trade_flows import fetch

    built = []
    real_frame = fetch.build_flows_frame
    monkeypatch.setattr(fetch, "build_flows_frame", lambda rows, items=(): built.append(1) or real_frame(rows, items))
    client = ComtradeClient()
    weeks = [fetch.fetch_partner_week(client, key) for key in (W04, W05, W05)]
    _once_each(counted["rows"], "turned into rows")
    # the same requests and released years: the week's frame is built once and shared
    assert weeks[2].flows is weeks[1].flows and len(built) <= 2  # W04, W05 (W05 again: shared)


def test_weeks_whose_partner_flow_frames_are_equal_build_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """13 weeks of 2025: the released years change from week to week, mostly for reporter-years the week's replies do
    not hold; a week's frame depends only on its answers and the released years they hold, so equal frames are one
    build (the per-run key is what the frame is computed from, not everything the week knows)."""
    from trade_pipeline.defs.bilateral_trade_flows import fetch

    built = []
    real_frame = fetch.build_flows_frame
    monkeypatch.setattr(fetch, "build_flows_frame", lambda rows, items=(): built.append(1) or real_frame(rows, items))
    client = ComtradeClient()
    first = date.fromisoformat("2025-02-03")
    weeks = [fetch.fetch_partner_week(client, (first + timedelta(weeks=i)).isoformat()) for i in range(13)]
    distinct: list[pl.DataFrame] = []
    for week in weeks:
        if not any(week.flows.equals(frame) for frame in distinct):
            distinct.append(week.flows)
    assert 1 < len(distinct) < len(weeks)
    assert len(built) == len(distinct)


def test_deduped_run_writes_the_same_rows_as_a_run_without_dedupe(
    counted: dict[str, Counter], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _run_comtrade_two_weeks()
    deduped = _tables(COMTRADE_TABLES)
    reads = sum(counted["read"].values())

    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(tmp_path / "no_dedupe"))
    counted["read"].clear()
    _run_comtrade_two_weeks(NoDedupeComtrade())
    plain = _tables(COMTRADE_TABLES)
    assert sum(counted["read"].values()) > reads, "without dedupe the weeks read their captures again"
    for table in COMTRADE_TABLES:
        assert deduped[table].height > 0, table
        assert_frame_equal(deduped[table], plain[table])


def test_deduped_census_and_exposure_runs_write_the_same_rows_as_runs_without_dedupe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def run(comtrade: ComtradeClient, census: CensusTradeClient) -> dict[str, pl.DataFrame]:
        result = materialize(
            [comtrade_partner_flows, census_monthly_flows, controlled_hs_map, policy_exposure_inputs],
            resources={"warehouse": Warehouse(), "comtrade": comtrade, "census": census},
            tags=TWO_WEEKS,
            instance=DagsterInstance.ephemeral(),
            raise_on_error=True,
        )
        assert result.success
        return _tables(CENSUS_EXPOSURE_TABLES)

    deduped = run(ComtradeClient(), CensusTradeClient())
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(tmp_path / "no_dedupe"))
    plain = run(NoDedupeComtrade(), NoDedupeCensus())
    for table in CENSUS_EXPOSURE_TABLES:
        assert deduped[table].height > 0, table
        assert_frame_equal(deduped[table], plain[table])


def test_nothing_is_carried_into_the_next_run(counted: dict[str, Counter]) -> None:
    client = ComtradeClient()
    client.http.request  # noqa: B018 - an http object built on the configured instance must not leak into runs
    _run_comtrade_two_weeks(client)
    first = Counter(counted["read"])
    _run_comtrade_two_weeks(client)
    assert {k: n - first[k] for k, n in counted["read"].items()} == dict(first), (
        "the second run must read every capture again (no cache outlives a run)"
    )


def _frame(n: int, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "code": list(range(offset, offset + n)),
            "value": [i * 0.5 for i in range(n)],
            "label": [f"x{i}" for i in range(n)],
        },
        schema={"code": pl.Int64, "value": pl.Float64, "label": pl.Utf8},
    )


def test_a_session_opens_the_file_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    opened = []
    real_connect = duckdb.connect

    def counting_connect(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        opened.append(args[0] if args else kwargs.get("database"))
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(warehouse_module.duckdb, "connect", counting_connect)
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    with wh.session():
        for i, week in enumerate(("2026-01-05", "2026-01-12", "2026-01-19")):
            wh.replace_partition("t_rows", week, _frame(3, offset=i))
            assert wh.read_partition("t_rows", week)["code"].to_list() == [i, i + 1, i + 2]
        wh.replace_partitions("t_other", {"2026-01-05": _frame(2), "2026-01-12": _frame(1)})
        assert wh.has_table("t_other") and not wh.has_table("t_missing")
        with wh.session():  # re-entrant
            assert wh.query("SELECT count(*) AS n FROM t_rows")["n"][0] == 9
        with wh.connect(read_only=True) as conn:  # a cursor of the session's connection
            assert conn.execute("SELECT count(*) FROM t_other").fetchone()[0] == 3
    assert len(opened) == 1
    # After the session the warehouse works as before (short connections), and sees what the session wrote.
    assert wh.row_counts() == {
        ("t_rows", "2026-01-05"): 3,
        ("t_rows", "2026-01-12"): 3,
        ("t_rows", "2026-01-19"): 3,
        ("t_other", "2026-01-05"): 2,
        ("t_other", "2026-01-12"): 1,
    }


def _export(wh: Warehouse, table: str) -> tuple[list, pl.DataFrame]:
    with wh.connect(read_only=True) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        rows = conn.execute(f"SELECT * FROM {table}").pl()  # insertion order: no ORDER BY on purpose
    return columns, rows


@pytest.mark.parametrize("in_session", [False, True])
def test_replace_partitions_leaves_the_table_as_per_week_writes_do(tmp_path: Path, in_session: bool) -> None:
    old = {"2026-01-12": _frame(4, 100)}
    weeks = {"2026-01-05": _frame(3), "2026-01-12": _frame(0), "2026-01-19": _frame(5, 10)}
    # weeks whose frame types differ (here Int64 vs Int32): written week by week, as before
    mixed = {
        "2026-01-05": _frame(2).with_columns(extra=pl.lit(7, dtype=pl.Int64)),
        "2026-01-12": _frame(2).with_columns(extra=pl.lit(8, dtype=pl.Int32)),
    }
    one, many = Warehouse(path=str(tmp_path / "one.duckdb")), Warehouse(path=str(tmp_path / "many.duckdb"))
    for wh in (one, many):
        for week, df in old.items():
            wh.replace_partition("t_rows", week, df)
    for week, df in weeks.items():
        one.replace_partition("t_rows", week, df)
    for week, df in mixed.items():
        one.replace_partition("t_mixed", week, df)
    if in_session:
        with many.session():
            assert many.replace_partitions("t_rows", weeks) == 8
            assert many.replace_partitions("t_mixed", mixed) == 4
    else:
        assert many.replace_partitions("t_rows", weeks) == 8
        assert many.replace_partitions("t_mixed", mixed) == 4
    for table in ("t_rows", "t_mixed"):
        (cols_one, rows_one), (cols_many, rows_many) = _export(one, table), _export(many, table)
        assert cols_one == cols_many
        assert_frame_equal(rows_one, rows_many)


def test_a_failed_multi_week_write_changes_nothing(tmp_path: Path) -> None:
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    wh.replace_partitions("t_rows", {"2026-01-05": _frame(3), "2026-01-12": _frame(2)})
    bad = {"2026-01-05": _frame(1), "2026-01-12": pl.DataFrame({"code": ["x"], "value": [1.0], "label": ["y"]})}
    with pytest.raises(Exception):  # noqa: B017 — whichever DuckDB/polars error the bad frame raises
        wh.replace_partitions("t_rows", bad)  # schemas differ: week by week, the second week fails
    with pytest.raises(Exception):  # noqa: B017 — whichever DuckDB/polars error the bad frame raises
        wh.replace_partitions(
            "t_rows",
            {
                "2026-01-05": pl.DataFrame({"code": ["a"], "value": [1.0], "label": ["b"]}),
                "2026-01-12": pl.DataFrame({"code": ["c"], "value": [2.0], "label": ["d"]}),
            },
        )
    counts = wh.row_counts()
    assert counts[("t_rows", "2026-01-12")] == 2  # the failed one-transaction write left both weeks alone
    assert counts[("t_rows", "2026-01-05")] == 1  # the week-by-week write got as far as its first week


@pytest.mark.parametrize("in_session", [False, True])
def test_read_partitions_returns_what_read_partition_returns(tmp_path: Path, in_session: bool) -> None:
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    weeks = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
    nothing = wh.read_partitions("t_rows", weeks)  # nothing written yet: like read_partition, no columns
    assert list(nothing) == weeks and all(df.shape == (0, 0) for df in nothing.values())
    for i, week in enumerate(weeks[:3]):
        wh.replace_partition("t_rows", week, _frame(i * 2, offset=i * 10))  # 2026-01-05 has no rows
    with wh.session() if in_session else _null():
        got = wh.read_partitions("t_rows", weeks)
    for week in weeks:
        assert_frame_equal(got[week], wh.read_partition("t_rows", week))


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_partition_cache_reads_ahead_in_chunks_and_returns_what_read_partition_returns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wh = Warehouse(path=str(tmp_path / "w.duckdb"))
    weeks = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02"]
    for i, week in enumerate(weeks):
        wh.replace_partition("t_a", week, _frame(i, offset=i))
        wh.replace_partition("t_b", week, _frame(2, offset=10 * i))
    queries = []
    real = Warehouse.read_partitions
    monkeypatch.setattr(
        Warehouse,
        "read_partitions",
        lambda self, table, ws: queries.append((table, tuple(ws))) or real(self, table, ws),
    )
    cache = wh.partition_cache(["t_a", "t_b"], weeks, chunk_weeks=2)
    for week in [*weeks, *reversed(weeks)]:
        for table in ("t_a", "t_b"):
            assert_frame_equal(cache.get(table, week), wh.read_partition(table, week))
    # ascending: chunks 0, 1, 2 once each; descending: 2 is current, then 1 and 0 again — one query per table each
    assert len(queries) == 2 * 5 and all(len(ws) <= 2 for _, ws in queries)
    assert_frame_equal(cache.get("t_c", weeks[0]), wh.read_partition("t_c", weeks[0]))  # not cached: read directly


def test_a_read_only_session_reads_without_creating_the_file_and_refuses_writes(tmp_path: Path) -> None:
    wh = Warehouse(path=str(tmp_path / "missing.duckdb"))
    with wh.session(read_only=True):
        assert wh.read_partition("t_rows", "2026-01-05").is_empty() and not wh.has_table("t_rows")
    assert not (tmp_path / "missing.duckdb").exists()
    wh.replace_partition("t_rows", "2026-01-05", _frame(2))
    with wh.session(read_only=True):
        assert wh.read_partition("t_rows", "2026-01-05").height == 2
        with pytest.raises(duckdb.Error):
            wh.replace_partition("t_rows", "2026-01-05", _frame(1))
    assert wh.row_counts() == {("t_rows", "2026-01-05"): 2}
