"""US Census international-trade API client (placeholder until the layer lands)."""

from typing import ClassVar

from trade_pipeline.core.source_client import SourceClient


class CensusTradeClient(SourceClient):
    source_name: ClassVar[str] = "census"
