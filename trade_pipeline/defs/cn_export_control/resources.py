"""MOFCOM export-control site client (placeholder until the layer lands)."""

from typing import ClassVar

from trade_pipeline.core.source_client import SourceClient


class MofcomClient(SourceClient):
    source_name: ClassVar[str] = "mofcom"
