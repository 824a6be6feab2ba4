"""A stand-in repository for schedule/sensor evaluation: the real job name and partitions, one trivial asset.

Evaluating a partitioned RunRequest needs the target job's partitions; using a stand-in keeps these tests
independent of the layers' assets (the real wiring is checked in test_wiring.py).
"""

from __future__ import annotations

from functools import cache

from dagster import Definitions, RepositoryDefinition, asset, define_asset_job

from trade_pipeline.core.partitions import weekly_partitions
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.operations.schedules import SCHEDULES
from trade_pipeline.defs.operations.sensors import SENSORS
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient


@asset(partitions_def=weekly_partitions)
def stand_in_week() -> None:
    """Never executed: only gives the job its weekly partitions."""


@cache
def stand_in_repository() -> RepositoryDefinition:
    job = define_asset_job("weekly_briefing_job", selection=[stand_in_week], partitions_def=weekly_partitions)
    return Definitions(
        assets=[stand_in_week],
        jobs=[job],
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources={"mofcom": MofcomClient(), "census": CensusTradeClient()},
    ).get_repository_def()
