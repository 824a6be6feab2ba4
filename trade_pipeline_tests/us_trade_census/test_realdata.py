"""The layer's parser and metrics on REAL Census API replies (../shared/realdata; skipped when absent).

The captures are the API's own month-by-month replies (``imports/hs?…&YEAR=Y&MONTH=M`` with ``COMM_LVL=HS2`` and
country totals for exports and imports), every country included. They go through the same code path as a replayed
week: ``parse_table`` → the five partners' rows (what the CTY_CODE predicates of our requests select) →
``validate_reply`` → ``build_monthly_flows`` → ``build_trade_balance``.
Published checks (census.gov, 2024): imports from China 438.7 B USD, exports to China 143.2 B USD.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from trade_pipeline.defs.us_trade_census.metrics import build_monthly_flows, build_trade_balance
from trade_pipeline.defs.us_trade_census.resources import PARTNERS, CensusFetch, CensusRequest
from trade_pipeline.defs.us_trade_census.wire import parse_table, validate_reply

from ..conftest import REALDATA

YEAR = 2024


def _read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def _fetches(root: Path, flow: str, level: str, folder: str, suffix: str) -> list[CensusFetch]:
    out = []
    for month in range(1, 13):
        path = root / folder / f"{YEAR}-{month:02d}{suffix}"
        if not path.is_file():
            pytest.skip(f"{path.name} absent from the real captures")
        request = CensusRequest(flow=flow, level=level, year=YEAR, first_month=month, last_month=month)
        rows = [r for r in parse_table(_read(path), request.label()) if r.get("CTY_CODE") in PARTNERS]
        reply = validate_reply(rows, request.asks(PARTNERS), request.label())
        assert reply.rejected == [] and not reply.error, reply.rejected[:3]  # real replies pass the boundary
        out.append(
            CensusFetch(
                request=request, status="ok", records=reply.records, request_id=path.name, fetched_at="recorded"
            )
        )
    return out


@pytest.fixture(scope="module")
def real_2024():
    root = REALDATA / "census" / "leakathr1n_reconstructed"
    if not root.is_dir():
        pytest.skip("../shared/realdata is absent (only developers and CI have it)")
    fetches = (
        _fetches(root, "import", "HS2", "imports_hs_HS2_by_country", ".json.gz")
        + _fetches(root, "import", "TOTAL", "imports_hs_by_country_total", ".json")
        + _fetches(root, "export", "TOTAL", "exports_hs_by_country_total", ".json")
    )
    monthly, diag = build_monthly_flows(fetches, (YEAR, 12))
    return monthly, diag


def _year_total(monthly: pl.DataFrame, cty: str, flow: str, chapters: bool) -> float:
    hs2 = pl.col("hs2") != "TOTAL" if chapters else pl.col("hs2") == "TOTAL"
    return monthly.filter((pl.col("cty_code") == cty) & (pl.col("flow") == flow) & (pl.col("year") == YEAR) & hs2)[
        "value_usd"
    ].sum()


def test_2024_china_totals_match_the_published_figures(real_2024) -> None:
    monthly, _ = real_2024
    assert round(_year_total(monthly, "5700", "import", chapters=False) / 1e9, 1) == 438.7
    assert round(_year_total(monthly, "5700", "export", chapters=False) / 1e9, 1) == 143.2


def test_hs2_chapters_add_up_to_the_country_totals_for_every_partner_and_month(real_2024) -> None:
    monthly, diag = real_2024
    assert diag.total_mismatches == []
    for cty in PARTNERS:
        total = _year_total(monthly, cty, "import", chapters=False)
        assert total > 0
        assert _year_total(monthly, cty, "import", chapters=True) == pytest.approx(total, rel=1e-9), cty
    # twelve months for each of the five partners, in both the chapter and the total series
    months = (
        monthly.filter(pl.col("flow") == "import")
        .group_by("cty_code", pl.col("hs2") == "TOTAL")
        .agg(pl.col("month").n_unique().alias("n"))
    )
    assert months["n"].to_list() == [12] * len(PARTNERS) * 2


def test_year_to_date_and_balance_from_real_replies(real_2024) -> None:
    monthly, _ = real_2024
    dec = monthly.filter(
        (pl.col("cty_code") == "5700")
        & (pl.col("flow") == "import")
        & (pl.col("hs2") == "TOTAL")
        & (pl.col("month") == 12)
    ).row(0, named=True)
    assert round(dec["ytd_usd"] / 1e9, 1) == 438.7
    balance = build_trade_balance(monthly, (YEAR, 12))
    china = balance.filter((pl.col("cty_code") == "5700") & (pl.col("hs2") == "TOTAL")).row(0, named=True)
    assert china["through_month"] == 12
    assert china["balance_usd"] == pytest.approx(china["export_ytd_usd"] - china["import_ytd_usd"])
    assert round(china["balance_usd"] / 1e9, 1) == -295.5
    # chapter descriptions come from the reply's I_COMMODITY_LDESC
    hs85 = monthly.filter((pl.col("hs2") == "85") & (pl.col("cty_code") == "5700")).row(0, named=True)
    assert hs85["hs2_desc"].startswith("ELECTRICAL MACHINERY")
