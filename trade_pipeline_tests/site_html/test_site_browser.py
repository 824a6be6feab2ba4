"""The built site in a real browser: `trade-pipeline briefing 2026-W05` then `trade-pipeline site`, the built W05
report and chart pages opened from disk in Debian's chromium (driven by playwright; `.ci/install-browser` installs it).
Checks that the Traditional-Chinese text is shown in a CJK font, that tables are real tables, that every image on the
pages loaded (natural width > 0) and the charts are visible, and that the navigation leads from the report to its
chart page. Screenshots are kept like the UI test's: in tmp (printed) and in $TRADE_PIPELINE_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline_tests.operations.cli_harness import TempInstance
from trade_pipeline_tests.operations.test_ui_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOT_ENV, UI_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WEEK = "2026-W05"
CHARTS = ("us_balance_monthly", "hhi_vs_prev_year", "top_partner_shares", "policy_exposure")


def _require_browser() -> None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"{CHROMIUM} is absent: run `.ci/install-browser` as root (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML site built by the CLI from a W05 sample run."""
    _require_browser()
    instance = TempInstance.create(tmp_path_factory.mktemp("site"))
    instance.run("briefing", WEEK, name="briefing")
    out, _ = instance.run("site", name="site")
    index = Path(out.strip().splitlines()[-1])
    assert index == instance.data / "site_html" / "index.html" and index.is_file()
    return index.parent


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("site-screenshots")
    yield directory
    target = os.environ.get(SCREENSHOT_ENV)
    if target:
        destination = Path(target) if Path(target).is_absolute() else PROJECT_ROOT / target
        destination.mkdir(parents=True, exist_ok=True)
        for shot in sorted(directory.glob("*.png")):
            shutil.copy(shot, destination / shot.name)
            print(f"screenshot: {destination / shot.name}")
    else:
        print(f"screenshots in {directory} (set {SCREENSHOT_ENV}=screenshots to keep them)")


@pytest.fixture
def page(tmp_path: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-TW")
            page = context.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def _images_loaded(page) -> list[dict]:  # noqa: ANN001 - playwright Page
    return page.eval_on_selector_all(
        "main img",
        "els => els.map(e => ({src: e.getAttribute('src'), complete: e.complete, "
        "w: e.naturalWidth, h: e.naturalHeight, shown: e.getBoundingClientRect().width}))",
    )


def _cjk_glyph_width(page, selector: str) -> float:  # noqa: ANN001
    """Width of a run of CJK characters in the element's font: a font without CJK glyphs draws 'tofu' boxes of one
    width for every character, so two different characters measuring differently is not the proof — a visible,
    non-zero width of real glyphs rendered by the page's font stack is."""
    return page.eval_on_selector(
        selector,
        "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getBoundingClientRect().width; }",
    )


def test_w05_report_page_shows_cjk_text_tables_and_links_to_its_charts(site: Path, page, screenshots: Path) -> None:
    from playwright.sync_api import expect

    report = site / "Narrator" / "trade_briefing" / f"{WEEK}-trade-briefing.html"
    page.goto(report.as_uri())
    body = page.locator("main")
    expect(page.get_by_role("heading", name="摘要")).to_be_visible()
    expect(body).to_contain_text("報告期間：2026-01-26 — 2026-02-01")
    expect(page.get_by_role("heading", name="四、市場集中度變化")).to_be_visible()
    assert _cjk_glyph_width(page, "main h2") > 0
    # the document's font stack names a CJK font the machine has (fc-match would pick one for zh-TW)
    family = page.eval_on_selector("main", "el => getComputedStyle(el).fontFamily")
    assert "Noto Sans CJK TC" in family and "WenQuanYi Micro Hei" in family
    # markdown tables are real tables: header cells, several rows, visible
    table = page.locator("table", has=page.get_by_role("columnheader", name="HHI 指數"))
    expect(table).to_be_visible()
    assert table.locator("tbody tr").count() >= 7
    # the navigation: the index (parent) lists the week; the report links to its chart page
    expect(page.locator("nav.side")).to_contain_text("貿易動態週報")
    expect(page.locator("nav.side")).to_contain_text("2026 年第 05 週")
    # the report embeds each chart once (from briefing_charts), its <img> resolves to a file of the built site and
    # has loaded
    images = _images_loaded(page)
    assert sorted(Path(img["src"]).stem for img in images) == sorted(CHARTS), images
    for img in images:
        assert (report.parent / img["src"]).resolve().is_file(), img
        assert img["complete"] and img["w"] > 0 and img["shown"] > 0, img
    page.screenshot(path=str(screenshots / "site-01-w05-report.png"))
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "site-02-w05-report-table.png"))
    link = page.get_by_role("link", name="2026 年第 05 週圖表")
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", name="2026 年第 05 週圖表", exact=True)).to_be_visible()


def test_w05_chart_page_shows_the_charts(site: Path, page, screenshots: Path) -> None:
    from playwright.sync_api import expect

    charts = site / "Narrator" / "trade_briefing" / "charts" / WEEK / "index.html"
    page.goto(charts.as_uri())
    for title in (
        "美國對主要貿易夥伴每月貿易差額",
        "各報告國出口市場集中度（HHI）與前一年度比較",
        "各報告國前三大出口市場占比",
        "管制物項：美國自中國進口占比",
    ):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    images = _images_loaded(page)
    assert sorted(Path(i["src"]).stem for i in images) == sorted(CHARTS)
    for img in images:
        assert img["complete"] and img["w"] > 300 and img["h"] > 150 and img["shown"] > 300, img
    # the alt text states the key figure (the chart's accessible name)
    expect(
        page.get_by_role("img", name="美國對中國 2025 年 1-11 月累計貿易差額 USD -1,894 億", exact=False)
    ).to_be_visible()
    page.screenshot(path=str(screenshots / "site-03-w05-charts.png"), full_page=True)
