"""Render one week's report (and the index) from its stored facts: the templates choose wording, facts are printed.

Escaping: every ``{{ }}`` output goes through ``finalize``: printed facts come back from the :class:`Printer` as
placeholder tokens (Markup), static strings are escaped with ``md_escape``. Templates are files in ``templates/``;
data is never compiled as a template.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup

from trade_pipeline.core import contract
from trade_pipeline.core.partitions import iso_week_label, partition_key_for_iso_week, week_end, week_start
from trade_pipeline.core.paths import write_text_atomic
from trade_pipeline.defs.trade_briefing.facts.model import ABSENT, Fact, FactTree, build_tree
from trade_pipeline.defs.trade_briefing.markdown import md_escape, split_front_matter, yaml_scalar
from trade_pipeline.defs.trade_briefing.names import needs_the
from trade_pipeline.defs.trade_briefing.printing import REVIEW_MARK, Printer, is_english, marked, plain

TEMPLATES_DIR = Path(__file__).parent / "templates"
REPORT_DIR = "Narrator/trade_briefing"
REPORT_RE = re.compile(r"^(\d{4}-W\d{2})-trade-briefing\.md$")
#: Any edition of a week's report: the zh-TW one (no tag) or '….<lang>.md'.
EDITION_FILE_RE = re.compile(r"^(\d{4}-W\d{2})-trade-briefing(?:\.([a-z]{2}(?:-[A-Za-z]{2})?))?\.md$")
ZH, EN = "zh-TW", "en"
#: The editions, in the order they are rendered and listed: language -> (file tag, template).
EDITIONS: dict[str, tuple[str, str]] = {
    ZH: ("", "trade_briefing.md.j2"),
    EN: (".en", "trade_briefing.en.md.j2"),
}
#: ``--lang`` / BriefingConfig.lang values -> the editions they render.
LANG_CHOICES: dict[str, tuple[str, ...]] = {"zh-TW": (ZH,), "en": (EN,), "both": (ZH, EN)}
RELATED_WEEKS = 4  # previous weeks linked from the front matter
LAYER_SOURCES = {
    contract.COMTRADE_LAYER: ("UN Comtrade Database", "https://comtradeplus.un.org/"),
    contract.CENSUS_LAYER: ("U.S. Census Bureau Foreign Trade", "https://www.census.gov/foreign-trade/"),
    contract.MOFCOM_LAYER: ("中國商務部出口管制資訊網", "http://exportcontrol.mofcom.gov.cn/"),
}
LAYER_SOURCES_EN = {
    **LAYER_SOURCES,
    contract.MOFCOM_LAYER: (
        "China Ministry of Commerce, export control information",
        "http://exportcontrol.mofcom.gov.cn/",
    ),
}
#: Reader-facing names of the statements a flag can touch (數據期間與限制), by slot prefix.
SUBJECT_WORDS = {
    "exports": "出口",
    "imports": "進口",
    "census.partners": "US Census",
    "census.revisions": "US Census 修正",
    "census.last_year": "US Census 去年同週",
    "census.largest_deficit_balance": "US Census 最大逆差",
    "concentration.rows": "HHI",
    "concentration.low": "最低 HHI",
    "concentration.high": "最高 HHI",
    "summary.surplus": "最大雙邊順差",
    "summary": "摘要",
    "limits": "資料說明",
    "watch": "觀察清單",
    "policies": "政策條目",
    "controls": "管制措施一覽",
    "exposure": "管制物項貿易曝險",
    "overview": "概覽",
    "changes": "本週變化",
    "charts": "圖表",
}
SUBJECT_WORDS_EN = {
    "exports": "exports",
    "imports": "imports",
    "census.partners": "US Census",
    "census.revisions": "US Census revision",
    "census.last_year": "US Census same week last year",
    "census.largest_deficit_balance": "US Census largest deficit",
    "concentration.rows": "HHI",
    "concentration.low": "lowest HHI",
    "concentration.high": "highest HHI",
    "summary.surplus": "largest bilateral surplus",
    "summary": "summary",
    "limits": "data notes",
    "watch": "watch list",
    "overview": "overview",
    "changes": "changes this week",
    "policies": "policy items",
    "controls": "controls table",
    "exposure": "trade exposure of controlled items",
    "charts": "charts",
}


def langs_of(choice: str) -> tuple[str, ...]:
    """The editions a ``--lang`` choice renders ('both' → zh-TW and English)."""
    try:
        return LANG_CHOICES[choice]
    except KeyError:
        raise ValueError(f"unknown report language {choice!r} (choose one of {', '.join(LANG_CHOICES)})") from None


def report_relpath(iso_week: str, lang: str = ZH) -> str:
    return f"{REPORT_DIR}/{iso_week}-trade-briefing{EDITIONS[lang][0]}.md"


def report_url(iso_week: str, lang: str = ZH) -> str:
    return f"/{REPORT_DIR}/{iso_week}-trade-briefing{EDITIONS[lang][0]}/"


def edition_files(site_root: Path) -> dict[str, dict[str, str]]:
    """ISO week -> language -> file name, for every edition present in the site."""
    folder = site_root / REPORT_DIR
    out: dict[str, dict[str, str]] = {}
    if not folder.is_dir():
        return out
    for p in folder.iterdir():
        m = EDITION_FILE_RE.match(p.name)
        if m and (m.group(2) or ZH) in EDITIONS:
            out.setdefault(m.group(1), {})[m.group(2) or ZH] = p.name
    return out


def existing_reports(site_root: Path) -> list[str]:
    """ISO weeks with a report (any edition) present in the site, newest first."""
    return sorted(edition_files(site_root), reverse=True)


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


class Notes:
    """Numbered source notes of one section. ``note(sources, …)`` in the prose prints 〔n〕 (the same sources get the
    same number); ``notes.take()`` at the section's end returns the section's notes (number, source facts or a
    fallback text) and starts the next section at 〔1〕. The note numbers are not figures (verify ignores 〔n〕);
    the source paths are printed facts."""

    def __init__(self) -> None:
        self.items: list[list[Fact] | str] = []
        self.index: dict[tuple[str, ...], int] = {}

    @staticmethod
    def _facts(sources: Any) -> list[Fact]:
        if isinstance(sources, Fact):
            return [] if sources.missing else [sources]
        if isinstance(sources, FactTree):
            out: list[Fact] = []
            for child in sources.values():
                out += Notes._facts(child)
            return out
        if isinstance(sources, (list, tuple)):
            return [f for s in sources for f in Notes._facts(s)]
        return []

    def __call__(self, *sources: Any, fallback: str | None = None) -> Markup:
        facts: list[Fact] = []
        for s in sources:
            for f in self._facts(s):
                if all(f.text != g.text for g in facts):
                    facts.append(f)
        item: list[Fact] | str | None = facts or fallback
        if not item:
            return Markup("")
        key = tuple(f.text or "" for f in facts) if facts else ("", str(fallback))
        if key not in self.index:
            self.items.append(item)
            self.index[key] = len(self.items)
        return Markup(f"〔{self.index[key]}〕")

    def take(self) -> list[tuple[int, list[Fact] | str]]:
        out = list(enumerate(self.items, start=1))
        self.items, self.index = [], {}
        return out


@pass_context
def _ref(ctx: Any, path: Any) -> Any:
    return ctx["F"].get_path(str(path))


def _rule_en(rule_id: Any) -> dict[str, str]:
    """The English wording of a reviewed supply-chain rule (title_en/text_en of the rules file)."""
    from trade_pipeline.defs.trade_briefing.facts.policy import load_rules

    rule = next((r for r in load_rules() if r["id"] == str(rule_id)), {})
    return {
        "title": rule.get("title_en") or rule.get("title", str(rule_id)),
        "text": rule.get("text_en") or rule.get("text", ""),
    }


@pass_context
def _gather(ctx: Any, node: Any, attr: str = "sources", deref: bool = False, target: str = "sources") -> list[Any]:
    """The ``attr`` child of each child of ``node`` (with ``deref``: of the statement each child's ``attr`` enum
    refers to, its ``target`` child) — e.g. every reporter's sources, for one note over a sentence about them all."""
    out = []
    for child in node.values() if isinstance(node, FactTree) else []:
        if not isinstance(child, FactTree):
            continue
        if deref:
            ref = child.get(attr)
            target_node = ctx["F"].get_path(ref.text) if isinstance(ref, Fact) and ref.text else ABSENT
            value = target_node.get(target) if isinstance(target_node, FactTree) else None
        else:
            value = child.get(attr)
        if value is not None:
            out.append(value)
    return out


