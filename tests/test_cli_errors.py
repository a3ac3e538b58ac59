"""Bad input on the command line: one readable line with the fix, before any Prefect server or Spark starts
(starting one takes most of a minute here, so each case must end in seconds)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "cardlake.cli"]
REPO = Path(__file__).resolve().parents[1]


def cardlake(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CARDLAKE_")}
    environ.update(CARDLAKE_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"), **env)
    started = time.monotonic()
    done = subprocess.run([*CLI, *args], cwd=REPO, env=environ, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({"CARDLAKE_WAREHOUSE": "oracle"}, ["run"], "CARDLAKE_WAREHOUSE='oracle'"),
        ({"CARDLAKE_API_PAGE_SIZE": "lots"}, ["run"], "CARDLAKE_API_PAGE_SIZE='lots'"),
        ({}, ["run", "--start", "2025-06-02", "--end", "2025-06-01"], "must be after its start"),
        ({"CARDLAKE_SPARK_RUNNER": "yarn"}, ["backfill", "--start", "2025-06-01", "--end", "2025-06-08"], "yarn"),
    ],
    ids=["unknown-warehouse", "non-numeric-page-size", "reversed-window", "unknown-runner"],
)
def test_a_bad_setting_or_window_fails_at_once_in_one_line(tmp_path: Path, env, args, expected):
    done, seconds = cardlake(tmp_path, *args, **env)
    assert done.returncode != 0
    assert expected in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 2  # the error, and how to see more
    assert seconds < 20, f"took {seconds:.0f} s: something slow started before the input was checked"
    assert not list((tmp_path / "prefect").glob("*.db"))  # no Prefect server (or its database) was started


def test_the_full_traceback_is_there_when_asked_for(tmp_path: Path):
    done, _ = cardlake(tmp_path, "run", "--start", "2025-06-02", "--end", "2025-06-01", CARDLAKE_DEBUG="1")
    assert done.returncode != 0 and "Traceback" in done.stderr
