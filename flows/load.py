"""Load a run's export into the warehouse, and read the run summary back from the reporting views.

load(run_id, export_manifest_uri)   # the subflow the pipeline calls after the Spark jobs
warehouse_summary(settings)         # the figures `make run` prints, read FROM THE VIEWS a BI user sees
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cardlake.settings import Settings, get_settings
from cardlake.warehouse import ExportError, get_warehouse, is_transient_error
from cardlake.warehouse.export import read_export
from flows.retries import retry_when

_RETRIES = {"retries": 3, "retry_delay_seconds": [5, 30, 120], "retry_condition_fn": retry_when(is_transient_error)}


@task(name="ensure-warehouse-schema", cache_policy=NO_CACHE, **_RETRIES)
def ensure_warehouse_schema() -> str:
    """Tables, reporting views and the read-only BI role; safe to run before every load."""
    settings = get_settings()
    with get_warehouse(settings) as warehouse:
        warehouse.ensure_schema()
    return settings.warehouse


@task(name="load-star-tables", cache_policy=NO_CACHE, **_RETRIES)
def load_star_tables(run_id: str, export_manifest_uri: str) -> dict[str, dict[str, int]]:
    """Upsert every table of the export in one transaction; rows loaded and the tables' counts afterwards."""
    export = read_export(export_manifest_uri)
    if export.run_id != run_id:
        raise ExportError(f"export {export_manifest_uri} belongs to run {export.run_id!r}, not {run_id!r}")
    with get_warehouse(get_settings()) as warehouse:
        rows = warehouse.load_export(export_manifest_uri)
        counts = warehouse.counts()
    return {"rows_loaded": rows, "warehouse_counts": counts}


@flow(name="load")
def load(run_id: str, export_manifest_uri: str) -> dict[str, Any]:
    """Warehouse schema, then the star tables of one run's export."""
    logger = get_run_logger()
    kind = ensure_warehouse_schema()
    loaded = load_star_tables(run_id, export_manifest_uri)
    logger.info("run %s loaded into %s: %s", run_id, kind, loaded["rows_loaded"])
    return {"run_id": run_id, "warehouse": kind, **loaded}


def _number(value: Any) -> float:
    return round(float(value or 0), 6)


def warehouse_summary(settings: Settings | None = None) -> dict[str, Any]:
    """Run-summary figures read from the reporting views (what Looker Studio shows)."""
    settings = settings or get_settings()
    with get_warehouse(settings) as wh:
        (transactions, frauds), *_ = wh.query(
            "SELECT SUM(transactions), SUM(fraud_transactions) FROM rpt_fraud_by_location_time"
        )
        rewards = wh.query(
            "SELECT SUM(rewards), SUM(gbp_earned), SUM(plu_earned), SUM(plu_pending), SUM(gbp_pending), "
            "SUM(plu_available), SUM(gbp_available), SUM(plu_rejected) FROM rpt_rewards"
        )[0]
        top = wh.query(
            "SELECT category, spend_gbp, transactions FROM rpt_top_categories ORDER BY spend_rank, category LIMIT 5"
        )
        (open_alerts,), *_ = wh.query("SELECT COUNT(*) FROM rpt_open_fraud_alerts")
    transactions = int(transactions or 0)
    return {
        "fact_transaction_rows": transactions,
        "fact_reward_rows": int(rewards[0] or 0),
        "rewards_earned_gbp": _number(rewards[1]),
        "rewards_earned_plu": _number(rewards[2]),
        "plu_pending": _number(rewards[3]),
        "gbp_pending": _number(rewards[4]),
        "plu_available": _number(rewards[5]),
        "gbp_available": _number(rewards[6]),
        "plu_rejected": _number(rewards[7]),
        "top_categories": [{"category": c, "spend_gbp": _number(s), "transactions": int(n)} for c, s, n in top],
        "open_fraud_alerts": int(open_alerts),
        "fraud_rate": round(int(frauds or 0) / transactions, 6) if transactions else 0.0,
    }