@pass_context
def _words(ctx: Any, codes: Any) -> str:
    english = is_english(ctx.get("lang"))
    return ("; " if english else "、").join(
        contract.flag_words(contract.split_flags(str(codes or "")), "en" if english else "zh")
    )


@pass_context
def _subject(ctx: Any, path: Any) -> Markup:
    """'exports.842' → 美國出口 / 'United States exports' (the subtree's name, printed as a fact, and the
    statement's kind)."""
    path = str(path)
    english = is_english(ctx.get("lang"))
    words = SUBJECT_WORDS_EN if english else SUBJECT_WORDS
    node = ctx["F"].get_path(path)
    prefix = next((k for k in sorted(words, key=len, reverse=True) if path == k or path.startswith(k + ".")), None)
    word = words.get(prefix or "", "other figures" if english else "其他數字")
    name = node.get("name_en" if english else "name") if isinstance(node, FactTree) else None
    if isinstance(name, Fact) and not name.missing:
        return Markup(f"{ctx['printer'](name)} {word}" if english else f"{ctx['printer'](name)}{word}")
    return Markup(word)


class _TemplateBytecodeCache(FileSystemBytecodeCache):
    """Jinja's on-disk bytecode cache, in a private per-user directory under the system temp dir. Compiling the two
    report templates costs each process ≈ 0.8 s CPU. Jinja keys an entry by template path and checks the source's
    checksum, so an edited template recompiles; the file pattern adds the environment's compile options, which
    jinja does not key on. A cache that cannot be written never fails a render: the template is compiled as without
    one."""

    def dump_bytecode(self, bucket) -> None:  # noqa: ANN001
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache(env: Environment) -> FileSystemBytecodeCache | None:
    options = (
        env.block_start_string, env.block_end_string, env.variable_start_string, env.variable_end_string,
        env.comment_start_string, env.comment_end_string, env.line_statement_prefix, env.line_comment_prefix,
        env.trim_blocks, env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline, env.optimized,
        getattr(env.autoescape, "__qualname__", env.autoescape), env.finalize is not None, sorted(env.extensions),
    )  # fmt: skip
    digest = hashlib.sha1(repr(options).encode()).hexdigest()[:12]
    try:
        return _TemplateBytecodeCache(pattern=f"trade_pipeline_{digest}_%s.cache")
    except (OSError, RuntimeError):  # no safe private temp directory: compile in every process
        return None


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
    env.bytecode_cache = _bytecode_cache(env)
    env.globals["gather"] = _gather
    env.tests["needs_the"] = needs_the
    env.globals["rule_en"] = _rule_en
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
    lang: str = ZH

    @property
    def printed_facts(self) -> int:
        """Facts printed (the claims table also holds one layout row per line)."""
        return self.claims.filter(pl.col("slot").is_not_null()).height


