"""What one week's report reads: each contract table's partition for the week, last week and the same week last year."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup

from trade_pipeline.core import contract
from trade_pipeline.core.partitions import (
    iso_week_label,
    previous_partition_key,
    same_week_last_year_key,
    week_end,
    week_start,
)
from trade_pipeline.core.warehouse import Warehouse

CURRENT_TABLES = (
    "partner_rankings",
    "trade_balances",
    "market_concentration",
    "commodity_structure",
    "census_trade_balance",
    "census_country_detail",
    "census_revisions",
    "census_release_status",
    "mofcom_announcements",
    # section 三: key provisions, the controls table, the timeline, the exposure tables and their watch list
    "mofcom_provisions",
    "mofcom_controls",
    "mofcom_control_timeline",
    "policy_trade_exposure",
    "policy_exposure_watchlist",
    # the week's charts (embedded when their row is 'ok'; facts/charts.py)
    "briefing_charts",
)
#: Last week's partition of these is read for 上週 and 本週變化 (facts/changes.py); ``briefing_facts`` is last week's
#: stored facts (their review flags), which a single-run backfill replaces by the facts it built for that week.
PREVIOUS_TABLES = (
    "market_concentration",
    "census_trade_balance",
    "partner_rankings",
    "census_release_status",
    "mofcom_announcements",
    "briefing_facts",
)
LAST_YEAR_TABLES = ("market_concentration", "census_trade_balance")

Rows = list[dict[str, Any]]
_SAFE_PATH = re.compile(r"^Extractor/[\w./-]+\.md$")


@dataclass
class WeekInputs:
    key: str
    iso_week: str
    start: date
    end: date
    prev_key: str
    last_year_key: str | None
    current: dict[str, Rows] = field(default_factory=dict)
    previous: dict[str, Rows] = field(default_factory=dict)
    last_year: dict[str, Rows] = field(default_factory=dict)
    #: the layer rows the week's charts are drawn from (briefing_charts.data.WeekTables; None: not read)
    chart_tables: Any = None

    def rows(self, table: str) -> Rows:
        return self.current.get(table, [])


def _week_shell(key: str) -> WeekInputs:
    return WeekInputs(
        key=key,
        iso_week=iso_week_label(key),
        start=week_start(key),
        end=week_end(key),
        prev_key=previous_partition_key(key),
        last_year_key=same_week_last_year_key(key),
    )


def load_week_inputs(warehouse: Warehouse, key: str) -> WeekInputs:
    return next(load_weeks_inputs(warehouse, [key]))


def load_weeks_inputs(warehouse: Warehouse, keys: list[str], chunk_weeks: int = 4) -> Iterator[WeekInputs]:
    """:func:`load_week_inputs` for several weeks, in the order of ``keys``, with each table read once per chunk of
    ``chunk_weeks`` weeks (one query over every week of the chunk it is needed for, in one warehouse session), so
    memory stays bounded by the chunk. Call it only once the upstream tables of every week in ``keys`` are written
    (a single-run backfill: the report's upstream steps have all run)."""
    for first in range(0, len(keys), max(1, chunk_weeks)):
        shells = [_week_shell(k) for k in keys[first : first + max(1, chunk_weeks)]]
        needed: dict[str, set[str]] = {}
        for inp in shells:
            for t in CURRENT_TABLES:
                needed.setdefault(t, set()).add(inp.key)
            for t in PREVIOUS_TABLES:
                needed.setdefault(t, set()).add(inp.prev_key)
            if inp.last_year_key:
                for t in LAST_YEAR_TABLES:
                    needed.setdefault(t, set()).add(inp.last_year_key)
        with warehouse.session(read_only=True):
            frames = {t: warehouse.read_partitions(t, sorted(weeks)) for t, weeks in needed.items()}

        def rows(table: str, key: str, frames=frames) -> Rows:
            df = frames[table][key]
            return df.to_dicts() if df.height else []

        for inp in shells:
            ly = inp.last_year_key
            inp.current = {t: rows(t, inp.key) for t in CURRENT_TABLES}
            inp.previous = {t: rows(t, inp.prev_key) for t in PREVIOUS_TABLES}
            inp.last_year = {t: (rows(t, ly) if ly else []) for t in LAST_YEAR_TABLES}
            yield inp
        frames.clear()  # the chunk's frames are not held while the next chunk is read


class ExtractorFiles:
    """Resolves the Extractor files a statement may cite; only files that exist under the site root are cited."""

    def __init__(self, site_root: Path):
        self.root = site_root

    def first_existing(self, *relative: str) -> Markup | None:
        """The first of ``relative`` that exists, as safe markup (paths are plain ``[\\w./-]`` text)."""
        for rel in relative:
            if rel and _SAFE_PATH.match(rel) and ".." not in rel and (self.root / rel).is_file():
                return Markup(rel)
        return None

    def comtrade(self, category: str, reporter_code: int, year: int) -> str | None:
        return self.first_existing(contract.comtrade_extractor_path(category, reporter_code, year))

    def census(self, category: str, cty_code: str, year: int) -> str | None:
        return self.first_existing(contract.census_extractor_path(category, cty_code, year))

    def mofcom(self, extractor_path: str | None) -> str | None:
        if not extractor_path or not extractor_path.startswith("Extractor/"):
            return None
        return self.first_existing(extractor_path)
