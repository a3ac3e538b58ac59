"""Screenshots of every dashboard page for docs/dashboard.md, taken in headless chromium on the configured warehouse.

    make run                                               # fill .cardlake/ with a month of data first
    .venv/bin/python scripts/dashboard_screenshots.py      # -> docs/img/dashboard-<page>.png

It starts `cardlake dashboard` on a free port with the current CARDLAKE_* settings, opens each page, waits until
Streamlit has finished drawing it, and saves the whole page; then it stops the dashboard.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cardlake.dashboard import PAGES

REPOSITORY = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
URL_PATHS = {"spending": "", "fraud": "fraud", "pipeline": "pipeline"}  # the first page is the app's root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dashboard(port: int) -> subprocess.Popen[bytes]:
    cli = [sys.executable, "-m", "cardlake.cli", "dashboard", "--port", str(port)]
    server = subprocess.Popen(cli, cwd=REPOSITORY, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            sys.exit("the dashboard did not start; run `cardlake dashboard` to see why")
        time.sleep(0.3)


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


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
    server = start_dashboard(port)
    try:
        for path in shoot(port, args.out, args.width):
            print(path)
    finally:
        stop(server)


if __name__ == "__main__":
    main()
