"""Run the simulator with uvicorn: in a background thread (tests, flows) or in the foreground (CLI)."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI

from cardapi.app import LiveHook, create_app
from cardapi.config import SimulatorConfig


@contextlib.contextmanager
def serve_in_thread(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 30.0,
    live: LiveHook | None = None,
) -> Iterator[str]:
    """Start the API on host:port (0 = a free port) in a thread; yield its base URL; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    app = create_app(config, live)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="cardapi", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"card API simulator did not start on {bound_host}:{bound_port}")
        time.sleep(0.01)
    try:
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class _ForegroundServer(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after a graceful shutdown (exit status -15); here a signal is the
    normal way to stop (the Makefile sends one), so it ends the server and the process exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve_forever(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 8765,
    app: FastAPI | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then finish in-flight requests and return.

    The socket is bound first, so `announce` receives the real URL (also for port 0); OSError if it is taken.
    """
    app = app if app is not None else create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    if announce is not None:
        announce(f"http://{bound_host}:{bound_port}")
    server = _ForegroundServer(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
