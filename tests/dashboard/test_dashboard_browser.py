"""The dashboard as people use it: `cardlake dashboard` serving a real warehouse, driven in headless Chromium.

The warehouse is seeded through the real loader (tests/dashboard/seed.py); Debian's chromium runs through
Playwright's `executable_path`, since no browser can be downloaded here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from cardlake.dashboard.data import BUSY_BACKOFF_S, CACHE_TTL_S
from cardlake.dashboard.serving import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DashboardDidNotStart,
    free_port,
    start_dashboard,
    stop_dashboard,
)
from tests.dashboard.seed import new_alert, seed_lake, seed_warehouse, upsert_alerts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dashboard")
    seed_warehouse(home / "warehouse.duckdb", home / "exports")
    seed_lake(home / "lake")
    return home


@pytest.fixture(scope="module")
def app_url(home: Path) -> Iterator[str]:
    """`cardlake dashboard` on a free port, as a user starts it; stopped with Ctrl-C (SIGINT) at the end."""
    port = free_port()
    env = {**os.environ, "CARDLAKE_HOME": str(home)}
    env.pop("CARDLAKE_DUCKDB_PATH", None)
    env.pop("CARDLAKE_LAKE_URI", None)
    log = (home / "dashboard.log").open("wb")
    try:
        server = start_dashboard(port, env=env, log=log)
    except DashboardDidNotStart:
        log.close()
        pytest.fail("the dashboard did not start:\n" + (home / "dashboard.log").read_text())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_dashboard(server)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, app_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    yield tab
    context.close()


def open_page(page, app_url: str, path: str, heading: str) -> None:
    page.goto(f"{app_url}/{path}")
    page.get_by_role("heading", name=heading).wait_for()
    wait_until_idle(page)


def wait_until_idle(page) -> None:
    """Streamlit shows its status widget while a script runs; wait until it is gone."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def metric(page, label: str) -> str:
    # The label exactly: "Spend (GBP)" must not find "Net spend (GBP)".
    named = page.locator('[data-testid="stMetricLabel"]').get_by_text(label, exact=True)
    box = page.locator('[data-testid="stMetric"]').filter(has=named)
    return str(box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def assert_no_error(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    text = page.locator("body").inner_text()
    for sign in ("Traceback", "IOException", "Could not set lock", "Error:"):
        assert sign not in text


def choose(page, widget_label: str, option: str) -> None:
    page.locator('[data-testid="stMultiSelect"]').filter(has_text=widget_label).locator("input").click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")
    wait_until_idle(page)


def test_every_page_renders_its_figures_without_error(page, app_url: str) -> None:
    open_page(page, app_url, "", "Spending and rewards")
    page.get_by_text("Spend by category").wait_for()
    assert metric(page, "Spend (GBP)") == "232.99"  # purchases and the fee; refund and top-up excluded
    assert metric(page, "Pending (PLU)") == "0.50" and metric(page, "Available (PLU)") == "1.00"
    page.get_by_text("PLU price over time (GBP)").wait_for()
    assert_no_error(page)

    open_page(page, app_url, "fraud", "Fraud")
    # card rows only (purchases, refunds, authorisations): the top-up and the fee would dilute the fraud rate
    assert metric(page, "Transactions") == "5" and metric(page, "Fraudulent") == "1"
    page.get_by_text("Live alerts").wait_for()
    page.get_by_text("1 open alert(s)").wait_for()
    page.get_by_text("Top features").wait_for()  # the newest open alert's details
    page.locator('[data-testid="stTable"]').filter(has_text="amount_zscore").wait_for()
    assert_no_error(page)

    open_page(page, app_url, "pipeline", "Pipeline health")
    page.get_by_text("Data freshness").wait_for()
    page.get_by_text("Quarantine by reason").wait_for()
    page.get_by_text("Every table reconciles").wait_for()
    assert_no_error(page)


def test_a_filter_changes_the_figures(page, app_url: str) -> None:
    open_page(page, app_url, "fraud", "Fraud")
    assert metric(page, "Transactions") == "5"
    choose(page, "Cardholder state", "WYK")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetric]')].some("
        "m => m.innerText.includes('Transactions') && m.innerText.trim().endsWith('3'))"
    )
    assert metric(page, "Transactions") == "3" and metric(page, "Fraudulent") == "0"

    open_page(page, app_url, "", "Spending and rewards")
    choose(page, "Category", "grocery_pos")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetric]')].some("
        "m => m.innerText.includes('Spend (GBP)') && m.innerText.includes('12.99'))"
    )
    assert metric(page, "Purchases") == "2"
    assert_no_error(page)


def test_the_alerts_feed_shows_an_alert_upserted_while_the_page_is_open(page, app_url: str, home: Path) -> None:
    open_page(page, app_url, "fraud", "Fraud")
    page.get_by_text("1 open alert(s)").wait_for()
    page.evaluate("() => { window.__not_reloaded = true; }")
    loaded = upsert_alerts(home / "warehouse.duckdb", home / "exports", "stream-1",
                           [new_alert("t_stream_1", 0.97, datetime.now(UTC))])  # fmt: skip
    assert loaded["fraud_alerts"] == 1
    page.get_by_text("2 open alert(s)").wait_for(timeout=20_000)
    # the feed's table holds it (its grid keeps an accessible copy of the cells it draws on a canvas) ...
    page.locator("[role=gridcell]", has_text="Streamed Electronics").first.wait_for(state="attached")
    # ... and its details, with its top features, open from the feed
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Alert details").click()
    page.get_by_role("option").filter(has_text="t_stream_1").click()
    page.locator('[data-testid="stTable"]').filter(has_text="distance_from_home_km").wait_for()
    page.locator('[data-testid="stTable"]').filter(has_text="931.40").wait_for()
    assert page.evaluate("() => window.__not_reloaded === true"), "the page was reloaded"
    assert_no_error(page)


def test_a_load_in_progress_shows_the_last_good_data_with_a_notice(page, app_url: str, home: Path) -> None:
    open_page(page, app_url, "", "Spending and rewards")
    assert metric(page, "Spend (GBP)") == "232.99"
    writer = duckdb.connect(str(home / "warehouse.duckdb"))  # what a load holds: the write lock on the file
    try:
        time.sleep(CACHE_TTL_S + 0.5)  # past the reuse window, so the page asks the warehouse again
        page.reload()
        page.get_by_role("heading", name="Spending and rewards").wait_for()
        notice = page.get_by_text("warehouse is loading, showing data as of")
        notice.wait_for()
        assert metric(page, "Spend (GBP)") == "232.99"
        assert_no_error(page)
    finally:
        writer.close()
    time.sleep(max(CACHE_TTL_S, BUSY_BACKOFF_S) + 0.5)
    page.reload()
    page.get_by_role("heading", name="Spending and rewards").wait_for()
    wait_until_idle(page)
    assert page.get_by_text("warehouse is loading").count() == 0
    assert metric(page, "Spend (GBP)") == "232.99"
