"""Build the site folder (data/site: Narrator/… reports and index, chart pages, Extractor/… files, charts) into
static HTML, with the navigation the front matter implies — the just-the-docs conventions the seed's Jekyll site used
(``title``, ``parent``, ``grand_parent``, ``nav_order``, ``has_children``, ``nav_exclude``, ``related_reports``).

Jekyll is packaged by Debian but the just-the-docs theme is not, so this is a Python static build: markdown-it-py
(CommonMark + tables, raw HTML off, so scraped text stays text), jinja2 (autoescaped page template), front matter
stripped and read with PyYAML. Pages without front matter (the Extractor files) take their title from their first
heading and their place from their folder; folders without an index page get a generated one.

Links: a relative ``.md`` link becomes ``.html``; a root-relative link or a Jekyll permalink
(``/Narrator/trade_briefing/2026-W04-trade-briefing/``) becomes a relative link to the built page; a bare
``Extractor/….md`` path in the text (a cited source) becomes a link when that file exists. Links to pages or files
that do not exist are reported (``BuildResult.broken_links``) and left as they were.

Deterministic: files are visited in sorted order, nothing depends on the clock or the machine, assets are copied byte
for byte; the same folder builds the same bytes. The output folder is replaced as a whole (built beside it, then
swapped) and carries a marker file, so a folder that is not a built site is never overwritten.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from trade_pipeline.core import contract

TEMPLATES = Path(__file__).parent / "templates"
MARKER = ".trade-pipeline-site"
SITE_TITLE = "貿易動態週報"
ASSET_SUFFIXES = frozenset({".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".css", ".json", ".csv"})
STYLE_OUT = "assets/style.css"
#: A cited source path in running text (site-root relative).
SOURCE_PATH_RE = re.compile(r"Extractor/[\w\-]+(?:/[\w.\-]+)*\.md")
#: Reader-facing names of the folders that have no index page of their own.
FOLDER_TITLES = {
    contract.EXTRACTOR_ROOT: "來源檔案（Extractor）",
    contract.COMTRADE_LAYER: "UN Comtrade 雙邊貿易",
    contract.CENSUS_LAYER: "US Census 美國貿易",
    contract.MOFCOM_LAYER: "中國出口管制公告",
    "export_flow": "出口市場",
    "import_flow": "進口來源",
    "trade_balance": "貿易差額",
    "market_concentration": "市場集中度",
    "commodity_structure": "商品結構",
    "monthly_export": "每月出口",
    "monthly_import": "每月進口",
    "country_detail": "國家明細",
    "charts": "圖表",
    "Narrator": "分析報告",
}


class SiteBuildError(RuntimeError):
    """The site cannot be built (no source folder, or an output folder that is not a built site)."""


@dataclass
class Page:
    src: str  # source path relative to the site root ('' for a generated folder index)
    out: str  # output path relative to the output root
    title: str
    front: dict[str, Any] = field(default_factory=dict)
    body: str = ""
    generated: bool = False  # a folder index made by the builder
    listing: list[Page] = field(default_factory=list)  # generated index: the folder's entries

    @property
    def nav_order(self) -> tuple[int, float, str]:
        order = self.front.get("nav_order")
        try:
            return (0, float(order), self.title) if order is not None else (1, 0.0, self.title)
        except (TypeError, ValueError):
            return (1, 0.0, self.title)

    @property
    def in_front_nav(self) -> bool:
        return bool(self.front) and not self.front.get("nav_exclude")


@dataclass
class BuildResult:
    out_dir: Path
    pages: list[str]  # output paths of the HTML pages, sorted
    assets: list[str]  # copied files, sorted
    broken_links: list[tuple[str, str]]  # (page source, link target) that resolve to nothing

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"

    def page_path(self, source_relpath: str) -> Path:
        return self.out_dir / html_path(source_relpath)


def html_path(md_relpath: str) -> str:
    return md_relpath[:-3] + ".html" if md_relpath.endswith(".md") else md_relpath


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter mapping, body); a page without (or with unreadable) front matter has {}."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 4)
    if end < 0:
        return {}, text
    try:
        front = yaml.safe_load(text[4:end]) or {}
    except yaml.YAMLError:
        return {}, text
    return (front if isinstance(front, dict) else {}), text[end + 5 :]


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    md.core.ruler.push("site_links", _rewrite_links)
    return md


def _first_heading(md: MarkdownIt, body: str) -> str | None:
    tokens = md.parse(body, {"site": None})
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and i + 1 < len(tokens) and tokens[i + 1].children is not None:
            return "".join(c.content for c in tokens[i + 1].children if c.type in ("text", "code_inline")).strip()
    return None


@dataclass
class _Ctx:
    """What the link rule needs while one page renders."""

    page: Page
    sources: set[str]  # site-relative paths of every source file (md and assets)
    broken: list[tuple[str, str]]


def resolve_target(target: str, page_src: str, sources: set[str]) -> tuple[str | None, str]:
    """(site-relative source path the link points to, or None; '#fragment' kept) of a link in ``page_src``."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path:
        return None, ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    path = parts.path
    if path.startswith("/"):
        base = posixpath.normpath(path.lstrip("/")) if path.strip("/") else ""
    else:
        base = posixpath.normpath(posixpath.join(posixpath.dirname(page_src), path))
    if base.startswith(".."):
        return None, fragment
    candidates = [base]
    if base.endswith(".html"):
        candidates.append(base[:-5] + ".md")
    elif not base.endswith(".md"):
        candidates += [f"{base}.md", f"{base}/index.md" if base else "index.md"]
    for c in candidates:
        if c in sources:
            return c, fragment
    return None, fragment


