"""Shared fixtures: an isolated data dir per test, the replay resources, and the optional ../shared real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from trade_pipeline.core.paths import PROJECT_ROOT

REALDATA = PROJECT_ROOT.parent / "shared" / "realdata" / "raw"
SEED_REPORT = PROJECT_ROOT.parent / "shared" / "seeds" / "2026-W05-trade-briefing.md"


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes its warehouse, cache and site under tmp_path, never into the repo's data/."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TRADE_PIPELINE_DATA_DIR", str(data))
    for var in ("TRADE_PIPELINE_HTTP_MODE", "TRADE_PIPELINE_CAPTURE_DIR", "COMTRADE_API_KEY", "CENSUS_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return data


@pytest.fixture
def realdata() -> Path:
    """../shared/realdata/raw, or skip: users' clones do not have it."""
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is absent (only developers and CI have it)")
    return REALDATA


@pytest.fixture
def seed_report() -> Path:
    if not SEED_REPORT.is_file():
        pytest.skip("../shared/seeds is absent (only developers and CI have it)")
    return SEED_REPORT


# Modules whose tests start the Dagster CLI, daemon or webserver take minutes, not seconds.
_LONG_MARKERS = ("slow", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long modules first (their order kept), so with xdist (`--dist loadfile --no-loadscope-reorder`, see the
    Makefile) the longest files start at once and the many short ones fill the workers around them, instead of a
    year-long backfill starting last and running alone. The order within a module is unchanged."""

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    long_modules = {module(i) for i in items if any(i.get_closest_marker(m) is not None for m in _LONG_MARKERS)}
    items.sort(key=lambda item: module(item) not in long_modules)  # stable: False (long) sorts first
