"""`--job score`: fraud_score for every purchase whose features changed in this run, and alerts above the
model's threshold (gold/transaction_scores, gold/fraud_alerts). No labels needed.

Options (ctx.options): `model_uri` (a version folder), else LATEST under `models_root` (default
`<lake>/models`); `threshold` overrides the model's; `select=window` scores every feature row with
transaction_ts in [window_start, window_end) instead of this run's changes (the CLI's `score`).
Without a trained model the job reports "skipped: no model" rather than failing the pipeline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.fraud.registry import LoadedModel, ModelNotFound, load_model
from spark_jobs.fraud.scoring import (
    ALERTS_MERGE,
    FRAUD_ALERTS_SCHEMA,
    SCORES_MERGE,
    alert_rows,
    score_features,
    score_rows,
)
from spark_jobs.jobs.context import JobContext
from spark_jobs.schemas import SILVER_MERCHANTS, SILVER_TRANSACTIONS
from spark_jobs.transforms.features import GOLD_TRANSACTION_FEATURES

SELECTIONS = ("changed", "window")


def _model(ctx: JobContext) -> LoadedModel:
    root = ctx.options.get("models_root") or f"{ctx.lake_uri.rstrip('/')}/models"
    return load_model(ctx.options.get("model_uri"), root)


def _selected(ctx: JobContext, features: DataFrame) -> DataFrame:
    selection = ctx.options.get("select", "changed")
    if selection == "changed":
        return features.where(F.col("run_id") == F.lit(ctx.run_id))
    if selection == "window":
        ts = F.col("transaction_ts")
        return features.where((ts >= F.lit(ctx.window_start)) & (ts < F.lit(ctx.window_end)))
    raise ValueError(f"unknown score selection {selection!r}; choose one of {', '.join(SELECTIONS)}")


def run(ctx: JobContext) -> dict[str, Any]:
    try:
        model = _model(ctx)
    except ModelNotFound as missing:
        return {"status": "skipped: no model", "reason": str(missing), "scored": 0, "alerts": 0}
    threshold = float(ctx.options.get("threshold", model.threshold))
    features = ctx.read("gold", "transaction_features", GOLD_TRANSACTION_FEATURES)
    scored = score_features(_selected(ctx, features), model).persist()
    try:
        count = scored.count()
        if count == 0:
            return {"status": "ok", "model_version": model.version, "scored": 0, "alerts": 0}
        scores = score_rows(scored, model.version, threshold, ctx.run_id, ctx.window_end)
        scores_result = ctx.delta.merge(scores, ctx.table("gold", "transaction_scores"), SCORES_MERGE)
        first_seen = datetime.fromisoformat(ctx.options["now"]) if "now" in ctx.options else datetime.now(UTC)
        alerts = alert_rows(
            scored,
            threshold=threshold,
            model_version=model.version,
            transactions=ctx.read("silver", "transactions", SILVER_TRANSACTIONS),
            merchants=ctx.read("silver", "merchants", SILVER_MERCHANTS),
            existing_alerts=ctx.read("gold", "fraud_alerts", FRAUD_ALERTS_SCHEMA),
            run_id=ctx.run_id,
            first_seen_at=first_seen.replace(microsecond=0),
        )
        alerts_result = ctx.delta.merge(alerts, ctx.table("gold", "fraud_alerts"), ALERTS_MERGE)
        above = scored.where(F.col("fraud_score") >= threshold).count()
    finally:
        scored.unpersist()
    return {
        "status": "ok",
        "model_version": model.version,
        "threshold": threshold,
        "scored": count,
        "scores_written": scores_result.changed,
        "above_threshold": above,
        "alerts_inserted": alerts_result.inserted,
        "alerts_updated": alerts_result.updated,
    }
