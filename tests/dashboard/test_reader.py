"""The reader keeps the dashboard working while a load holds the DuckDB file: last good rows and a notice."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from blocks.warehouse import WarehouseConnection
from cardlake.dashboard.data import Frame, WarehouseReader
from cardlake.dashboard.lake import LakeRecords, last_runs, quarantine_by_reason, rows_per_stage
from cardlake.dashboard.ui import page_notice
from tests.dashboard.seed import RUN_ID, seed_lake, seed_warehouse

SQL = "SELECT SUM(spend_gbp) AS spend FROM rpt_top_categories"


def hold_write_lock(path: Path) -> subprocess.Popen[str]:
    """Another process with the file open for writing, as a load has it."""
    code = f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('open', flush=True); sys.stdin.read()"
    writer = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
    return writer


def release(writer: subprocess.Popen[str]) -> None:
    assert writer.stdin is not None
    writer.stdin.close()
    writer.wait(timeout=10)


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    seed_warehouse(path, tmp_path / "exports")
    return path


def test_a_locked_warehouse_gives_the_last_good_rows_marked_stale(warehouse: Path) -> None:
    reader = WarehouseReader(WarehouseConnection(kind="duckdb", duckdb_path=str(warehouse)), ttl_s=0)
    good = reader.read(SQL)
    assert not good.stale and float(good.data.iloc[0]["spend"]) == pytest.approx(232.99)
    writer = hold_write_lock(warehouse)
    try:
        started = time.monotonic()
        busy = reader.read(SQL)
        again = reader.read(SQL)  # within the back-off: answered at once, without waiting for the file
        elapsed = time.monotonic() - started
    finally:
        release(writer)
    assert busy.stale and busy.problem == "loading" and busy.as_of == good.as_of
    assert float(busy.data.iloc[0]["spend"]) == pytest.approx(232.99)
    assert again.stale and elapsed < 2.0
    kind, text = page_notice([busy]) or ("", "")
    assert kind == "warning" and text == f"The warehouse is loading, showing data as of {good.as_of:%H:%M} UTC."


def test_a_locked_warehouse_never_read_before_says_the_figures_will_come(warehouse: Path) -> None:
    reader = WarehouseReader(WarehouseConnection(kind="duckdb", duckdb_path=str(warehouse)))
    writer = hold_write_lock(warehouse)
    try:
        busy = reader.read(SQL)
    finally:
        release(writer)
    assert busy.stale and busy.empty and busy.as_of is None
    assert page_notice([busy]) == ("warning", "The warehouse is loading; the figures appear when it finishes.")


def test_a_bad_query_is_one_line_not_a_traceback(warehouse: Path) -> None:
    reader = WarehouseReader(WarehouseConnection(kind="duckdb", duckdb_path=str(warehouse)))
    failed = reader.read("SELECT * FROM no_such_view")
    assert failed.problem is not None and "\n" not in failed.problem and failed.empty
    kind, text = page_notice([failed]) or ("", "")
    assert kind == "error" and text.startswith("Could not read the warehouse: CatalogException")


def test_fresh_frames_need_no_notice() -> None:
    assert page_notice([Frame(pd.DataFrame({"a": [1]}), datetime.now(UTC))]) is None


def test_lake_run_records_give_runs_stages_and_quarantine_reasons(tmp_path: Path) -> None:
    seed_lake(tmp_path / "lake")
    records = LakeRecords(str(tmp_path / "lake"))
    metrics = records.run_metrics()
    runs = last_runs(metrics)
    assert runs[["run_id", "jobs", "records_read", "quarantined", "rows_written"]].values.tolist() == [
        [RUN_ID, "gold, silver", 17, 3, 14]
    ]
    stages = rows_per_stage(metrics, RUN_ID)
    assert stages["entity"].tolist() == ["gold/reward_transactions", "silver/rewards", "silver/transactions"]
    reasons = quarantine_by_reason(records.quarantine())
    assert reasons[["entity", "reason", "records"]].values.tolist() == [
        ["transactions", "amount is not a number", 2],
        ["rewards", "unknown reward status", 1],
    ]


def test_a_lake_without_runs_gives_empty_records(tmp_path: Path) -> None:
    records = LakeRecords(str(tmp_path / "no-lake"))
    assert last_runs(records.run_metrics()).empty and quarantine_by_reason(records.quarantine()).empty