def _name(node: Any, lang: str) -> str:
    """A reporter's name with its Taiwan label, as plain text (front matter and index)."""
    if not isinstance(node, FactTree):
        return ""
    english = is_english(lang)
    name = plain(node.get("name_en" if english else "name") or None, lang)
    label = node.label.enum if node.label else None
    if label in ("taiwan_own", "taiwan_mirror"):
        if english:
            name += " (own filing)" if label == "taiwan_own" else " (mirror)"
        else:
            name += "（自報）" if label == "taiwan_own" else "（鏡像）"
    return name


def _fig(fact: Any, lang: str | None = None) -> str:
    """A fact's text in a front matter value, with the review mark when it is flagged (as in the body)."""
    text = plain(fact, lang)
    return f"{text} {REVIEW_MARK}" if isinstance(fact, Fact) and marked(fact) else text


def changes_headline(tree: FactTree, lang: str = ZH) -> str:
    """One line of what changed against last week (the front matter's description, which the index lists). Its
    figures carry [REVIEW_NEEDED] like the body's; verify recomputes the whole line."""
    X = tree.get_path("changes")
    en = is_english(lang)
    if not isinstance(X, FactTree) or X.none_comparable:
        return "No previous week to compare with" if en else "上週無分區資料可比較"
    parts: list[str] = []
    c = X.census
    if c.new_month:
        parts.append(
            f"US Census adds {_fig(c.month, lang)} {_fig(c.year, lang)}"
            if en
            else f"US Census 新增 {_fig(c.year)} 年 {_fig(c.month)} 月數據"
        )
    elif c.fewer_months:
        parts.append("US Census months withdrawn" if en else "US Census 月份減少")
    if c.has_revisions:
        parts.append(
            f"US Census revised {_fig(c.revision_count, lang)} series"
            if en
            else f"US Census 修正 {_fig(c.revision_count)} 筆"
        )
    for g in X.comtrade.new_years.nodes() if X.comtrade.has_new_years else []:
        names = ", ".join(_name(m, lang) for m in g.members.nodes())
        parts.append(f"UN Comtrade {_fig(g.year)} for {names}" if en else f"UN Comtrade 新增 {names} {_fig(g.year)} 年")
    if X.comtrade.has_dropped_years:
        parts.append("UN Comtrade years withdrawn" if en else "UN Comtrade 年度減少")
    for e in X.hhi.moves.nodes() if X.hhi.has_moves else []:
        parts.append(
            f"HHI {_name(e, lang)} {_fig(e.before)} → {_fig(e.hhi)}"
            if en
            else f"HHI：{_name(e, lang)} {_fig(e.before)} → {_fig(e.hhi)}"
        )
    for e in X.ranks.moves.nodes() if X.ranks.has_moves else []:
        what = (
            ("export markets" if e.flow.enum == "X" else "import sources")
            if en
            else ("出口市場" if e.flow.enum == "X" else "進口來源")
        )
        parts.append(f"{_name(e, lang)} top {what} reordered" if en else f"{_name(e, lang)}前三大{what}變動")
    a = X.announcements
    if a.has_added:
        parts.append(f"{_fig(a.added_count, lang)} new announcement(s)" if en else f"新增公告 {_fig(a.added_count)} 筆")
    if a.has_changed:
        parts.append(
            f"{_fig(a.changed_count, lang)} announcement(s) updated" if en else f"公告更新 {_fig(a.changed_count)} 筆"
        )
    if a.has_removed:
        parts.append("announcements withdrawn" if en else "公告減少")
    if X.review.has_new:
        parts.append("new review flags" if en else "新增審核標記")
    if X.review.has_cleared:
        parts.append("review flags cleared" if en else "解除審核標記")
    if not parts:
        if X.hhi.minor:
            return "No material change this week" if en else "本週無重大變化"
        return "No change this week" if en else "本週無變化"
    return ("; " if en else "；").join(parts)


