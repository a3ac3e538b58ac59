"""`cardlake stream` against the live simulator, as a person runs it: one line per micro-batch, a real SIGINT stops
it with exit 0 and no JVM left behind, and the next start resumes from the checkpoint without losing or
duplicating a transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

pytestmark = [pytest.mark.spark, pytest.mark.slow]

API_PORT = 18752


def _children(pid: int) -> set[int]:
    """Every descendant of a process (from /proc)."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent and int(entry.name) not in found:
                found.add(int(entry.name))
                pending.append(int(entry.name))
    return found


def _command(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "comm").read_text().strip()
    except OSError:  # it ended meanwhile
        return ""


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _run_stream_until(env: dict[str, str], batches: int, log: Path) -> tuple[str, set[int]]:
    """Start `cardlake stream`, wait for `batches` micro-batch lines, SIGINT it; (its output, its JVM pids)."""
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "cardlake.cli", "stream", "--poll-seconds", "1"],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        deadline = time.monotonic() + 240
        jvms: set[int] = set()
        try:
            while time.monotonic() < deadline and log.read_text().count("micro-batch ") < batches:
                assert process.poll() is None, log.read_text()
                jvms |= {p for p in _children(process.pid) if _command(p) == "java"}
                time.sleep(0.5)
            assert log.read_text().count("micro-batch ") >= batches, log.read_text()
        finally:
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=120)
    assert code == 0, log.read_text()
    return log.read_text(), jvms


def test_ctrl_c_stops_cleanly_and_a_restart_resumes_without_loss(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CARDLAKE_HOME": str(home), "CARDLAKE_API_BASE_URL": f"http://127.0.0.1:{API_PORT}",
           "NO_COLOR": "1", "COLUMNS": "200", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}  # fmt: skip
    api = subprocess.Popen([sys.executable, "-m", "cardlake.cli", "api", "serve", "--live", "--rate", "30",
                            "--cards", "50", "--port", str(API_PORT)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert api.stdout is not None and "live" in api.stdout.readline()
        first, jvms = _run_stream_until(env, 1, tmp_path / "first.log")
        assert jvms, "the stream ran no JVM?"
        assert not [p for p in jvms if _alive(p)], "a JVM outlived `cardlake stream`"
        assert "stream stopped" in first and "Traceback" not in first
        line = next(ln for ln in first.splitlines() if ln.startswith("micro-batch "))
        assert "transaction(s)" in line and "lag" in line  # one readable line, no Spark progress bar
        silver = str(home / "lake" / "silver" / "transactions")
        after_first = DeltaTable(silver).to_pyarrow_table(columns=["transaction_id"]).num_rows

        second, _ = _run_stream_until(env, 1, tmp_path / "second.log")
        assert "stream stopped" in second
        ids = DeltaTable(silver).to_pyarrow_table(columns=["transaction_id"]).column(0).to_pylist()
        assert len(ids) == len(set(ids)) > after_first  # resumed, nothing twice
    finally:
        api.send_signal(signal.SIGINT)
        api.wait(timeout=30)

    # Every transaction the API served up to the watermark reached silver: nothing lost across the restart.
    from datetime import UTC, datetime

    from cardlake.landing import LocalLandingZone
    from cardlake.source.extraction import read_watermark

    watermark = read_watermark(LocalLandingZone.at(home / "landing"), "cardapi", "transactions")
    assert watermark is not None and watermark <= datetime.now(UTC)
    landed = sum(1 for _ in (home / "landing" / "raw/cardapi/transactions/_manifests").glob("*.json"))
    assert landed >= 2
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (count, distinct), *_ = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT transaction_id) FROM fraud_alerts"
        ).fetchall()
    assert count == distinct
