"""`trade-pipeline site` on a small hand-made site folder: navigation from front matter (parent, nav_order,
related_reports), folder pages for the Extractor tree, links rewritten, front matter stripped, tables, scraped text
kept as text, charts copied, broken links reported, identical bytes on a rebuild, and a folder that is not a built site
never overwritten."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trade_pipeline.cli import main
from trade_pipeline.site_html import build_site
from trade_pipeline.site_html.build import MARKER, SiteBuildError

REPORT = """---
layout: default
title: "2026 年第 05 週"
parent: 貿易動態週報
nav_order: 1
description: "本週重點"
date: 2026-02-01
related_reports:
  - "/Narrator/trade_briefing/2026-W04-trade-briefing/"
  - "/Narrator/supply_chain_analysis/2026-01-supply-chain-analysis/"
---

> 報告期間：2026-01-26 — 2026-02-01

## 摘要

美國對中國逆差（來源：Extractor/us_trade_census/trade_balance/us-balance-5700-2025.md、Extractor/gone/x.md）。

![美國對中國 USD -1,894 億](charts/2026-W05/us_balance_monthly.svg)

| 國家 | HHI |
|------|-----|
| 台灣（鏡像） | 2013.87 |

標題 &lt;script&gt;alert(1)&lt;/script&gt; 與 <b>粗體</b> 與 &#123;&#123; x &#125;&#125;

