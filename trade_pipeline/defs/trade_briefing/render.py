"""Render one week's report (and the index) from its stored facts: the templates choose wording, facts are printed.

Escaping: every ``{{ }}`` output goes through ``finalize``: printed facts come back from the :class:`Printer` as
placeholder tokens (Markup), static strings are escaped with ``md_escape``. Templates are files in ``templates/``;
data is never compiled as a template.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup

from trade_pipeline.core import contract
from trade_pipeline.core.partitions import iso_week_label, partition_key_for_iso_week, week_end, week_start
from trade_pipeline.core.paths import write_text_atomic
from trade_pipeline.defs.trade_briefing.facts.model import ABSENT, Fact, FactTree, build_tree
from trade_pipeline.defs.trade_briefing.markdown import md_escape, split_front_matter, yaml_scalar
from trade_pipeline.defs.trade_briefing.printing import Printer, plain

TEMPLATES_DIR = Path(__file__).parent / "templates"
REPORT_DIR = "Narrator/trade_briefing"
REPORT_RE = re.compile(r"^(\d{4}-W\d{2})-trade-briefing\.md$")
RELATED_WEEKS = 4  # previous weeks linked from the front matter
LAYER_SOURCES = {
    contract.COMTRADE_LAYER: ("UN Comtrade Database", "https://comtradeplus.un.org/"),
    contract.CENSUS_LAYER: ("U.S. Census Bureau Foreign Trade", "https://www.census.gov/foreign-trade/"),
    contract.MOFCOM_LAYER: ("中國商務部出口管制資訊網", "http://exportcontrol.mofcom.gov.cn/"),
}
#: Reader-facing names of the statements a flag can touch (數據期間與限制), by slot prefix.
SUBJECT_WORDS = {
    "exports": "出口", "imports": "進口", "census.partners": "US Census", "census.revisions": "US Census 修正",
    "census.last_year": "US Census 去年同週", "census.largest_deficit_balance": "US Census 最大逆差",
    "concentration.rows": "HHI", "concentration.low": "最低 HHI", "concentration.high": "最高 HHI",
    "summary.surplus": "最大雙邊順差", "summary": "摘要", "limits": "資料說明", "watch": "觀察清單",
    "policies": "政策條目", "controls": "管制措施一覽", "exposure": "管制物項貿易曝險",
}


def report_relpath(iso_week: str) -> str:
    return f"{REPORT_DIR}/{iso_week}-trade-briefing.md"


def report_url(iso_week: str) -> str:
    return f"/{REPORT_DIR}/{iso_week}-trade-briefing/"


def existing_reports(site_root: Path) -> list[str]:
    """ISO weeks of the reports present in the site, newest first."""
    folder = site_root / REPORT_DIR
    if not folder.is_dir():
        return []
    weeks = [m.group(1) for p in folder.iterdir() if (m := REPORT_RE.match(p.name))]
    return sorted(weeks, reverse=True)


def _finalize(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    if isinstance(value, Fact):
        raise TypeError(f"fact {value.slot} printed without `| p` (it would escape its claim)")
    if value is None or value is ABSENT:
        return Markup("--")
    return Markup(md_escape(value))


@pass_context
def _print(ctx: Any, fact: Any) -> Markup:
    return ctx["printer"](fact)


@pass_context
def _ref(ctx: Any, path: Any) -> Any:
    return ctx["F"].get_path(str(path))


def _words(codes: Any, lang: str = "zh") -> str:
    return "、".join(contract.flag_words(contract.split_flags(str(codes or "")), lang))


@pass_context
def _subject(ctx: Any, path: Any) -> Markup:
    """'exports.842' → 美國出口 (the subtree's name, printed as a fact, and the statement's kind)."""
    path = str(path)
    node = ctx["F"].get_path(path)
    prefix = next((k for k in sorted(SUBJECT_WORDS, key=len, reverse=True) if path == k or path.startswith(k + ".")),
                  None)
    word = SUBJECT_WORDS.get(prefix or "", "其他數字")
    name = node.get("name") if isinstance(node, FactTree) else None
    if isinstance(name, Fact) and not name.missing:
        return Markup(f"{ctx['printer'](name)}{word}")
    return Markup(word)


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates' environment, built once per process (jinja keeps each compiled template)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["p"] = _print
    env.filters["ref"] = _ref
    env.filters["words"] = _words
    env.filters["subject"] = _subject
    env.filters["plain"] = plain
    env.filters["yaml"] = lambda v: Markup(yaml_scalar(v))
    env.filters["md"] = lambda v: v if isinstance(v, Markup) else Markup(md_escape(v))
    return env


@dataclass
class RenderedReport:
    iso_week: str
    relpath: str
    markdown: str
    claims: pl.DataFrame
    cited: list[str]
    front: dict[str, Any]

    @property
    def printed_facts(self) -> int:
        """Facts printed (the claims table also holds one layout row per line)."""
        return self.claims.filter(pl.col("slot").is_not_null()).height


def front_matter(tree: FactTree, iso_week: str, site_root: Path, generated_at: datetime) -> dict[str, Any]:
    others = [w for w in existing_reports(site_root) if w != iso_week]
    newer = [w for w in others if w > iso_week]
    older = [w for w in others if w < iso_week][:RELATED_WEEKS]
    y, w = iso_week.split("-W")
    top = tree.get_path("policies.entries.1")
    head = plain(top.title) if top else "本週無新政策"
    items = [i for i in plain(tree.get_path("summary.controlled") or None).split("、") if i][:6]
    # a backfilled week sorts by its own as-of date (its Sunday); a report made before then carries its run date
    as_of = week_end(partition_key_for_iso_week(iso_week))
    generated = generated_at.astimezone(timezone.utc).date()
    return {
        "title": f"{y} 年第 {w} 週",
        "nav_order": len(newer) + 1,
        "description": f"{head}；各報告國出口市場 HHI 集中度分析",
        "date": min(as_of, generated).isoformat(),
        "keywords": ", ".join(["國際貿易", "中國", *items, "出口管制", "HHI", "市場集中度", y]),
        "related_reports": [report_url(o) for o in older],
    }


def _cited(tree: FactTree) -> dict[str, list[Fact]]:
    """Per layer, the Extractor files the week's facts come from (one fact per path, in path order)."""
    out: dict[str, dict[str, Fact]] = {layer: {} for layer in LAYER_SOURCES}

    def walk(node: Any) -> None:
        for child in node.values():
            if isinstance(child, FactTree):
                walk(child)
            elif child.kind == "code" and child.text and child.text.startswith(f"{contract.EXTRACTOR_ROOT}/"):
                layer = child.text.split("/")[1]
                if layer in out:
                    out[layer].setdefault(child.text, child)

    walk(tree)
    return {layer: [paths[p] for p in sorted(paths)] for layer, paths in out.items()}


