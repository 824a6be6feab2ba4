"""Base class of the three source clients (Comtrade, Census, MOFCOM) as Dagster resources.

Configuration is plain data (mode, directories) so Dagster can rebuild the resource in any process. The HTTP
object is created by the ``_http()`` seam at execution time; tests swap the implementation by overriding the seam
(or by pointing ``base_url`` at a loopback server), never by smuggling a transport into a private attribute.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from dagster import ConfigurableResource, InitResourceContext

from trade_pipeline.core.http import HttpMode, SourceHttp
from trade_pipeline.core.paths import data_dir, resolve, sample_captures_dir

MODE_ENV = "TRADE_PIPELINE_HTTP_MODE"
CAPTURE_DIR_ENV = "TRADE_PIPELINE_CAPTURE_DIR"


class SourceClient(ConfigurableResource):
    """Common settings. Empty strings mean "use the default", resolved when the run executes (never at import):

    - ``mode``: ``live`` | ``record`` | ``replay``; default ``$TRADE_PIPELINE_HTTP_MODE`` or ``replay``.
    - ``capture_dir``: replay source / record target; default ``$TRADE_PIPELINE_CAPTURE_DIR`` or the embedded
      sample ``data/sample/captures``. Each source uses its own sub-folder (``comtrade/``, ``census/``, ``mofcom/``).
    - ``cache_dir``: response cache for live/record; default ``<data dir>/cache/http``.
    - ``base_url``: the source's API root (tests point it at a loopback server).
    """

    mode: str = ""
    capture_dir: str = ""
    cache_dir: str = ""
    base_url: str = ""

    # subclasses set these
    source_name: ClassVar[str] = "source"

    def resolved_mode(self) -> HttpMode:
        return HttpMode(self.mode or os.environ.get(MODE_ENV) or HttpMode.REPLAY.value)

    def resolved_capture_dir(self) -> Path:
        root = (
            resolve(self.capture_dir)
            if self.capture_dir
            else (Path(os.environ[CAPTURE_DIR_ENV]) if os.environ.get(CAPTURE_DIR_ENV) else sample_captures_dir())
        )
        return root / self.source_name

    def resolved_cache_dir(self) -> Path:
        return (resolve(self.cache_dir) if self.cache_dir else data_dir() / "cache" / "http") / self.source_name

    def http_settings(self) -> dict:
        """Per-source knobs for :class:`SourceHttp` (timeouts, rate limit, cache TTL, headers). Override."""
        return {}

    def _http(self) -> SourceHttp:
        """The seam: build the HTTP access object for this run."""
        return SourceHttp(
            self.source_name,
            self.resolved_mode(),
            capture_dir=self.resolved_capture_dir(),
            cache_dir=self.resolved_cache_dir(),
            **self.http_settings(),
        )

    @cached_property
    def http(self) -> SourceHttp:
        # One SourceHttp per resource instance (per run), so rate limits, request counts and the request dedupe
        # (each distinct request answered once) span the whole run, and nothing of it outlives the run.
        return self._http()

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Dagster hands each run its own copy of the resource; a SourceHttp already built on the configured
        # instance (a test or a sensor touched `.http`) must not be carried into the run: start from none.
        self.__dict__.pop("http", None)

    def uses_embedded_sample(self) -> bool:
        """True when this run replays the embedded offline sample (the report then shows a banner)."""
        return (
            self.resolved_mode() is HttpMode.REPLAY
            and self.resolved_capture_dir().resolve().parent == sample_captures_dir().resolve()
        )
