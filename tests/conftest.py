"""Fixtures shared by the whole suite: one SparkSession and one Prefect test harness per session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# A temporary PREFECT_HOME for the whole run: results and caches otherwise leak between runs.
_PREFECT_HOME = tempfile.mkdtemp(prefix="cardlake-prefect-home-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)  # every run would otherwise leave one behind
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def spark():
    from spark_jobs.session import get_spark

    session = get_spark("cardlake-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness, started once: it takes ~20 s on two cores."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def cardlake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CARDLAKE_HOME so each test has its own landing zone, lake and warehouse."""
    home = tmp_path / "cardlake-home"
    home.mkdir()
    monkeypatch.setenv("CARDLAKE_HOME", str(home))

    yield home


# The whole-chain fixtures (a Prefect server, the simulator, one clean run) are shared by the session.
from tests.chain import chain, clean_run  # noqa: E402, F401
