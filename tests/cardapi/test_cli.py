"""`cardlake api serve` (the typer app in cardlake.cli.api): serves, and stops cleanly on SIGTERM / SIGINT."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from cardlake.cli.api import app

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_then_stops_cleanly_on_signal(sig: signal.Signals) -> None:
    port = _free_port()
    args = ["serve", "--port", str(port), "--cards", "20", "--start", "2024-01-01", "--end", "2024-02-01"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cardlake.cli", "api", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        spec = requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert "/v3/rewards/list" in spec["paths"]
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "card API simulator stopped" in out
    assert "Traceback" not in err


def test_serve_rejects_bad_options_with_a_clear_message(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--start", "01/02/2024"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = runner.invoke(app, ["serve", "--start", "2024-02-01", "--end", "2024-01-01"])
    assert result.exit_code == 2 and "must be after start" in result.output
    result = runner.invoke(app, ["serve", "--replay-kaggle", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "not found" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["serve", "--replay-kaggle", str(bad)])
    assert result.exit_code == 2 and "not a Kaggle fraud CSV" in result.output
    result = runner.invoke(app, ["serve", "--fault-429-rate", "1.5"])
    assert result.exit_code == 2 and "fault_429_rate" in result.output


def test_serve_reports_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port), "--cards", "5"])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output
