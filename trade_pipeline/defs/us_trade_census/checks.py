"""Standalone asset checks of the us_trade_census layer.

All of this layer's [REVIEW_NEEDED] rules are declared as check_specs on ``census_monthly_flows`` (assets.py) and
reported with every materialization, so there is nothing to list here.
"""

CHECKS: list = []
