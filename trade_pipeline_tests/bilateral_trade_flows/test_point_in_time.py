"""The data-availability listing decides, per week, which years exist: an early week never sees a later release."""

from __future__ import annotations

import polars as pl

from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.assets import comtrade_partner_flows
from trade_pipeline.defs.bilateral_trade_flows.fetch import (
    candidate_years,
    released_pairs,
    select_mirror_years,
    select_years,
)
from trade_pipeline.defs.bilateral_trade_flows.parse import AVAILABILITY_SCHEMA

from .conftest import FastComtradeClient, run_layer

EARLY = "2025-06-02"  # 2025-W23, as of 2025-06-08 23:59:59 UTC
W05 = "2026-01-26"


def _availability(*rows: tuple[int, int, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"reporter_code": r, "year": y, "first_released": t, "last_released": t, "total_records": 1}
            for r, y, t in rows
        ],
        schema=AVAILABILITY_SCHEMA,
        orient="row",
    )


def test_release_cutoff_is_the_end_of_the_weeks_sunday_utc() -> None:
    avail = _availability(
        (156, 2023, "2024-03-27T18:27:00"),
        (156, 2024, "2025-06-08T23:59:59"),
        (276, 2023, "2024-07-12T21:51:00"),
        (276, 2024, "2025-06-09T00:00:00"),
    )
    released = released_pairs(avail, EARLY)
    assert released == {(156, 2023), (156, 2024), (276, 2023)}  # 276's 2024 arrives one second too late
    assert select_years(released, 156) == [2023, 2024]
    assert select_years(released, 276) == [2023]  # no 2022 released: only the latest year, no invented pair
    assert select_years(released, 842) == []
    assert candidate_years(EARLY) == [2021, 2022, 2023, 2024]
    # the Taiwan mirror needs enough reporters released for a year
    many = {(r, 2024) for r in range(1, 31)} | {(r, 2023) for r in range(1, 40)}
    assert select_mirror_years(many) == [2023, 2024]
    assert select_mirror_years(many - {(1, 2024)}) == [2023]


def _partner_requests(fake) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in fake.data_requests():
        if r["params"].get("cmdCode") == "TOTAL" and "reporterCode" in r["params"]:
            out.setdefault(r["params"]["reporterCode"], set()).add(r["params"]["period"])
    return out


def test_early_week_does_not_see_years_published_later(fake_comtrade) -> None:
    client = FastComtradeClient(mode="live", base_url=fake_comtrade.base_url, endpoint="preview")
    assert run_layer(EARLY, client, selection=[comtrade_partner_flows]).success

    getda = [r for r in fake_comtrade.requests if "getDa" in r["path"]]
    assert [r["params"] for r in getda] == [{"period": "2021,2022,2023,2024"}]
    # Germany's and Japan's 2024 data were first released in July 2025: the W23 snapshot stays on 2022/2023;
    # China (May 13), the US (May 28), Korea (June 1) and Taiwan (March) already had 2024.
    assert _partner_requests(fake_comtrade) == {
        "842": {"2023", "2024"},
        "156": {"2023", "2024"},
        "410": {"2023", "2024"},
        "490": {"2023", "2024"},
        "276": {"2022", "2023"},
        "392": {"2022", "2023"},
    }

    wh = Warehouse()
    avail = wh.read_partition("comtrade_data_availability", EARLY)
    flag = {(r["reporter_code"], r["year"]): r["released_by_as_of"] for r in avail.iter_rows(named=True)}
    assert flag[(276, 2024)] is False and flag[(392, 2024)] is False and flag[(156, 2024)] is True

    # The mirror for Taiwan drops partner reports not yet released by the as-of instant.
    flows = wh.read_partition("comtrade_partner_flows", EARLY)
    mirror_2024 = set(flows.filter((pl.col("reporter_code") == 158) & (pl.col("year") == 2024))["partner_code"])
    assert mirror_2024 and not {276, 392} & mirror_2024
    assert {842, 156, 410} <= mirror_2024
    years = set(flows.filter(pl.col("reporter_code") == 276)["year"])
    assert years == {2022, 2023}  # the sample's 2022 rows (filler, see data/sample/README.md) are used


def test_late_week_sees_the_same_years_once_published(fake_comtrade) -> None:
    client = FastComtradeClient(mode="live", base_url=fake_comtrade.base_url, endpoint="preview")
    assert run_layer(W05, client, selection=[comtrade_partner_flows]).success
    assert _partner_requests(fake_comtrade)["276"] == {"2023", "2024"}
    flows = Warehouse().read_partition("comtrade_partner_flows", W05)
    assert {276, 392} <= set(flows.filter((pl.col("reporter_code") == 158) & (pl.col("year") == 2024))["partner_code"])
