"""Assets of the trade_briefing layer (placeholder until the layer lands)."""

ASSETS: list = []