[上週](2026-W04-trade-briefing.md#摘要) · [不存在](2026-W03-trade-briefing.md) · [外部](https://comtradeplus.un.org/)
"""
OLDER = """---
layout: default
title: "2026 年第 04 週"
parent: 貿易動態週報
nav_order: 2
---

## 摘要

上週。
"""
INDEX = """---
layout: default
title: 貿易動態週報
has_children: true
nav_order: 1
---

# 貿易動態週報

| 週次 | 摘要 |
|---|---|
| [2026 年第 05 週](2026-W05-trade-briefing.md) | 本週重點 |
"""
EXTRACTOR = "# 美國與中國貿易差額（US trade balance, 5700）\n\n- **Source**: US Census\n"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>圖</text></svg>\n'


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    files = {
        "Narrator/trade_briefing/index.md": INDEX,
        "Narrator/trade_briefing/2026-W05-trade-briefing.md": REPORT,
        "Narrator/trade_briefing/2026-W04-trade-briefing.md": OLDER,
        "Narrator/trade_briefing/charts/2026-W05/us_balance_monthly.svg": SVG,
        "Extractor/us_trade_census/trade_balance/us-balance-5700-2025.md": EXTRACTOR,
        "Extractor/cn_export_control/mofcom-a1.md": "# 公告 a1\n\n內文\n",
        "Narrator/trade_briefing/.2026-W05-trade-briefing.md.0123.tmp": "half a file",
        "Narrator/.drafts/draft.md": "# 草稿\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _all_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_report_page_renders_tables_links_and_charts(source: Path, tmp_path: Path) -> None:
    result = build_site(source, tmp_path / "out")
    html = result.page_path("Narrator/trade_briefing/2026-W05-trade-briefing.md").read_text(encoding="utf-8")
    assert "layout: default" not in html and "nav_order" not in html  # front matter stripped
    assert "<title>2026 年第 05 週 · 貿易動態週報</title>" in html
    assert '<meta name="description" content="本週重點">' in html
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>國家</th>", html)
    assert '<img src="charts/2026-W05/us_balance_monthly.svg" alt="美國對中國 USD -1,894 億"' in html
    assert (result.out_dir / "Narrator/trade_briefing/charts/2026-W05/us_balance_monthly.svg").read_text() == SVG
    # .md links → .html (fragment kept); external links untouched; a cited source path that exists becomes a link
    assert (
        'href="2026-W04-trade-briefing.html#%E6%91%98%E8%A6%81"' in html
        or 'href="2026-W04-trade-briefing.html#摘要"' in html
    )
    assert 'href="https://comtradeplus.un.org/"' in html
    assert (
        '<a href="../../Extractor/us_trade_census/trade_balance/us-balance-5700-2025.html" class="source">'
        "Extractor/us_trade_census/trade_balance/us-balance-5700-2025.md</a>"
    ) in html
    assert "Extractor/gone/x.md" in html and 'href="../../Extractor/gone/x.html"' not in html
    # scraped text stays text: no element from the markdown, entities shown as the characters they stand for
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;粗體&lt;/b&gt;" in html
    assert "{{ x }}" in html
    # related_reports: the permalink of an existing report is a link, a missing one is named, not linked
    assert '<a href="2026-W04-trade-briefing.html">2026 年第 04 週</a>' in html
    assert "/Narrator/supply_chain_analysis/2026-01-supply-chain-analysis/（尚未建置）" in html
    assert sorted(result.broken_links) == [
        (
            "Narrator/trade_briefing/2026-W05-trade-briefing.md",
            "/Narrator/supply_chain_analysis/2026-01-supply-chain-analysis/",
        ),
        ("Narrator/trade_briefing/2026-W05-trade-briefing.md", "2026-W03-trade-briefing.md"),
    ]
    # a writer's temp file and hidden folders are not published
    assert not list(result.out_dir.rglob("*.tmp*")) and not list(result.out_dir.rglob("*draft*"))


def test_navigation_follows_front_matter_and_folders(source: Path, tmp_path: Path) -> None:
    result = build_site(source, tmp_path / "out")
    html = result.page_path("Narrator/trade_briefing/2026-W04-trade-briefing.md").read_text(encoding="utf-8")
    nav = html.split('<nav class="side"')[1].split("</nav>")[0]
    # the index (has_children) holds the reports in nav_order; the page itself is marked current
    titles = re.findall(r'<a href="[^"]*"(?: aria-current="page")?>([^<]+)</a>', nav)
    assert titles == ["貿易動態週報", "2026 年第 05 週", "2026 年第 04 週", "來源檔案（Extractor）"]
    assert 'aria-current="page">2026 年第 04 週' in nav
    assert '<a href="index.html">貿易動態週報</a>' in html.split('class="crumbs"')[1]  # breadcrumbs: its parent
    # folders without an index page get one, titled, listing their entries (title from the file's first heading)
    extractor = result.page_path("Extractor/us_trade_census/trade_balance/index.md").read_text(encoding="utf-8")
    assert "<h1>貿易差額</h1>" in extractor
    assert '<a href="us-balance-5700-2025.html">美國與中國貿易差額（US trade balance, 5700）</a>' in extractor
    assert result.page_path("Extractor/index.md").is_file()
    home = result.index.read_text(encoding="utf-8")
    assert '<a href="Narrator/trade_briefing/index.html">貿易動態週報</a>' in home
    assert '<a href="Extractor/index.html">來源檔案（Extractor）</a>' in home
    # CJK fonts in the stylesheet every page links
    css = (result.out_dir / "assets/style.css").read_text(encoding="utf-8")
    assert "Noto Sans CJK TC" in css and '<link rel="stylesheet" href="../../assets/style.css">' in html


def test_rebuild_is_byte_identical_and_replaces_the_old_build(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _all_bytes(build_site(source, out).out_dir)
    assert _all_bytes(build_site(source, out).out_dir) == first
    # a page removed from the site disappears from the next build (the folder is replaced as a whole)
    (source / "Narrator/trade_briefing/2026-W04-trade-briefing.md").unlink()
    assert "Narrator/trade_briefing/2026-W04-trade-briefing.html" not in _all_bytes(build_site(source, out).out_dir)
    assert (out / MARKER).is_file() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_never_overwrites_a_folder_that_is_not_a_built_site(source: Path, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SiteBuildError, match="not a built site"):
        build_site(source, precious)
    with pytest.raises(SiteBuildError, match="must not contain or lie inside"):
        build_site(source, source / "html")
    with pytest.raises(SiteBuildError, match="does not exist"):
        build_site(tmp_path / "nowhere", tmp_path / "out")
    assert (precious / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_cli_site_builds_and_prints_the_index(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["site", "--source", str(source), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str((tmp_path / "out" / "index.html").resolve())
    assert "2026-W03-trade-briefing.md leads to no page" in err
    assert main(["site", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out2")]) == 1
    assert "does not exist" in capsys.readouterr().err
