"""Train from the lake: gold/transaction_features joined with the silver labels, then register the model."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contracts import lake as tables
from spark_jobs.delta_io import DeltaIO
from spark_jobs.fraud.model import GbtParams, with_label
from spark_jobs.fraud.registry import save_model, version_uri
from spark_jobs.fraud.training import NotEnoughData, train
from spark_jobs.schemas import SILVER_TRANSACTIONS
from spark_jobs.transforms.features import GOLD_TRANSACTION_FEATURES


def train_from_lake(
    spark: SparkSession,
    delta: DeltaIO,
    lake_uri: str,
    models_root: str | Path,
    *,
    train_from: date | None = None,
    train_to: date | None = None,
    holdout_months: int = 2,
    validation_months: int = 1,
    negative_sample_rate: float = 0.5,
    params: GbtParams | None = None,
) -> dict[str, Any]:
    """Fit on transactions in [train_from, train_to) (holdout = its last months), save, return the metrics."""
    features_uri = tables.GOLD_TRANSACTION_FEATURES.uri(lake_uri)
    if not delta.exists(features_uri):
        raise NotEnoughData(f"no features table at {features_uri}: run the features job first")
    features = delta.read(spark, features_uri, GOLD_TRANSACTION_FEATURES)
    if train_from:
        features = features.where(F.col("transaction_date") >= F.lit(train_from))
    if train_to:
        features = features.where(F.col("transaction_date") < F.lit(train_to))
    labels = delta.read(spark, tables.SILVER_TRANSACTIONS.uri(lake_uri), SILVER_TRANSACTIONS)
    labelled = with_label(features, labels).cache()
    try:
        trained = train(
            labelled,
            holdout_months=holdout_months,
            validation_months=validation_months,
            negative_sample_rate=negative_sample_rate,
            params=params,
        )
    finally:
        labelled.unpersist()
    trained.metrics["requested_window"] = {
        "from": train_from.isoformat() if train_from else None,
        "to": train_to.isoformat() if train_to else None,
    }
    version = save_model(models_root, trained.pipeline, trained.metrics, trained.reference)
    return {**trained.metrics, "version": version, "model_uri": version_uri(models_root, version)}
