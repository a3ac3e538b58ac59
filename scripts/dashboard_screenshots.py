"""Screenshots of every dashboard page for docs/dashboard.md, taken in headless chromium on the configured warehouse.

    make run                                               # fill .cardlake/ with a month of data first
    .venv/bin/python scripts/dashboard_screenshots.py      # -> docs/img/dashboard-<page>.png

It starts `cardlake dashboard` on a free port with the current CARDLAKE_* settings, opens each page, waits until
Streamlit has finished drawing it, and saves the whole page; then it stops the dashboard.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cardlake.dashboard import PAGES
from cardlake.dashboard.serving import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DashboardDidNotStart,
    free_port,
    start_dashboard,
    stop_dashboard,
)

REPOSITORY = Path(__file__).resolve().parents[1]
URL_PATHS = {"spending": "", "fraud": "fraud", "pipeline": "pipeline"}  # the first page is the app's root


def shoot(port: int, out: Path, width: int) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 1000}, device_scale_factor=1)
        page.set_default_timeout(60_000)
        for name, title in PAGES.items():
            page.goto(f"http://127.0.0.1:{port}/{URL_PATHS[name]}")
            page.get_by_role("heading", name=title).wait_for()
            page.wait_for_timeout(500)
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
            page.wait_for_timeout(2500)  # charts draw after the script has finished
            # Streamlit scrolls inside its main block: grow the window to the content, then take it whole.
            height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
            page.set_viewport_size({"width": width, "height": int(height) + 40})
            page.wait_for_timeout(1500)
            path = out / f"dashboard-{name}.png"
            page.screenshot(path=str(path))
            page.set_viewport_size({"width": width, "height": 1000})
            saved.append(path)
        browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPOSITORY / "docs" / "img")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    try:
        server = start_dashboard(port, cwd=REPOSITORY)
    except DashboardDidNotStart as problem:
        sys.exit(f"{problem}; run `cardlake dashboard` to see why")
    try:
        for path in shoot(port, args.out, args.width):
            print(path)
    finally:
        stop_dashboard(server)


if __name__ == "__main__":
    main()
