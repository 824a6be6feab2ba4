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
    return materialize(
        selection or ASSETS,
        partition_key=partition_key,
        resources={"comtrade": comtrade, "warehouse": Warehouse(), "site": Site()},
    )


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


# ---------------------------------------------------------------------------------------------------------------------
# A loopback Comtrade built from capture files (pytest-httpserver): preview, keyed (flow/period lists) and getDa.


class FakeComtrade:
    """Serves the capture files' bodies the way the real API would for any query shape the client sends:

    - ``/public/v1/preview/C/A/HS`` and ``/data/v1/get/C/A/HS`` (the latter needs the subscription key header):
      the rows of every requested flow × period are concatenated; an unknown combination answers ``count: 0``.
    - ``/public/v1/getDa/C/A/HS``: the recorded availability rows of the requested periods.

    Every request is recorded in ``requests`` (path, query pairs, key header). ``respond`` may return a werkzeug
    Response (or a dict envelope) to override the answer for a request; ``None`` keeps the default.
    """

    def __init__(self, captures_root: Path, api_key: str | None = None):
        self.api_key = api_key
        self.requests: list[dict] = []
        self.respond = None
        self.rows: dict[tuple, list[dict]] = {}
        self.availability: list[dict] = []
        for path in sorted((captures_root / "comtrade").glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            params = dict(doc["request"]["params"])
            body = json.loads(doc["response"]["body"])
            if "getDa" in doc["request"]["url"]:  # one reply per candidate-year set: each dataset listed once
                known = {r["datasetCode"] for r in self.availability}
                self.availability += [r for r in body["data"] if r["datasetCode"] not in known]
                continue
            key = (
                params.get("reporterCode"),
                params.get("partnerCode"),
                params["cmdCode"],
                params["flowCode"],
                params["period"],
            )
            self.rows[key] = body["data"]

    # -- what the tests look at ------------------------------------------------------------------------------------
    def data_requests(self) -> list[dict]:
        return [r for r in self.requests if "getDa" not in r["path"]]

    # -- the server side -------------------------------------------------------------------------------------------
    def __call__(self, request):
        from werkzeug import Response

        args = list(request.args.items(multi=True))
        params = dict(args)
        self.requests.append(
            {
                "path": request.path,
                "args": args,
                "params": params,
                "key_header": request.headers.get("Ocp-Apim-Subscription-Key"),
            }
        )
        if self.respond is not None:
            custom = self.respond(request.path, params)
            if isinstance(custom, Response):
                return custom
            if isinstance(custom, dict):
                return Response(json.dumps(custom), status=200, content_type="application/json; charset=utf-8")
        if request.path.startswith("/data/") and (
            not self.api_key or request.headers.get("Ocp-Apim-Subscription-Key") != self.api_key
        ):
            return Response(
                json.dumps({"statusCode": 401, "message": "Access denied due to invalid subscription key."}),
                status=401,
                content_type="application/json",
            )
        periods = [p for p in params.get("period", "").split(",") if p]
        if request.path.endswith("/getDa/C/A/HS"):
            data = [r for r in self.availability if not periods or str(r["period"]) in periods]
        else:
            data = []
            for flow in params.get("flowCode", "").split(","):
                for period in periods:
                    data += self.rows.get(
                        (params.get("reporterCode"), params.get("partnerCode"), params.get("cmdCode"), flow, period), []
                    )
        body = {"elapsedTime": "0.01 secs", "count": len(data), "data": data, "error": ""}
        return Response(json.dumps(body), status=200, content_type="application/json; charset=utf-8")


@pytest.fixture
def fake_comtrade(httpserver) -> FakeComtrade:
    import re

    fake = FakeComtrade(sample_captures_dir(), api_key=API_KEY)
    httpserver.expect_request(re.compile(r"^/.*")).respond_with_handler(fake)
    fake.base_url = httpserver.url_for("/")  # type: ignore[attr-defined]
    return fake


API_KEY = "0123456789abcdef0123456789abcdef"  # 32 characters, like a real subscription key; a test value
