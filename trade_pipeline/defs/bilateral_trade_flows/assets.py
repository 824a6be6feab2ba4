"""Assets of the bilateral_trade_flows layer (placeholder until the layer lands)."""

ASSETS: list = []