def report_title(iso_week: str, lang: str = ZH) -> str:
    """The front matter's title of a week's report ('2026 年第 05 週' / '2026 Week 05')."""
    y, w = iso_week.split("-W")
    return f"{y} Week {w}" if is_english(lang) else f"{y} 年第 {w} 週"


def front_matter(
    tree: FactTree,
    iso_week: str,
    site_root: Path,
    generated_at: datetime,
    lang: str = ZH,
    run_weeks: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``run_weeks``: ISO weeks rendered in the same run (published together with this one, so they count as
    present for related_reports and nav_order)."""
    others = sorted({w for w in [*existing_reports(site_root), *run_weeks] if w != iso_week}, reverse=True)
    newer = [w for w in others if w > iso_week]
    older = [w for w in others if w < iso_week][:RELATED_WEEKS]
    y, w = iso_week.split("-W")
    items = [
        i
        for i in plain(tree.get_path("summary.controlled") or None, lang).split(", " if is_english(lang) else "、")
        if i
    ][:6]
    # a backfilled week sorts by its own as-of date (its Sunday); a report made before then carries its run date
    as_of = week_end(partition_key_for_iso_week(iso_week))
    generated = generated_at.astimezone(UTC).date()
    common = {
        "nav_order": len(newer) + 1,
        "description": changes_headline(tree, lang),
        "date": min(as_of, generated).isoformat(),
        "related_reports": [report_url(o, lang) for o in older],
        "lang": lang,
    }
    if is_english(lang):
        return {
            "title": report_title(iso_week, lang),
            **common,
            "article_section": "Weekly analysis",
            "keywords": ", ".join(
                ["international trade", "China", "export controls", "HHI", "market concentration", y]
            ),
        }
    return {
        "title": report_title(iso_week, lang),
        **common,
        "article_section": "週報分析",
        "keywords": ", ".join(["國際貿易", "中國", *items, "出口管制", "HHI", "市場集中度", y]),
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


def render_report(
    facts: list[Fact],
    iso_week: str,
    site_root: Path,
    generated_at: datetime,
    sample_sources: list[str],
    template: str | None = None,
    relpath: str | None = None,
    lang: str = ZH,
    run_weeks: tuple[str, ...] = (),
) -> RenderedReport:
    """One edition of a week's report: the same facts through the edition's template, printed in its language.
    ``run_weeks``: the other ISO weeks the same run publishes (front matter links them)."""
    if lang not in EDITIONS:
        raise ValueError(f"no edition for language {lang!r} (editions: {', '.join(EDITIONS)})")
    tree = build_tree(facts)
    relpath = relpath or report_relpath(iso_week, lang)
    printer = Printer(iso_week, relpath, lang)
    front = front_matter(tree, iso_week, site_root, generated_at, lang, run_weeks)
    cited = _cited(tree)
    rendered = (
        environment()
        .get_template(template or EDITIONS[lang][1])
        .render(
            F=tree,
            printer=printer,
            front=front,
            sample_sources=sample_sources,
            layer_sources=LAYER_SOURCES_EN if is_english(lang) else LAYER_SOURCES,
            generated_at=generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            cited={layer: [printer(f) for f in fs] for layer, fs in cited.items()},
            lang=lang,
            notes=(notes := Notes()),
            note=notes,
        )
    )
    markdown, claims = printer.resolve(rendered, _body_start(rendered))
    return RenderedReport(
        iso_week,
        relpath,
        markdown,
        printer.frame(claims, split_front_matter(markdown)[1]),
        sorted(f.text for fs in cited.values() for f in fs),
        front,
        lang,
    )


# --- index --------------------------------------------------------------------------------------------------------


def read_front_matter(path: Path) -> dict[str, Any]:
    fm, _ = split_front_matter(path.read_text(encoding="utf-8"))
    data = yaml.safe_load(fm) if fm else None
    return data if isinstance(data, dict) else {}


def renumber_nav_order(site_root: Path) -> list[str]:
    """Keep nav_order newest = 1 across the reports present (a newer week shifts the older ones; every edition of a
    week has the week's number). Only the front matter changes, so claim positions (lines of the body) stay valid."""
    changed = []
    files = edition_files(site_root)
    for i, week in enumerate(sorted(files, reverse=True), start=1):
        for lang, name in sorted(files[week].items()):
            path = site_root / REPORT_DIR / name
            text = path.read_text(encoding="utf-8")
            fm, body = split_front_matter(text)
            if fm is None:
                continue
            new_fm = re.sub(r"(?m)^nav_order: \d+$", f"nav_order: {i}", fm)
            if new_fm != fm:
                write_text_atomic(path, f"---\n{new_fm}\n---\n{body}")  # two runs renumbering at once never collide
                changed.append(week if lang == ZH else f"{week} ({lang})")
    return changed


def render_index(site_root: Path) -> tuple[str, list[dict[str, Any]]]:
    """The index: one line per week, newest first, linking every edition present; the line's text is the week's
    本週變化 headline (the zh-TW edition's description, else the English one's)."""
    entries = []
    files = edition_files(site_root)
    for week in sorted(files, reverse=True):
        langs = files[week]
        main = langs.get(ZH) or next(iter(langs.values()))
        fm = read_front_matter(site_root / REPORT_DIR / main)
        key = partition_key_for_iso_week(week)
        # Front matter values were escaped when the report was written: mark them safe, never escape twice.
        entries.append(
            {
                "week": week,
                "title": Markup(md_escape(fm.get("title", week))),
                "description": Markup(str(fm.get("description", ""))),
                "start": week_start(key),
                "end": week_end(key),
                "file": main,
                "editions": [{"lang": lang, "file": langs[lang]} for lang in EDITIONS if lang in langs],
            }
        )
    text = environment().get_template("index.md.j2").render(entries=entries)
    return text, entries


def narrative_week(key: str | None) -> str | None:
    return iso_week_label(key) if key else None
