"""The whole chain on embedded defaults: simulator over HTTP -> landing -> Spark/Delta -> DuckDB, via Prefect."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from cardapi.config import SimulatorConfig
from cardapi.expected import records
from cardapi.server import serve_in_thread
from cardlake.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]

START, END = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 4, tzinfo=UTC)
CONFIG = SimulatorConfig(seed=11, n_cards=30, start=date(2025, 4, 1), end=date(2025, 7, 1))


def warehouse_ids(path, table: str, column: str) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as db:
        return {row[0] for row in db.sql(f"SELECT {column} FROM {table}").fetchall()}


def warehouse_counts(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as db:
        names = [
            r[0]
            for r in db.sql("SELECT table_name FROM information_schema.tables WHERE table_type='BASE TABLE'").fetchall()
        ]
        return {n: db.execute(f"SELECT COUNT(*) FROM {n}").fetchall()[0][0] for n in names}


def test_pipeline_loads_exactly_what_the_api_served_and_a_rerun_changes_nothing(
    prefect_harness, spark, cardlake_home, monkeypatch
):
    from flows.pipeline import pipeline

    with serve_in_thread(CONFIG) as base_url:
        monkeypatch.setenv("CARDLAKE_API_BASE_URL", base_url)
        monkeypatch.setenv("CARDLAKE_SPARK_RUNNER", "local-session")
        monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "end-to-end-test-key")
        summary = pipeline(start=START, end=END)
        counts_after_first = warehouse_counts(Settings().duckdb_file)
        again = pipeline(start=START, end=END, force=True)

    db = Settings().duckdb_file
    served_transactions = {r["id"] for r in records(CONFIG, "transactions", START, END)}
    served_rewards = {r["id"] for r in records(CONFIG, "rewards", START, END)}
    assert len(served_transactions) > 100 and len(served_rewards) > 50
    assert warehouse_ids(db, "fact_transaction", "transaction_id") == served_transactions
    assert warehouse_ids(db, "fact_reward", "reward_id") == served_rewards
    # Forced re-run: extraction and Spark ran again, and the warehouse is unchanged (no duplicates).
    assert warehouse_counts(db) == counts_after_first
    silver = summary.transform.job("silver").table("silver/transactions")
    assert silver.read == silver.accepted + silver.rejected == len(served_transactions)
    assert again.transform.job("silver").table("silver/transactions").inserted == 0
    assert summary.warehouse.fact_transaction_rows == len(served_transactions)