def _relative(target_out: str, from_out: str) -> str:
    return posixpath.relpath(target_out, posixpath.dirname(from_out) or ".")


def _rewrite_links(state: StateCore) -> None:
    ctx: _Ctx | None = state.env.get("site")
    if ctx is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out: list[Token] = []
        depth = 0
        for tok in block.children:
            if tok.type in ("link_open", "image"):
                attr = "href" if tok.type == "link_open" else "src"
                target = str(tok.attrGet(attr) or "")
                if target and not urlsplit(target).scheme and not target.startswith("#"):
                    src, fragment = resolve_target(target, ctx.page.src, ctx.sources)
                    if src is None:
                        ctx.broken.append((ctx.page.src, target))
                    else:
                        tok.attrSet(attr, _relative(html_path(src), ctx.page.out) + fragment)
                depth += tok.type == "link_open"
                out.append(tok)
            elif tok.type == "link_close":
                depth -= 1
                out.append(tok)
            elif depth == 0 and tok.type in ("text", "code_inline") and SOURCE_PATH_RE.search(tok.content):
                out.extend(_linkified(tok, ctx))
            else:
                out.append(tok)
        block.children = out


def _linkified(tok: Token, ctx: _Ctx) -> list[Token]:
    """A text/code token with cited source paths split into links to the files that exist."""
    if tok.type == "code_inline":
        m = SOURCE_PATH_RE.fullmatch(tok.content.strip())
        if not m or m.group(0) not in ctx.sources:
            return [tok]
        return [_link_open(m.group(0), ctx), tok, Token("link_close", "a", -1)]
    pieces: list[Token] = []
    pos = 0
    for m in SOURCE_PATH_RE.finditer(tok.content):
        if m.group(0) not in ctx.sources:
            continue
        if m.start() > pos:
            pieces.append(_text(tok.content[pos : m.start()]))
        pieces += [_link_open(m.group(0), ctx), _text(m.group(0)), Token("link_close", "a", -1)]
        pos = m.end()
    if not pieces:
        return [tok]
    if pos < len(tok.content):
        pieces.append(_text(tok.content[pos:]))
    return pieces


def _text(content: str) -> Token:
    t = Token("text", "", 0)
    t.content = content
    return t


def _link_open(src: str, ctx: _Ctx) -> Token:
    t = Token("link_open", "a", 1)
    t.attrSet("href", _relative(html_path(src), ctx.page.out))
    t.attrSet("class", "source")
    return t


# --------------------------------------------------------------------------------------------------------------------
# scanning and navigation
# --------------------------------------------------------------------------------------------------------------------
def _scan(source: Path) -> tuple[list[str], list[str]]:
    """(markdown files, asset files), site-relative, sorted; hidden files and folders (temp files) skipped."""
    md_files, assets = [], []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or not path.is_file():
            continue
        if path.suffix == ".md":
            md_files.append(rel)
        elif path.suffix.lower() in ASSET_SUFFIXES:
            assets.append(rel)
    return md_files, assets


