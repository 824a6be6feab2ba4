"""UN Comtrade API v1 client (placeholder until the layer lands)."""

from typing import ClassVar

from trade_pipeline.core.source_client import SourceClient


class ComtradeClient(SourceClient):
    source_name: ClassVar[str] = "comtrade"
