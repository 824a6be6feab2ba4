"""Assemble one week's facts and render the report (and the index) from the jinja templates.

Escaping: every ``{{ }}`` output goes through ``finalize``. Values already made safe (figures from the
ClaimRecorder, text escaped by it) are ``Markup``; anything else — a stray scraped string — is escaped with
``md_escape``. Templates are files in ``templates/``; data is never compiled as a template.
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
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from trade_pipeline.core.partitions import partition_key_for_iso_week, week_end, week_start
from trade_pipeline.core.paths import write_text_atomic
from trade_pipeline.defs.trade_briefing import narrative, policy, watchlist
from trade_pipeline.defs.trade_briefing.claims import ClaimRecorder
from trade_pipeline.defs.trade_briefing.inputs import ExtractorFiles, WeekInputs
from trade_pipeline.defs.trade_briefing.markdown import EXTRACTOR_PATH_RE, md_escape, split_front_matter, yaml_scalar

TEMPLATES_DIR = Path(__file__).parent / "templates"
REPORT_DIR = "Narrator/trade_briefing"
REPORT_RE = re.compile(r"^(\d{4}-W\d{2})-trade-briefing\.md$")
RELATED_WEEKS = 4  # previous weeks linked from the front matter
LAYER_SOURCES = {
    "bilateral_trade_flows": ("UN Comtrade Database", "https://comtradeplus.un.org/"),
    "us_trade_census": ("U.S. Census Bureau Foreign Trade", "https://www.census.gov/foreign-trade/"),
    "cn_export_control": ("中國商務部出口管制資訊網", "http://exportcontrol.mofcom.gov.cn/"),
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
    if value is None:
        return Markup("--")
    return Markup(md_escape(value))


def short_title(title: Any) -> Markup:
    """An HS chapter title up to its first '；' (the seed's short form: HS85 電機與設備及其零件)."""
    text = title if isinstance(title, Markup) else Markup(md_escape(title))
    return Markup(str(text).split("；")[0])


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates' environment, built once per process: jinja compiles each template on first use and keeps it
    (re-checking the file's mtime), so the weeks of a backfill do not compile the report template again."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        # autoescape on so macro output stays Markup (never escaped twice); finalize applies the markdown escaper
        # first, so values are md-escaped rather than HTML-escaped.
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["yaml"] = lambda v: Markup(yaml_scalar(v))
    env.filters["md"] = lambda v: v if isinstance(v, Markup) else Markup(md_escape(v))
    env.filters["short_title"] = short_title
    return env


@dataclass
class RenderedReport:
    iso_week: str
    relpath: str
    markdown: str
    claims: pl.DataFrame
    cited: list[str]
    facts: dict[str, Any]


def _summary(inp: WeekInputs, rec: ClaimRecorder, files: ExtractorFiles, exports: list[dict[str, Any]],
             census: dict[str, Any] | None, conc: dict[str, Any], policies: list[dict[str, Any]]) -> dict[str, Any]:
    # reported series only: the Taiwan mirror estimate (158) is mentioned separately, never counted as a reporter
    reporters_x = sorted({r["reporter_code"] for r in inp.rows("market_concentration")
                          if r["flow"] == "X" and not r.get("is_mirror")})
    ann = inp.rows("mofcom_announcements")
    fresh = policy.new_this_week(inp)
    controlled = []
    for p in policies:
        for item in policy.split_items(p["row"].get("controlled_items")):
            if item not in controlled:
                controlled.append(item)
    return {
        "reporter_count": rec.count(len(reporters_x), "market_concentration",
                                    {"week_start": inp.key, "flow": "X", "is_mirror": False},
                                    distinct="reporter_code") if reporters_x else None,
        "reporter_names": [e["name"] for e in exports if not e["missing"] and not e["is_mirror"]],
        "mirror_names": [e["name"] for e in exports if not e["missing"] and e["is_mirror"]],
        "years": sorted({e["year"] for e in exports if e["year"]}),
        "surplus": narrative.largest_surplus(inp, rec, files),
        "census": census,
        "low": conc["low"], "high": conc["high"],
        "announcements": rec.count(len(ann), "mofcom_announcements", {"week_start": inp.key}) if ann else None,
        "new_announcements": rec.count(len(fresh), "mofcom_announcements", {
            "week_start": inp.key, "publish_date": {"between": [inp.start.isoformat(), inp.end.isoformat()]}}),
        "has_new": bool(fresh),
        "top_policy": policies[0] if policies else None,
        "controlled": [Markup(md_escape(c)) for c in controlled if not any(ch.isdigit() for ch in c)],
        "revisions": rec.count(len(inp.rows("census_revisions")), "census_revisions", {"week_start": inp.key})
        if inp.rows("census_revisions") else None,
    }


def _limitations(inp: WeekInputs, rec: ClaimRecorder, exports: list[dict[str, Any]], imports: list[dict[str, Any]],
                 census: dict[str, Any] | None) -> dict[str, Any]:
    years_by_reporter = {}
    for r in inp.rows("partner_rankings"):
        years_by_reporter.setdefault(r["reporter_code"], set()).add(r["year"])
    ann = inp.rows("mofcom_announcements")
    status_counts = []
    for status, label in policy.FETCH_NOTE.items():
        n = sum(1 for r in ann if r.get("fetch_status") == status)
        if n:
            status_counts.append({"label": label, "count": rec.count(
                n, "mofcom_announcements", {"week_start": inp.key, "fetch_status": status})})
    flagged = sum(1 for r in ann if (r.get("review_flags") or "") != "")
    dates = sorted(d for r in ann if (d := policy._as_date(r.get("publish_date"))))
    release = inp.rows("census_release_status")
    totals = [r for r in inp.rows("census_trade_balance") if r["hs2"] == "TOTAL"]
    return {
        "comtrade": [{"name": e["name"], "code": e["code"], "year": e["year"],
                      "available": sorted(years_by_reporter.get(e["code"], set())),
                      "is_mirror": e["is_mirror"], "confidence": e.get("confidence", ""),
                      "missing": e["missing"], "flags": e["flags"]} for e in exports],
        "import_flags": [{"name": i["name"], "flags": i["flags"]} for i in imports if i.get("review")],
        "census": census,
        "census_partners": rec.count(len(totals), "census_trade_balance", {"week_start": inp.key, "hs2": "TOTAL"})
        if totals else None,
        "census_as_of": release[0].get("as_of") if release else None,
        "announcements": rec.count(len(ann), "mofcom_announcements", {"week_start": inp.key}) if ann else None,
        "first_date": dates[0] if dates else None, "last_date": dates[-1] if dates else None,
        "status_counts": status_counts,
        "flagged": rec.count(flagged, "mofcom_announcements", {"week_start": inp.key, "review_flags": {"ne": ""}})
        if flagged else None,
        "max_items": policy.MAX_POLICY_ITEMS,
    }


def _cited_by_layer(markdown: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {layer: [] for layer in LAYER_SOURCES}
    for path in EXTRACTOR_PATH_RE.findall(markdown):
        layer = path.split("/")[1]
        if layer in out and path not in out[layer]:
            out[layer].append(path)
    # EXTRACTOR_PATH_RE admits only [\w./-] text: safe to print as is (a code span shows backslashes literally)
    return {k: [Markup(p) for p in sorted(v)] for k, v in out.items()}


def front_matter_facts(inp: WeekInputs, site_root: Path, policies: list[dict[str, Any]], year: int | None) -> dict[str, Any]:
    others = [w for w in existing_reports(site_root) if w != inp.iso_week]
    newer = [w for w in others if w > inp.iso_week]
    older = [w for w in others if w < inp.iso_week][:RELATED_WEEKS]
    y, w = inp.iso_week.split("-W")
    top = policies[0]["row"] if policies else None
    items = []
    for p in policies[:3]:
        for item in policy.split_items(p["row"].get("controlled_items")):
            if item not in items:
                items.append(item)
    head = (top.get("title_zh_tw") or top.get("title")) if top else "本週無新政策"
    return {
        "title": f"{y} 年第 {w} 週",
        "nav_order": len(newer) + 1,
        "description": f"{md_escape(head)}；各報告國出口市場 HHI 集中度分析",
        "keywords": ", ".join(["國際貿易", "中國", *items, "出口管制", "HHI", "市場集中度", y]),
        "related_reports": [report_url(o) for o in older],
    }


def render_report(inp: WeekInputs, site_root: Path, generated_at: datetime, sample_sources: list[str]) -> RenderedReport:
    rec = ClaimRecorder(inp.iso_week)
    files = ExtractorFiles(site_root)
    codes = narrative.reporters(inp)
    exports = [narrative.country_flow(inp, rec, files, rc, "X") for rc in codes]
    imports = [narrative.country_flow(inp, rec, files, rc, "M") for rc in codes]
    census = narrative.census_facts(inp, rec, files)
    conc = narrative.concentration_table(inp, rec, files)
    policies = policy.policy_items(inp, rec, files)
    impacts = policy.supply_chain_impacts(policies)
    watch = watchlist.watch_items(inp, rec, files, census, exports, conc, policies)
    facts = {
        "iso_week": inp.iso_week, "key": inp.key, "start": inp.start, "end": inp.end,
        "prev_iso_week": narrative_week(inp.prev_key), "last_year_iso_week": narrative_week(inp.last_year_key),
        "generated_at": generated_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "date": generated_at.astimezone(timezone.utc).date().isoformat(),
        "sample_sources": sample_sources,
        "front": front_matter_facts(inp, site_root, policies, None),
        "summary": _summary(inp, rec, files, exports, census, conc, policies),
        "exports": exports, "imports": imports, "census": census, "concentration": conc,
        "policies": policies, "impacts": impacts, "watch": watch,
        "limitations": _limitations(inp, rec, exports, imports, census),
        "layer_sources": LAYER_SOURCES,
    }
    template = environment().get_template("trade_briefing.md.j2")
    # Two passes: the 資料來源 section lists exactly the files the body cites.
    first = template.render(**facts, cited={k: [] for k in LAYER_SOURCES})
    cited = _cited_by_layer(first)
    markdown = template.render(**facts, cited=cited)
    claims = rec.frame().unique(maintain_order=True)
    _, body = split_front_matter(markdown)
    # Keep only claims whose text is printed: the table is "one row per number printed in the report".
    claims = claims.filter(pl.lit(body).str.contains(pl.col("claim_text"), literal=True))
    return RenderedReport(inp.iso_week, report_relpath(inp.iso_week), markdown, claims,
                          sorted({p for v in cited.values() for p in v}), facts)


def narrative_week(key: str | None) -> str | None:
    from trade_pipeline.core.partitions import iso_week_label

    return iso_week_label(key) if key else None


# --- index --------------------------------------------------------------------------------------------------------

def read_front_matter(path: Path) -> dict[str, Any]:
    fm, _ = split_front_matter(path.read_text(encoding="utf-8"))
    data = yaml.safe_load(fm) if fm else None
    return data if isinstance(data, dict) else {}


def renumber_nav_order(site_root: Path) -> list[str]:
    """Keep nav_order newest = 1 across the reports present (a newer week shifts the older ones)."""
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
