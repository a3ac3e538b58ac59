"""`cardlake dashboard` as a child process (started, waited for, stopped like Ctrl-C) and headless Chromium's launch
settings: what the screenshot script and the browser tests share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

CHROMIUM = "/usr/bin/chromium"  # Debian's; no browser can be downloaded here
# Without the background-networking flags Chromium keeps reaching for Google's hosts, which a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


class DashboardDidNotStart(RuntimeError):
    """The dashboard exited or did not answer its health check in time."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dashboard(
    port: int,
    env: Mapping[str, str] | None = None,
    log: IO[bytes] | int = subprocess.DEVNULL,
    cwd: Path | None = None,
    timeout_s: float = 60,
) -> subprocess.Popen[bytes]:
    """`cardlake dashboard --port PORT` in its own process group, returned once Streamlit's health check answers."""
    command = [sys.executable, "-m", "cardlake.cli", "dashboard", "--port", str(port)]
    server = subprocess.Popen(command, cwd=cwd, env=dict(env) if env is not None else None, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_dashboard(server)
            raise DashboardDidNotStart(f"the dashboard on port {port} did not start")
        time.sleep(0.3)


def stop_dashboard(server: subprocess.Popen[bytes]) -> None:
    """SIGINT to the whole group, as Ctrl-C does; SIGKILL if it has not ended after 20 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