def _body_start(rendered: str) -> int:
    """Index of the first body line (after the closing '---' of the front matter)."""
    lines = rendered.split("\n")
    if lines and lines[0] == "---":
        for i in range(1, len(lines)):
            if lines[i] == "---":
                return i + 1
    return 0


def render_report(facts: list[Fact], iso_week: str, site_root: Path, generated_at: datetime,
                  sample_sources: list[str], template: str = "trade_briefing.md.j2",
                  relpath: str | None = None) -> RenderedReport:
    tree = build_tree(facts)
    relpath = relpath or report_relpath(iso_week)
    printer = Printer(iso_week, relpath)
    front = front_matter(tree, iso_week, site_root, generated_at)
    cited = _cited(tree)
    rendered = environment().get_template(template).render(
        F=tree, printer=printer, front=front, sample_sources=sample_sources, layer_sources=LAYER_SOURCES,
        generated_at=generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cited={layer: [printer(f) for f in fs] for layer, fs in cited.items()},
    )
    markdown, claims = printer.resolve(rendered, _body_start(rendered))
    return RenderedReport(iso_week, relpath, markdown, printer.frame(claims, split_front_matter(markdown)[1]),
                          sorted(f.text for fs in cited.values() for f in fs), front)


# --- index --------------------------------------------------------------------------------------------------------

def read_front_matter(path: Path) -> dict[str, Any]:
    fm, _ = split_front_matter(path.read_text(encoding="utf-8"))
    data = yaml.safe_load(fm) if fm else None
    return data if isinstance(data, dict) else {}


def renumber_nav_order(site_root: Path) -> list[str]:
    """Keep nav_order newest = 1 across the reports present (a newer week shifts the older ones). Only the front
    matter changes, so claim positions (lines of the body) stay valid."""
    changed = []
    for i, week in enumerate(existing_reports(site_root), start=1):
        path = site_root / report_relpath(week)
        text = path.read_text(encoding="utf-8")
        fm, body = split_front_matter(text)
        if fm is None:
            continue
        new_fm = re.sub(r"(?m)^nav_order: \d+$", f"nav_order: {i}", fm)
        if new_fm != fm:
            write_text_atomic(path, f"---\n{new_fm}\n---\n{body}")  # two runs renumbering at once never collide
            changed.append(week)
    return changed


def render_index(site_root: Path) -> tuple[str, list[dict[str, Any]]]:
    entries = []
    for week in existing_reports(site_root):
        fm = read_front_matter(site_root / report_relpath(week))
        key = partition_key_for_iso_week(week)
        # Front matter values were escaped when the report was written: mark them safe, never escape twice.
        entries.append({"week": week, "title": Markup(md_escape(fm.get("title", week))),
                        "description": Markup(str(fm.get("description", ""))),
                        "start": week_start(key), "end": week_end(key), "file": f"{week}-trade-briefing.md"})
    text = environment().get_template("index.md.j2").render(entries=entries)
    return text, entries


def narrative_week(key: str | None) -> str | None:
    return iso_week_label(key) if key else None