def _load_pages(source: Path, md_files: list[str], md: MarkdownIt) -> list[Page]:
    pages = []
    for rel in md_files:
        text = (source / rel).read_text(encoding="utf-8", errors="replace")
        front, body = split_front_matter(text)
        title = str(front.get("title") or _first_heading(md, body) or posixpath.basename(rel)[:-3])
        pages.append(Page(src=rel, out=html_path(rel), title=title, front=front, body=body))
    return pages


def _folder_indexes(pages: list[Page]) -> list[Page]:
    """Generated index pages for the folders (and their parents) of pages without front matter that have no index."""
    plain = [p for p in pages if not p.front]
    existing = {p.src for p in pages}
    folders: set[str] = set()
    for p in plain:
        d = posixpath.dirname(p.src)
        while d:
            folders.add(d)
            d = posixpath.dirname(d)
    generated = []
    for folder in sorted(folders):
        if f"{folder}/index.md" in existing:
            continue
        name = posixpath.basename(folder)
        generated.append(
            Page(
                src=f"{folder}/index.md",
                out=f"{folder}/index.html",
                title=FOLDER_TITLES.get(name, name),
                generated=True,
            )
        )
    by_folder = {posixpath.dirname(g.src): g for g in generated}
    for g in generated:
        folder = posixpath.dirname(g.src)
        subs = [by_folder[f] for f in sorted(by_folder) if posixpath.dirname(f) == folder]
        files = [p for p in plain if posixpath.dirname(p.src) == folder]
        g.listing = subs + files
    return generated


@dataclass
class NavItem:
    page: Page
    children: list[NavItem] = field(default_factory=list)


def _front_nav(pages: list[Page]) -> list[NavItem]:
    """The just-the-docs tree: top level = pages without parent; children by parent (and grand_parent) title."""
    shown = sorted((p for p in pages if p.in_front_nav), key=lambda p: (p.nav_order, p.src))
    top = [NavItem(p) for p in shown if not p.front.get("parent")]

    def children_of(title: str, grand: str | None) -> list[NavItem]:
        kids = [
            p
            for p in shown
            if str(p.front.get("parent") or "") == title
            and (grand is None or str(p.front.get("grand_parent") or "") in ("", grand))
        ]
        return [NavItem(k, children_of(k.title, title) if k.front.get("has_children") else []) for k in kids]

    for item in top:
        if item.page.front.get("has_children"):
            item.children = children_of(item.page.title, None)
    return top


def _folder_nav(generated: list[Page]) -> list[NavItem]:
    by_src = {g.src: g for g in generated}

    def item(g: Page) -> NavItem:
        return NavItem(g, [item(c) if c.generated else NavItem(c) for c in g.listing])

    # a folder index is a root when its parent folder has no generated index (a top-level folder, typically)
    roots = [g for g in generated if f"{posixpath.dirname(posixpath.dirname(g.src))}/index.md" not in by_src]
    return [item(g) for g in roots]


def _contains(item: NavItem, page: Page) -> bool:
    return item.page is page or any(_contains(c, page) for c in item.children)


def _nav_html_items(items: list[NavItem], current: Page) -> list[dict[str, Any]]:
    """Nav entries for one page: every top-level entry, and the children of the branch the page is in."""
    out = []
    for it in items:
        open_ = _contains(it, current)
        out.append(
            {
                "title": it.page.title,
                "href": _relative(it.page.out, current.out),
                "current": it.page is current,
                "open": open_,
                "children": _nav_html_items(it.children, current) if open_ else [],
                "has_children": bool(it.children),
            }
        )
    return out


def _crumbs(items: list[NavItem], current: Page) -> list[Page]:
    for it in items:
        if it.page is current:
            return [it.page]
        if _contains(it, current):
            return [it.page, *_crumbs(it.children, current)]
    return []


