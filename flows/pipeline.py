"""The parent flow: extract -> transform -> load -> report, for one window of the card API.

pipeline(start, end)   # defaults to yesterday (UTC), which is what the daily deployment runs
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from cardlake.settings import get_settings, utc
from flows.extract import extract
from flows.load import load, warehouse_summary
from flows.report import publish_report
from flows.transform import LAKE_JOBS, transform, window_label


def default_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Yesterday, midnight to midnight UTC."""
    today = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1), today


def resolve_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None and end is None:
        return default_window()
    if start is None or end is None:
        raise ValueError("give both start and end, or neither (for yesterday)")
    start, end = utc(start), utc(end)
    if end <= start:
        raise ValueError(f"end ({end:%Y-%m-%d %H:%M}) must be after start ({start:%Y-%m-%d %H:%M})")
    return start, end


@flow(name="pipeline", log_prints=True)
def pipeline(start: datetime | None = None, end: datetime | None = None, force: bool = False) -> dict[str, Any]:
    """The whole chain for one window; every hop is idempotent, so re-running a window is always safe."""
    start, end = resolve_window(start, end)
    settings = get_settings()
    run_id = window_label(start, end)
    logger = get_run_logger()
    logger.info("cardlake pipeline for %s (run %s)", f"{start:%Y-%m-%d %H:%M} -> {end:%Y-%m-%d %H:%M}", run_id)

    extracted = extract(start, end, force=force)
    lake = transform(start, end, run_id, jobs=LAKE_JOBS, force=force)
    export_manifest = f"{settings.lake_root.rstrip('/')}/exports/{run_id}/_export.json"
    loaded = load(run_id, export_manifest)
    summary: dict[str, Any] = {
        "run_id": run_id,
        "window": f"{start:%Y-%m-%d %H:%M} -> {end:%Y-%m-%d %H:%M} UTC",
        "extract": extracted,
        "transform": lake,
        "load": loaded,
        "warehouse": warehouse_summary(settings),
        "fraud_model": fraud_model_summary(settings.models_root),
        "locations": {
            "landing": settings.landing_root,
            "lake": settings.lake_root,
            "warehouse": settings.warehouse,
            "duckdb_file": str(settings.duckdb_file) if settings.warehouse == "duckdb" else None,
        },
        "warnings": _warnings(settings),
    }
    summary["report"] = publish_report(summary)
    return summary


def fraud_model_summary(models_root: str) -> dict[str, Any]:
    """The model that scored this run and its holdout quality, or how to get one."""
    from spark_jobs.fraud.registry import latest_version, read_metrics, version_uri

    version = latest_version(models_root)
    if version is None:
        return {"model": "none yet: train one with `cardlake fraud train` (transactions are not scored until then)"}
    metrics = read_metrics(version_uri(models_root, version))
    holdout = metrics.get("holdout", {})
    window = metrics.get("holdout_window", {})
    return {
        "model": f"{version} ({metrics.get('model_type', 'unknown')})",
        "holdout_months": f"{window.get('from_month')} .. {window.get('to_month')}",
        "holdout_pr_auc": holdout.get("pr_auc"),
        "holdout_roc_auc": holdout.get("roc_auc"),
        "precision_at_threshold": holdout.get("precision"),
        "recall_at_threshold": holdout.get("recall"),
        "threshold": metrics.get("threshold"),
    }


def _warnings(settings: Any) -> list[str]:
    from blocks.secrets import resolve_pan_key

    if settings.spark_runner == "emr-serverless":
        return []  # EMR jobs read the key from Secrets Manager, not from a local block
    _, local_default = resolve_pan_key(settings)
    if local_default:
        return ["PAN tokens use the published local demo key: set the `pan-token-key` Secret block in production."]
    return []
