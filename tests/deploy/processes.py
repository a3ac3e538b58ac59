"""A real Prefect server and worker as child processes, and a card API simulator that counts its requests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from cardapi.app import create_app
from cardapi.config import SimulatorConfig
from cardlake.spark_runner.local import stop_process_group

REPO = Path(__file__).resolve().parents[2]
RETRIED_STATUS = {429, 502, 503}  # what Prefect's own client retries (prefect/client/base.py)
RETRIES = 5
PREFECT = str(Path(sys.executable).parent / "prefect")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any PREFECT_* or CARDLAKE_* setting (the harness's included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CARDLAKE_"))}
    return {**env, **extra}


@dataclass
class PrefectServer:
    api_url: str
    env: dict[str, str]
    log: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str, cwd: Path = REPO, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """`prefect <args>` against this server; raises with the output when it fails."""
        done = subprocess.run(
            [PREFECT, *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"prefect {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call, retried as Prefect's own client retries it: the server answers 503 when its SQLite
        database is busy (a worker's heartbeat, a run's state writes), and nothing was written then."""
        for attempt in range(RETRIES + 1):
            response = httpx.request(method, f"{self.api_url}{path}", timeout=30, **kwargs)
            if response.status_code not in RETRIED_STATUS or attempt == RETRIES:
                break
            time.sleep(0.5 * 2**attempt)
        response.raise_for_status()
        return response.json() if response.content else None

    @contextlib.contextmanager
    def worker(self, pool: str, env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
        """`prefect worker start --pool <pool>` in the background, stopped (with its flow runs) on exit."""
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", pool, "--limit", "1"],
                cwd=REPO,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            yield proc
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 15) -> None:
    """SIGTERM to the child's process group (server workers, flow runs, spark-submit), SIGKILL if it lingers."""
    stop_process_group(proc, grace_s)


@contextlib.contextmanager
def prefect_server(home: Path, startup_timeout: float = 120) -> Iterator[PrefectServer]:
    """`prefect server start` on a free port with its own PREFECT_HOME (SQLite there); stopped on exit."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = clean_environment(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_CLI_COLORS="false",
        PREFECT_CLI_WRAP_LINES="false",
    )
    log = home / "server.log"
    server_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui", "--analytics-off"],
            cwd=home,
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not healthy after {startup_timeout} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield PrefectServer(api_url=api_url, env=env, log=log)
    finally:
        stop_group(proc)


class RequestCounter:
    """ASGI middleware: counts requests per path, so a test can see whether a flow called the API at all."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            with self._lock:
                self.paths[scope["path"]] += 1
        await self.app(scope, receive, send)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(count for path, count in self.paths.items() if path != "/health")


@contextlib.contextmanager
def counting_simulator(config: SimulatorConfig) -> Iterator[tuple[str, RequestCounter]]:
    """The simulator app behind a RequestCounter, served by uvicorn in a thread on a free port."""
    counter = RequestCounter(create_app(config))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(counter, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="cardapi-counting", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("card API simulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", counter
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
