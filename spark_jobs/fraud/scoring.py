"""Scores and alerts: a loaded model applied to feature rows, and the rows of gold/transaction_scores and
gold/fraud_alerts (columns of contracts.tables.FRAUD_ALERTS, plus row_hash and run_id).

Deterministic by construction: scored_at is the run's window end, and first_seen_at (the one wall-clock
value) is set when an alert is first inserted and carried over unchanged on every rescore; neither is part
of the row hash the merges compare, so rescoring the same rows with the same model rewrites nothing.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType, TimestampType

from contracts.tables import ALERT_CLEARED, ALERT_OPEN, FRAUD_ALERTS
from spark_jobs.delta_io import MergeSpec
from spark_jobs.fraud.explain import top_features_column
from spark_jobs.fraud.model import SCORE, predict
from spark_jobs.fraud.reference import REFERENCE_COLUMNS, SOURCE_COLUMNS
from spark_jobs.fraud.registry import LoadedModel
from spark_jobs.transforms.star import star_struct, surrogate_key

TRANSACTION_SCORES = StructType(
    [
        StructField("transaction_id", StringType(), False),
        StructField("fraud_score", DoubleType(), True),
        StructField("model_version", StringType(), True),
        StructField("threshold", DoubleType(), True),
        StructField("is_alert", BooleanType(), True),
        StructField("scored_at", TimestampType(), True),
        StructField("row_hash", StringType(), True),
        StructField("run_id", StringType(), True),
    ]
)
ALERT_COLUMNS = [*FRAUD_ALERTS.column_names, "row_hash", "run_id"]
_ALERT_UNHASHED = {"first_seen_at", "row_hash", "run_id"}
SCORES_MERGE = MergeSpec(keys=("transaction_id",), version_column=None, tiebreak_column=None, compare_column="row_hash")
ALERTS_MERGE = SCORES_MERGE


def _hash(*columns: str) -> F.Column:
    return F.sha2(F.concat_ws("\u241f", *[F.coalesce(F.col(c).cast("string"), F.lit("\u2400")) for c in columns]), 256)


def score_features(features: DataFrame, model: LoadedModel) -> DataFrame:
    """Feature rows of purchases -> the same rows with fraud_score and top_features (refunds are not scored).

    The one function a batch or streaming scorer calls: the model's reference fills what the lake's history
    cannot give yet (`spark_jobs.fraud.reference`), so the feature columns come back as the model saw them,
    with `category_reference_source` and `card_reference_source` telling which source each row used."""
    purchases = features.where(~F.coalesce(F.col("is_refund"), F.lit(False)))
    metrics = model.metrics
    explain = top_features_column(metrics.get("explanation_reference", {}), metrics.get("feature_importances", {}))
    predicted = predict(model.pipeline, model.reference, purchases)
    extra = [c for c in (*REFERENCE_COLUMNS, *SOURCE_COLUMNS) if c not in features.columns]
    return predicted.select(*features.columns, *extra, SCORE, explain.alias("top_features")).drop("row_hash", "run_id")


def score_rows(scored: DataFrame, model_version: str, threshold: float, run_id: str, scored_at: datetime) -> DataFrame:
    rows = scored.select(
        "transaction_id",
        F.col(SCORE).alias("fraud_score"),
        F.lit(model_version).alias("model_version"),
        F.lit(float(threshold)).alias("threshold"),
        (F.col(SCORE) >= F.lit(float(threshold))).alias("is_alert"),
        F.lit(scored_at).cast("timestamp").alias("scored_at"),
    )
    return rows.withColumn("row_hash", _hash("fraud_score", "model_version", "threshold", "is_alert")).withColumn(
        "run_id", F.lit(run_id)
    )


def alert_rows(
    scored: DataFrame,
    *,
    threshold: float,
    model_version: str,
    transactions: DataFrame,
    merchants: DataFrame,
    existing_alerts: DataFrame,
    run_id: str,
    first_seen_at: datetime,
) -> DataFrame:
    """Alerts for scores at or above the threshold, and refreshed rows for rescored transactions that already have
    an alert: one row per transaction, first_seen_at kept, its status that of the latest score (open at or above
    the threshold, cleared below it), so the open alerts do not depend on the order batches arrived in."""
    existing = existing_alerts.select("transaction_id", F.col("first_seen_at").alias("_first_seen_at"))
    candidates = scored.join(existing, "transaction_id", "left").where(
        (F.col(SCORE) >= F.lit(float(threshold))) | F.col("_first_seen_at").isNotNull()
    )
    txn = transactions.select(
        "transaction_id",
        "card_last4",
        F.col("amount_minor").alias("_amount_minor"),
        F.col("currency").alias("_currency"),
        F.col("amount_gbp").alias("_amount"),
        "merchant_id",
    )
    shop = merchants.select("merchant_id", "merchant_name")
    rows = (
        candidates.drop("amount_gbp", "amount_minor", "currency")
        .join(txn, "transaction_id", "left")
        .join(shop, "merchant_id", "left")
        .select(
            surrogate_key("transaction_id").alias("alert_key"),
            "transaction_id",
            surrogate_key("card_token").alias("customer_key"),
            "card_token",
            "card_last4",
            "merchant_name",
            "category",
            F.col("_amount_minor").cast("bigint").alias("amount_minor"),
            F.col("_currency").alias("currency"),
            F.col("_amount").cast("decimal(18,2)").alias("amount_gbp"),
            F.col(SCORE).alias("fraud_score"),
            "top_features",
            F.lit(model_version).alias("model_version"),
            "transaction_ts",
            F.coalesce(F.col("_first_seen_at"), F.lit(first_seen_at).cast("timestamp")).alias("first_seen_at"),
            F.when(F.col(SCORE) >= F.lit(float(threshold)), ALERT_OPEN).otherwise(ALERT_CLEARED).alias("alert_status"),
        )
    )
    hashed = [c for c in FRAUD_ALERTS.column_names if c not in _ALERT_UNHASHED]
    return rows.withColumn("row_hash", _hash(*hashed)).withColumn("run_id", F.lit(run_id)).select(*ALERT_COLUMNS)


FRAUD_ALERTS_SCHEMA = star_struct(FRAUD_ALERTS, bookkeeping=True)