# --------------------------------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------------------------------
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _related(
    page: Page, pages_by_src: dict[str, Page], sources: set[str], broken: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    items = page.front.get("related_reports") or []
    if not isinstance(items, list):
        return []
    out = []
    for target in items:
        src, _ = resolve_target(str(target), page.src, sources)
        if src in pages_by_src:
            other = pages_by_src[src]
            out.append({"title": other.title, "href": _relative(other.out, page.out)})
        else:
            broken.append((page.src, str(target)))
            out.append({"title": str(target), "href": None})
    return out


def _backlinks(pages: list[Page], sources: set[str]) -> dict[str, list[Page]]:
    """Page source → the pages that list it in their related_reports."""
    out: dict[str, list[Page]] = {}
    for p in pages:
        targets = p.front.get("related_reports")
        for target in targets if isinstance(targets, list) else []:
            src, _ = resolve_target(str(target), p.src, sources)
            if src is not None and p not in out.setdefault(src, []):
                out[src].append(p)
    return out


def build_site(source: Path, out: Path) -> BuildResult:
    """Build ``source`` (a site folder of markdown) into ``out`` (replaced as a whole); return what was built."""
    source, out = Path(source).resolve(), Path(out).resolve()
    if not source.is_dir():
        raise SiteBuildError(f"site folder {source} does not exist (run `trade-pipeline briefing WEEK` first)")
    if out == source or source in out.parents or out in source.parents:
        raise SiteBuildError(f"output folder {out} must not contain or lie inside the site folder {source}")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise SiteBuildError(f"{out} exists and is not a built site (no {MARKER}); choose another --out")

    md = _markdown()
    md_files, asset_files = _scan(source)
    pages = _load_pages(source, md_files, md)
    generated = _folder_indexes(pages)
    all_pages = pages + generated
    sources = set(md_files) | set(asset_files) | {g.src for g in generated}
    pages_by_src = {p.src: p for p in all_pages}
    home = pages_by_src.get("index.md") or Page(src="index.md", out="index.html", title=SITE_TITLE, generated=True)
    nav = _front_nav(pages) + _folder_nav(generated)
    backlinks = _backlinks(pages, sources)
    env = _environment()
    template = env.get_template("page.html.j2")
    broken: list[tuple[str, str]] = []

    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir(parents=True)
    try:
        for rel in asset_files:
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)
        (tmp / STYLE_OUT).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(TEMPLATES / "style.css", tmp / STYLE_OUT)
        outputs = []
        for page in sorted([*all_pages, *([home] if home.src not in pages_by_src else [])], key=lambda p: p.out):
            content = ""
            if not page.generated:
                content = md.render(page.body, {"site": _Ctx(page, sources, broken)})
                # raw HTML is off, so these tags can only be markdown-it's own: wrap tables to scroll sideways
                content = content.replace("<table>", '<div class="table-wrap"><table>').replace(
                    "</table>", "</table></div>"
                )
            entries = [it.page for it in nav] if page is home and page.generated else page.listing
            listing = [
                {
                    "title": p.title,
                    "href": _relative(p.out, page.out),
                    "folder": p.generated,
                    "description": str(p.front.get("description") or ""),
                }
                for p in entries
            ]
            html = template.render(
                site_title=SITE_TITLE,
                title=page.title,
                is_home=page is home,
                description=str(page.front.get("description") or ""),
                keywords=str(page.front.get("keywords") or ""),
                date=str(page.front.get("date") or ""),
                style=_relative(STYLE_OUT, page.out),
                home=_relative("index.html", page.out),
                nav=_nav_html_items(nav, page),
                crumbs=[{"title": c.title, "href": _relative(c.out, page.out)} for c in _crumbs(nav, page)[:-1]],
                content=content,
                listing=listing,
                related=_related(page, pages_by_src, sources, broken),
                backlinks=[
                    {"title": b.title, "href": _relative(b.out, page.out)}
                    for b in sorted(backlinks.get(page.src, []), key=lambda b: b.src)
                ],
                source_path=page.src if not page.generated else "",
            )
            target = tmp / page.out
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            outputs.append(page.out)
        (tmp / MARKER).write_text(
            "built by `trade-pipeline site`; this folder is replaced on every build\n", encoding="utf-8"
        )
        trash = out.with_name(f".{out.name}.{uuid.uuid4().hex}.old")
        if out.exists():
            out.replace(trash)
        tmp.replace(out)
        shutil.rmtree(trash, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(out_dir=out, pages=sorted(outputs), assets=sorted(asset_files), broken_links=sorted(set(broken)))
