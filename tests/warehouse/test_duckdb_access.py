"""Reading the DuckDB warehouse as people do: `cardlake warehouse query` (read-only, with headers), a reader that
holds the file while a load wants it, and the summary's commands run as printed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cardlake.cli.warehouse import app
from cardlake.summary import Locations, how_to_query
from cardlake.warehouse import WarehouseError
from cardlake.warehouse.duckdb import DuckDBWarehouse


@pytest.fixture()
def warehouse_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE TABLE rpt_daily_spend AS SELECT 42 AS spend_gbp, 'grocery_pos' AS category")
    monkeypatch.setenv("CARDLAKE_DUCKDB_PATH", str(path))
    monkeypatch.setenv("CARDLAKE_HOME", str(tmp_path / "home"))
    return path


def test_query_prints_the_column_names_and_cannot_change_the_warehouse(warehouse_file: Path):
    shown = CliRunner().invoke(app, ["query", "SELECT category, spend_gbp FROM rpt_daily_spend"])
    assert shown.exit_code == 0
    assert "category" in shown.output and "spend_gbp" in shown.output and "grocery_pos" in shown.output
    dropped = CliRunner().invoke(app, ["query", "DROP TABLE rpt_daily_spend"])
    assert dropped.exit_code == 1 and "read-only" in dropped.output.lower()
    with duckdb.connect(str(warehouse_file), read_only=True) as db:
        assert db.execute("SELECT COUNT(*) FROM rpt_daily_spend").fetchone() == (1,)


def test_query_on_a_fresh_home_says_what_to_do_and_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CARDLAKE_HOME", str(tmp_path / "fresh"))
    monkeypatch.delenv("CARDLAKE_DUCKDB_PATH", raising=False)
    result = CliRunner().invoke(app, ["query", "SELECT 1"])
    assert result.exit_code == 1 and "run `cardlake run` first" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "fresh").exists()


def hold_read_only(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process with the file open read-only, as a BI tool or the dashboard has it."""
    code = f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only=True); print('open', flush=True); "
    code += f"time.sleep({seconds}); c.close()"
    reader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
    return reader


def test_a_load_waits_for_a_reader_to_close_the_file(warehouse_file: Path):
    reader = hold_read_only(warehouse_file, 1.5)
    started = time.monotonic()
    with DuckDBWarehouse(warehouse_file, lock_wait_s=30) as warehouse:
        assert warehouse.query("SELECT spend_gbp FROM rpt_daily_spend") == [(42,)]
    assert time.monotonic() - started >= 1.0  # it waited for the reader instead of failing at once
    reader.wait()


def test_a_reader_that_does_not_close_is_named_in_one_clear_error(warehouse_file: Path):
    reader = hold_read_only(warehouse_file, 30)
    try:
        with pytest.raises(WarehouseError, match=rf"held by process {reader.pid}, which did not close it within 1 s"):
            DuckDBWarehouse(warehouse_file, lock_wait_s=1)
    finally:
        reader.kill()


def test_the_summarys_query_commands_run_as_printed_from_anywhere(warehouse_file: Path, tmp_path: Path):
    lines = how_to_query(Locations(str(tmp_path / "landing"), str(tmp_path / "lake"), "duckdb", str(warehouse_file)))
    command = next(line.strip() for line in lines if "duckdb.connect" in line)
    done = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "grocery_pos" in done.stdout
