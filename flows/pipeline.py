"""The parent flow: extract -> transform -> load -> report, for one window of the card API.

pipeline(start, end)   # defaults to yesterday (UTC), which is what the daily deployment runs
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger

from cardlake.config import PipelineConfig, resolve_config
from cardlake.summary import Locations, ModelSummary, RunSummary
from contracts import names
from contracts.landing import Window
from contracts.results import StageResult
from flows.extract import extract
from flows.load import load, read_warehouse_summary
from flows.report import publish_report
from flows.transform import transform


def default_window(now: datetime | None = None) -> Window:
    """Yesterday, midnight to midnight UTC."""
    today = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(today - timedelta(days=1), today)


def resolve_window(start: datetime | None, end: datetime | None) -> Window:
    if start is None and end is None:
        return default_window()
    if start is None or end is None:
        raise ValueError("give both start and end, or neither (for yesterday)")
    return Window(start, end)


@flow(name=names.PIPELINE_FLOW, log_prints=True)
def pipeline(start: datetime | None = None, end: datetime | None = None, force: bool = False) -> RunSummary:
    """The whole chain for one window; every hop is idempotent, so re-running a window is always safe."""
    window = resolve_window(start, end)
    config = resolve_config()
    get_run_logger().info("cardlake pipeline for %s (run %s)", window, window.label)
    extracted = extract(window, force=force, config=config)
    return lake_and_warehouse(config, window, extracted, force)


def lake_and_warehouse(config: PipelineConfig, window: Window, landed: StageResult, force: bool) -> RunSummary:
    """Transform and load a window whose records `landed` reports (extracted or imported), then publish the report."""
    lake = transform(window, force=force, config=config)
    loaded = load(window.label, lake.export_manifest_uri, config=config)
    summary = RunSummary(
        window=window,
        extract=landed,
        transform=lake,
        load=loaded,
        warehouse=read_warehouse_summary(config),
        fraud_model=fraud_model_summary(config.settings.models_root),
        locations=locations(config),
        warnings=tuple(config.warnings),
    )
    publish_report(summary)
    return summary


def locations(config: PipelineConfig) -> Locations:
    settings = config.settings
    duckdb_file = config.warehouse.duckdb_path if config.warehouse.kind == "duckdb" else None
    return Locations(settings.landing_root, settings.lake_root, settings.warehouse, duckdb_file)


def fraud_model_summary(models_root: str) -> ModelSummary:
    """The model that scored this run and its holdout quality."""
    from spark_jobs.fraud.registry import latest_version, read_metrics, version_uri

    version = latest_version(models_root)
    if version is None:
        return ModelSummary(version=None)
    metrics = read_metrics(version_uri(models_root, version))
    holdout = metrics.get("holdout", {})
    window = metrics.get("holdout_window", {})
    return ModelSummary(
        version=version,
        model_type=str(metrics.get("model_type", "unknown")),
        holdout_months=f"{window.get('from_month')} .. {window.get('to_month')}",
        holdout_pr_auc=holdout.get("pr_auc"),
        holdout_roc_auc=holdout.get("roc_auc"),
        precision_at_threshold=holdout.get("precision"),
        recall_at_threshold=holdout.get("recall"),
        threshold=metrics.get("threshold"),
        training_months=_months(metrics.get("train_window", {})),
        holdout_frauds=metrics.get("rows", {}).get("holdout_fraud"),
    )


def _months(window: dict[str, str]) -> int | None:
    """How many months a `{"from_month": "YYYY-MM", "to_month": "YYYY-MM"}` window spans (both included)."""
    try:
        (fy, fm), (ty, tm) = (map(int, window[key].split("-")) for key in ("from_month", "to_month"))
    except (KeyError, ValueError, AttributeError):
        return None
    return (ty - fy) * 12 + tm - fm + 1
