"""Fixtures of the bilateral_trade_flows tests: replay resources, a copy of the sample captures, a fast client."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster import materialize

from trade_pipeline.core.http import SourceHttp
from trade_pipeline.core.paths import sample_captures_dir
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows.assets import ASSETS
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient


class FastComtradeClient(ComtradeClient):
    """The real client with sleeps recorded instead of slept (throttle, backoff, Retry-After)."""

    def _http(self) -> SourceHttp:
        http = super()._http()
        http.slept = []  # type: ignore[attr-defined]
        http._sleep = http.slept.append  # type: ignore[attr-defined]
        return http


def run_layer(partition_key: str, comtrade: ComtradeClient, selection=None):
    return materialize(selection or ASSETS, partition_key=partition_key,
                       resources={"comtrade": comtrade, "warehouse": Warehouse(), "site": Site()})


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A writable copy of the embedded sample (captures root; the client adds comtrade/)."""
    root = tmp_path / "captures"
    shutil.copytree(sample_captures_dir() / "comtrade", root / "comtrade")
    return root


def find_capture(root: Path, **params: str) -> Path:
    """The capture file whose request has all the given query parameters."""
    for path in sorted((root / "comtrade").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        got = dict(doc["request"]["params"])
        if all(got.get(k) == v for k, v in params.items()) and ("reporterCode" in got) == ("reporterCode" in params):
            return path
    raise LookupError(params)
