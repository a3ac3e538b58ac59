"""A small warehouse and lake for the dashboard tests, filled through the real loader and real Delta tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import write_deltalake

from cardlake.warehouse.duckdb import DuckDBWarehouse
from contracts import lake
from tests.warehouse.star_data import make_export

RUN_ID = "2025-06-01_2025-06-08"


def seed_warehouse(path: Path, exports: Path) -> None:
    """The hand-made star schema of tests/warehouse/star_data.py, loaded as the pipeline loads it."""
    with DuckDBWarehouse(path) as warehouse:
        warehouse.ensure_schema()
        warehouse.load_export(make_export(exports, "run-1"))


def new_alert(transaction_id: str, score: float, seen: datetime) -> dict[str, Any]:
    """One open alert on card 1 (customer 1 of the star data), as the stream upserts it."""
    return {
        "alert_key": abs(hash(transaction_id)) % 10**12, "transaction_id": transaction_id, "customer_key": 1,
        "card_token": "tok1", "card_last4": "0001", "merchant_name": "Streamed Electronics",
        "category": "shopping_net", "amount_minor": 93140, "currency": "GBP", "amount_gbp": Decimal("931.40"),
        "fraud_score": score,
        "top_features": "amount_zscore=6.2; is_night; distance_from_home_km=412.0", "model_version": "v1",
        "transaction_ts": seen - timedelta(seconds=2), "first_seen_at": seen, "alert_status": "open",
    }  # fmt: skip


def upsert_alerts(path: Path, exports: Path, run_id: str, alerts: list[dict[str, Any]]) -> dict[str, int]:
    """Alerts into the warehouse through the loader's upsert (an export holding only `fraud_alerts`)."""
    manifest = make_export(exports, run_id, {"fraud_alerts": alerts})
    with DuckDBWarehouse(path) as warehouse:
        return warehouse.load_export(manifest)


def seed_lake(lake_root: Path) -> None:
    """Run metrics and quarantine of one run, shaped as the silver and gold jobs write them."""
    at = datetime(2025, 6, 8, 0, 5, tzinfo=UTC)
    metrics = [
        (RUN_ID, "silver", "silver/transactions", 10, 8, 2, 0, 8, at),
        (RUN_ID, "silver", "silver/rewards", 4, 3, 1, 0, 3, at),
        (RUN_ID, "gold", "gold/reward_transactions", 3, 3, 0, 0, 3, at + timedelta(seconds=30)),
    ]
    names = ["run_id", "job", "entity", "records_read", "accepted", "quarantined", "duplicates", "rows_written",
             "recorded_at"]  # fmt: skip
    table = pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in metrics])
    write_deltalake(lake.SILVER_RUN_METRICS.uri(str(lake_root)), table, mode="overwrite")
    quarantine = [
        ("q1", "transactions", "raw/a.json.gz", "{}", "amount is not a number", RUN_ID, at),
        ("q2", "transactions", "raw/a.json.gz", "{}", "amount is not a number", RUN_ID, at),
        ("q3", "rewards", "raw/b.json.gz", "{}", "unknown reward status", RUN_ID, at),
    ]
    names = ["quarantine_id", "entity", "source_file", "raw_record", "reason", "run_id", "quarantined_at"]
    table = pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in quarantine])
    write_deltalake(lake.SILVER_QUARANTINE.uri(str(lake_root)), table, mode="overwrite")
