"""Assets of the us_trade_census layer (placeholder until the layer lands)."""

ASSETS: list = []
