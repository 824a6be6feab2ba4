"""Render and publish a fixture week the way the assets do (facts → render → verify → publish), without Dagster."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from trade_pipeline.core.partitions import iso_week_label
from trade_pipeline.core.warehouse import Warehouse
from trade_pipeline.defs.trade_briefing.facts import week_facts
from trade_pipeline.defs.trade_briefing.publish import publish
from trade_pipeline.defs.trade_briefing.render import RenderedReport, render_report

GENERATED = datetime(2026, 1, 28, 12, 0, tzinfo=UTC)


def facts_of(warehouse: Warehouse, site: Path, key: str):  # noqa: ANN201 - FactBook
    ((_, book),) = list(week_facts(warehouse, [key], site))
    return book


def render(
    warehouse: Warehouse, site: Path, key: str, write: bool = True, generated: datetime = GENERATED
) -> RenderedReport:
    """Render ``key`` from freshly built facts; ``write`` publishes it (which verifies every figure first)."""
    report = render_report(list(facts_of(warehouse, site, key)), iso_week_label(key), site, generated, [])
    if write:
        publish(warehouse, site, {key: [report]})
    return report


def section(markdown: str, heading: str) -> str:
    """The text of one '## ' section."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert m, f"section {heading!r} missing"
    return m.group(1)


def table_row(text: str, first_cell: str) -> list[str]:
    for line in text.splitlines():
        if line.startswith(f"| {first_cell} "):
            return [c.strip() for c in line.strip().strip("|").split("|")]
    raise AssertionError(f"no table row starting with {first_cell!r}")
