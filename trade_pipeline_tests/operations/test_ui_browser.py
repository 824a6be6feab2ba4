"""The Dagster UI, in a real browser: materialize 2026-W05 with the CLI, serve it, look at it with chromium.

Starts `dagster-webserver` (no daemon: nothing is launched from the UI here) on a free loopback port over a
throw-away DAGSTER_HOME and the repo's workspace.yaml, then drives Debian's /usr/bin/chromium through playwright
(`playwright install` is never needed; `.ci/install-browser` installs chromium with apt). Checks the asset graph,
the report asset's materialized partition and the rendered markdown preview of the report, by visible text.

Screenshots go to tmp (printed), and also to $TRADE_PIPELINE_SCREENSHOT_DIR when set (relative: against the repo
root; `screenshots/` is git-ignored):

    TRADE_PIPELINE_SCREENSHOT_DIR=screenshots .venv/bin/python -m pytest -m browser -s
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from trade_pipeline.core.paths import PROJECT_ROOT
from trade_pipeline_tests.operations.cli_harness import BIN, TempInstance, tail

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("TRADE_PIPELINE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_ENV = "TRADE_PIPELINE_SCREENSHOT_DIR"
WEEK, KEY = "2026-W05", "2026-01-26"
SERVER_START_TIMEOUT_S = 180  # hang guard for the webserver to load the code location
UI_TIMEOUT_MS = 60_000  # hang guard for a page to show what we look for
LOCATION = "trade_pipeline"
GROUPS = ("bilateral_trade_flows", "us_trade_census", "cn_export_control", "trade_briefing")


def _require_browser() -> None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"{CHROMIUM} is absent: run `.ci/install-browser` as root (apt-get install chromium) "
            f"or set TRADE_PIPELINE_CHROMIUM to a chromium binary"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not (BIN / "dagster-webserver").exists():
        pytest.skip(f"dagster-webserver is not installed next to {BIN / 'python'}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _location_loaded(base: str) -> bool:
    query = (
        "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
        "locationOrLoadError { __typename } } } } }"
    )
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    except (OSError, urllib.error.URLError, KeyError, TypeError, ValueError):
        return False
    return any(
        e["name"] == LOCATION
        and e["loadStatus"] == "LOADED"
        and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        for e in entries
    )


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server's whole process group (webserver + its code-server child), then kill what is left."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    except ProcessLookupError:
        pass
    process.wait()


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TempInstance]]:
    """Base URL of a webserver over an instance where the CLI has materialized 2026-W05."""
    _require_browser()
    instance = TempInstance.create(tmp_path_factory.mktemp("ui"))
    instance.run("briefing", WEEK, name="briefing")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(instance.root / "webserver.log", "wb")
    # cwd is the temp root, not the repo: the committed .env is not read; the exported storage paths are used.
    server = subprocess.Popen(
        [
            str(BIN / "dagster-webserver"),
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=instance.root,
        env=instance.env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so the code server it spawns is stopped with it
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _location_loaded(base):
            if server.poll() is not None:
                pytest.fail(
                    f"dagster-webserver exited {server.returncode}:\n"
                    f"{tail((instance.root / 'webserver.log').read_text(errors='replace'))}"
                )
            assert time.monotonic() < deadline, "dagster-webserver did not load the code location (hang guard)"
            time.sleep(0.25)
        yield base, instance
    finally:
        _stop(server)
        log.close()


@pytest.fixture
def page(tmp_path: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1000},
            locale="zh-TW",
        )
        try:
            page = context.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)
            # A fresh profile gets Dagster's "Join the Dagster community" dialog once; it would cover the pages.
            page.add_locator_handler(
                page.get_by_text("Join the Dagster community"),
                lambda _: page.get_by_role("button", name="Skip").click(),
            )
            yield page
        finally:
            context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("screenshots")
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


def _dismiss_community_dialog(page) -> None:  # noqa: ANN001 - playwright Page
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.click(timeout=5_000)
    except Exception:  # noqa: BLE001 - the dialog may not be shown at all (then there is nothing to dismiss)
        pass


def test_asset_graph_shows_the_groups_and_the_materialized_report(ui, page, screenshots: Path) -> None:
    from playwright.sync_api import expect

    base, _ = ui
    page.goto(f"{base}/asset-groups")
    _dismiss_community_dialog(page)
    for group in GROUPS:
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    page.screenshot(path=str(screenshots / "01-global-asset-lineage.png"))

    page.goto(f"{base}/locations/{LOCATION}/asset-groups/trade_briefing/lineage")
    for name in ("trade_briefing", "trade_briefing_index"):
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    body = page.locator("body")
    expect(body).to_contain_text("Latest event")
    expect(body).to_contain_text("DuckDB")  # kinds render as tags on the nodes
    expect(body).to_contain_text("markdown")
    # W05 is the one materialized partition of 99: the node reports it, and its asset checks ran and passed.
    expect(body).to_contain_text("1% filled")
    expect(body).to_contain_text(" Passed")
    page.screenshot(path=str(screenshots / "02-trade-briefing-group.png"))


def test_report_asset_page_shows_the_materialization_and_the_report_preview(ui, page, screenshots: Path) -> None:
    from playwright.sync_api import expect

    base, _ = ui
    page.goto(f"{base}/assets/trade_briefing")
    _dismiss_community_dialog(page)
    body = page.locator("body")
    expect(body).to_contain_text("Traditional-Chinese trade briefing")  # the asset's description
    expect(body).to_contain_text("Row count")
    expect(body).to_contain_text("claim_text")  # the column schema from dagster/column_schema
    page.screenshot(path=str(screenshots / "03-trade-briefing-overview.png"))

    page.goto(f"{base}/assets/trade_briefing?view=partitions&partition={KEY}")
    expect(body).to_contain_text("Materialized")
    expect(body).to_contain_text("dagster/row_count")
    expect(body).to_contain_text(f"{WEEK}-trade-briefing.md")
    page.screenshot(path=str(screenshots / "04-trade-briefing-partition.png"))

    # The "preview" metadata entry is markdown: Dagster renders it in a dialog.
    page.get_by_text("[Show Markdown]").last.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("preview")
    expect(dialog).to_contain_text("2026 年第 05 週")
    expect(dialog).to_contain_text("報告期間：2026-01-26 — 2026-02-01")
    section = dialog.get_by_role("heading", name="四、市場集中度變化")
    expect(section).to_be_visible()
    page.screenshot(path=str(screenshots / "05-report-preview.png"))
    section.scroll_into_view_if_needed()
    expect(dialog.get_by_role("columnheader", name="上週")).to_be_visible()  # the markdown table is a real table
    page.screenshot(path=str(screenshots / "06-report-preview-concentration.png"))
