"""Prefect flow: train the fraud model from the lake's gold features and silver labels, register it, and return
its metrics (the score job then picks it up through `<models_root>/fraud/LATEST`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cardlake.config import load_settings
from cardlake.fraud_evaluation import Evaluation, run_evaluation, window_of
from cardlake.lake_writer import lake_writer
from contracts import names
from contracts.jobs import LocalSpark
from contracts.landing import Window
from spark_jobs.fraud.model import GbtParams


def _params(max_iter: int | None, max_depth: int | None) -> GbtParams:
    """The model's own defaults (the benchmarked ones) unless a caller overrides them."""
    params = GbtParams()
    if max_iter is not None:
        params = replace(params, max_iter=max_iter)
    if max_depth is not None:
        params = replace(params, max_depth=max_depth)
    return params


@task(name="train-and-register-fraud-model", cache_policy=NO_CACHE, persist_result=False)
def train_and_register(
    lake_uri: str,
    models_root: str,
    train_from: date | None,
    train_to: date | None,
    holdout_months: int,
    validation_months: int,
    delta_engine: str,
    local: LocalSpark,
    max_iter: int | None = None,
    max_depth: int | None = None,
    *,
    lake_writer_timeout_s: float,
    lake_writer_lease_s: float = 300,
) -> dict[str, Any]:
    """Holds the one-writer limit: it publishes the model the score job reads, from a consistent lake."""
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.fraud.lake import train_from_lake
    from spark_jobs.session import get_spark

    spark = get_spark("cardlake-train-fraud", local)
    with lake_writer("fraud model training", lake_writer_timeout_s, lease_seconds=lake_writer_lease_s):
        return train_from_lake(
            spark,
            get_delta_io(delta_engine, spark),
            lake_uri,
            models_root,
            train_from=train_from,
            train_to=train_to,
            holdout_months=holdout_months,
            validation_months=validation_months,
            params=_params(max_iter, max_depth),
        )


@flow(name=names.TRAIN_FLOW)
def train_fraud_model(
    lake_uri: str | None = None,
    models_root: str | None = None,
    train_from: date | None = None,
    train_to: date | None = None,
    holdout_months: int = 2,
    validation_months: int = 1,
    max_iter: int | None = None,
    max_depth: int | None = None,
) -> dict[str, Any]:
    """Train on [train_from, train_to) (default: everything in the lake); the last `holdout_months` are held out."""
    settings = load_settings()
    metrics = train_and_register(
        lake_uri or settings.lake_root,
        models_root or str(settings.models_root),
        train_from,
        train_to,
        holdout_months,
        validation_months,
        settings.delta_engine,
        settings.local_spark,
        max_iter,
        max_depth,
        lake_writer_timeout_s=settings.lake_writer_timeout_s,
        lake_writer_lease_s=settings.lake_writer_lease_s,
    )
    holdout = metrics.get("holdout", {})
    get_run_logger().info(
        "fraud model %s: holdout PR-AUC %s, recall %s at threshold %.3f",
        metrics.get("version"),
        holdout.get("pr_auc"),
        holdout.get("recall"),
        metrics.get("threshold", float("nan")),
    )
    return metrics


@task(name="evaluate-fraud-scores", cache_policy=NO_CACHE, persist_result=False)
def evaluate_scores(
    lake_uri: str,
    window: Window,
    out: Path,
    *,
    threshold: float | None = None,
    resamples: int = 200,
    seed: int = 17,
) -> Evaluation:
    """Reads the lake only (no writer limit): scores, labels and the model's numeric features of the window."""
    from spark_jobs.fraud.model import NUMERIC_FEATURES

    return run_evaluation(
        lake_uri,
        window,
        out,
        threshold=threshold,
        resamples=resamples,
        seed=seed,
        feature_columns=tuple(NUMERIC_FEATURES),
    )


@flow(name="evaluate-fraud-scores")
def evaluate_fraud_scores(
    start: date, end: date, out: str | None = None, lake_uri: str | None = None, threshold: float | None = None
) -> dict[str, Any]:
    """`cardlake fraud evaluate` as a flow: the report of [start, end), written to `out` (or beside the lake)."""
    settings = load_settings()
    root = lake_uri or settings.lake_root
    window = window_of(datetime(start.year, start.month, start.day), datetime(end.year, end.month, end.day))
    folder = Path(out or f"fraud-evaluation_{start}_{end}")
    evaluation = evaluate_scores(root, window, folder, threshold=threshold)
    get_run_logger().info(
        "fraud scores %s: PR-AUC %s, ROC-AUC %s on %d rows (%d frauds); report %s",
        window.label,
        evaluation.pr_auc,
        evaluation.roc_auc,
        evaluation.rows,
        evaluation.positives,
        evaluation.files.get("report"),
    )
    return evaluation.as_dict()
