"""The graph as a Dagster user sees it: one Definitions object, every asset weekly-partitioned and single-run."""

from dagster import AssetKey
from dagster._core.definitions.backfill_policy import BackfillPolicyType

from trade_pipeline.core.partitions import weekly_partitions
from trade_pipeline.definitions import defs

#: Every asset of every group. A side table (core.table_assets: a table written by the step of another asset) is an
#: asset of its own, in its writer's group; a new table or asset is added here on purpose.
EXPECTED = {
    "bilateral_trade_flows": {
        "comtrade_partner_flows",
        "comtrade_commodity_flows",
        "partner_rankings",
        "trade_balances",
        "market_concentration",
        "commodity_structure",
        "bilateral_extractor_files",
        # side tables of the fetching steps
        "comtrade_requests",
        "comtrade_data_availability",
        "comtrade_commodity_requests",
    },
    "us_trade_census": {
        "census_monthly_flows",
        "census_trade_balance",
        "census_country_detail",
        "census_revisions",
        "census_extractor_files",
        # side tables of census_monthly_flows
        "census_release_status",
        "census_series_coverage",
    },
    "cn_export_control": {
        "mofcom_announcements",
        "mofcom_provisions",
        "mofcom_controls",
        "mofcom_extractor_files",
        "mofcom_control_timeline",  # side table of mofcom_controls
    },
    "policy_exposure": {
        "controlled_hs_map",
        "policy_exposure_inputs",
        "policy_trade_exposure",
        # side tables of policy_exposure_inputs, then of policy_trade_exposure
        "comtrade_cn_hs6_exports",
        "census_hs6_imports",
        "policy_exposure_requests",
        "policy_exposure_watchlist",
    },
    "data_quality": {"quarantined_rows"},
    "trade_briefing": {
        "briefing_charts",
        "briefing_chart_data",  # side table of briefing_charts
        "briefing_facts",
        "trade_briefing",
        "briefing_claims",  # side table of trade_briefing
        "trade_briefing_index",
    },
}


def _asset_graph():
    return defs.resolve_asset_graph()


def test_definitions_load_and_hold_every_layer() -> None:
    graph = _asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    for group, names in EXPECTED.items():
        assert names <= keys, f"{group} lacks {sorted(names - keys)}"
        for name in names:
            assert graph.get(AssetKey(name)).group_name == group
    assert keys == set().union(*EXPECTED.values()), f"not in EXPECTED: {sorted(keys - set().union(*EXPECTED.values()))}"


def test_every_asset_is_weekly_single_run_and_documented() -> None:
    graph = _asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        name = key.to_user_string()
        assert node.partitions_def == weekly_partitions, name
        assert node.backfill_policy is not None and node.backfill_policy.policy_type == BackfillPolicyType.SINGLE_RUN, (
            name
        )
        assert node.description, name
        assert node.owners, name
        assert node.kinds, name


def test_report_depends_on_all_three_layers_through_its_facts() -> None:
    graph = _asset_graph()
    facts = {k.to_user_string() for k in graph.get(AssetKey("briefing_facts")).parent_keys}
    assert {"market_concentration", "census_trade_balance", "mofcom_announcements", "briefing_charts"} <= facts
    # the report embeds the week's charts: it runs after them (and its facts read their rows)
    assert {k.to_user_string() for k in graph.get(AssetKey("trade_briefing")).parent_keys} == {
        "briefing_facts",
        "briefing_charts",
    }


def test_the_weekly_job_covers_the_whole_graph() -> None:
    job = defs.resolve_job_def("weekly_briefing_job")
    assert job.partitions_def == weekly_partitions
