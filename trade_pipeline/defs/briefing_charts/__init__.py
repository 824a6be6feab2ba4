"""Charts of the weekly briefing: stored chart data (one row per plotted point, each tied to its layer cell) and SVG
files beside the report (Narrator/trade_briefing/charts/<ISO week>/<chart_id>.svg), built with Vega-Altair and
vl-convert (no browser)."""
