"""The stream's warehouse side: each micro-batch's changed alerts upserted into the warehouse's fraud_alerts.

The DuckDB file is opened for each upsert and closed right after (one short write transaction), so the
dashboard's read-only connections and a batch load get the file between micro-batches: a batch load waits at
most one upsert (DuckDBWarehouse waits for the lock), and a reader never sees a half-applied micro-batch.
The upsert is DELETE of the staged alert keys + INSERT, in one transaction: the same alert upserted again (a
micro-batch re-run after a restart) leaves one row.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cardlake.warehouse.ddl import create_table_sql, delete_insert_sql, duckdb_type, ident, staging_name
from cardlake.warehouse.duckdb import DuckDBWarehouse
from contracts.tables import FRAUD_ALERTS


def upsert_alerts(duckdb_path: Path | str, alerts: pa.Table) -> int:
    """Upsert alert rows (FRAUD_ALERTS columns) by alert_key; returns the rows written."""
    if alerts.num_rows == 0:
        return 0
    missing = [c for c in FRAUD_ALERTS.column_names if c not in alerts.column_names]
    if missing:
        raise ValueError(f"alert rows lack the fraud_alerts columns {missing}")
    if len(set(alerts.column("alert_key").to_pylist())) != alerts.num_rows:
        raise ValueError("a micro-batch repeats an alert key: an upsert cannot choose between the rows")
    warehouse = DuckDBWarehouse(duckdb_path)
    try:
        staging = staging_name(FRAUD_ALERTS)
        casts = ", ".join(
            f"CAST({ident(c.name)} AS {duckdb_type(c.type)}) AS {ident(c.name)}" for c in FRAUD_ALERTS.columns
        )
        with warehouse.transaction() as cur:
            cur.execute(create_table_sql(FRAUD_ALERTS, "duckdb", warehouse.schema, primary_key=False))
            warehouse._con.register("_stream_alerts", alerts.select(FRAUD_ALERTS.column_names))
            cur.execute(f"CREATE OR REPLACE TEMP TABLE {staging} AS SELECT {casts} FROM _stream_alerts")
            warehouse._con.unregister("_stream_alerts")
            for statement in delete_insert_sql(FRAUD_ALERTS, staging, warehouse.schema):
                cur.execute(statement)
            cur.execute(f"DROP TABLE IF EXISTS {staging}")
    finally:
        warehouse.close()
    return alerts.num_rows
