"""The whole graph in one place.

Four groups, one per folder under ``trade_pipeline/defs``, every asset partitioned by ISO week (Monday start):

    bilateral_trade_flows  UN Comtrade annual partner flows → rankings, balances, concentration (HHI), HS2 structure
    us_trade_census        US Census monthly HS2 flows      → year to date, balances, country detail, revisions
    cn_export_control      MOFCOM announcements             → parsed, classified, deduplicated policy facts, key
                                                              provisions, controls table and timeline
    policy_exposure        controlled items → HS 2022 codes → China's exports and US imports each measure touches
    trade_briefing         the weekly Traditional-Chinese briefing that cites all three layers
    data_quality           quarantined_rows: every row a source parser refused, per week, with why

A week's partition holds each layer as it was knowable at the end of that week, so one partition key selects
the whole graph and "上週" is the previous key.
"""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from trade_pipeline.core.partitions import weekly_partitions
from trade_pipeline.core.site import Site
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.bilateral_trade_flows import assets as comtrade_assets
from trade_pipeline.defs.bilateral_trade_flows import checks as comtrade_checks
from trade_pipeline.defs.bilateral_trade_flows.resources import ComtradeClient
from trade_pipeline.defs.briefing_charts.assets import build_chart_assets
from trade_pipeline.defs.cn_export_control import assets as mofcom_assets
from trade_pipeline.defs.cn_export_control import checks as mofcom_checks
from trade_pipeline.defs.cn_export_control.resources import MofcomClient
from trade_pipeline.defs.data_quality import assets as quality_assets
from trade_pipeline.defs.operations.schedules import SCHEDULES
from trade_pipeline.defs.operations.sensors import SENSORS
from trade_pipeline.defs.policy_exposure import assets as exposure_assets
from trade_pipeline.defs.trade_briefing import assets as briefing_assets
from trade_pipeline.defs.trade_briefing import checks as briefing_checks
from trade_pipeline.defs.us_trade_census import assets as census_assets
from trade_pipeline.defs.us_trade_census import checks as census_checks
from trade_pipeline.defs.us_trade_census.resources import CensusTradeClient

# One job over the whole graph. In-process: DuckDB takes one writer per file, and one process per step would
# only add start-up time to a run that is a few seconds of work.
weekly_briefing_job = define_asset_job(
    "weekly_briefing_job",
    selection=AssetSelection.all(),
    partitions_def=weekly_partitions,
    executor_def=in_process_executor,
    description="Materialize every layer and the briefing for one ISO week (or a range, as one run).",
)

_LAYER_ASSETS = [
    *comtrade_assets.ASSETS,
    *census_assets.ASSETS,
    *mofcom_assets.ASSETS,
    *exposure_assets.ASSETS,
    *quality_assets.ASSETS,
    *briefing_assets.ASSETS,
]
# The charts depend on the optional layer tables (policy_trade_exposure) that the graph actually has.
_CHART_ASSETS = build_chart_assets(key.to_user_string() for a in _LAYER_ASSETS for key in a.keys)

defs = Definitions(
    assets=[*_LAYER_ASSETS, *_CHART_ASSETS],
    asset_checks=[*comtrade_checks.CHECKS, *census_checks.CHECKS, *mofcom_checks.CHECKS, *briefing_checks.CHECKS],
    jobs=[weekly_briefing_job],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources={
        "warehouse": Warehouse(),
        "site": Site(),
        "comtrade": ComtradeClient(),
        "census": CensusTradeClient(),
        "mofcom": MofcomClient(),
    },
    executor=in_process_executor,
)
