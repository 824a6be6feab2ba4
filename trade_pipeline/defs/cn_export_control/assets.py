"""Assets of the cn_export_control layer (placeholder until the layer lands)."""

ASSETS: list = []
