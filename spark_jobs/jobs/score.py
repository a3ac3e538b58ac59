"""`--job score`: fraud_score for every purchase whose features changed in this run, and alerts above the
model's threshold (gold/transaction_scores, gold/fraud_alerts). No labels needed.

Options (`contracts.jobs.ScoreOptions`): `model_uri` (a version folder), else LATEST under `models_root`
(default `<lake>/models`); `threshold` overrides the model's; `select="window"` scores every feature row with
transaction_ts in the window instead of this run's changes (the CLI's `score`).
Without a trained model the job reports "skipped" with the reason rather than failing the pipeline.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contracts import lake
from contracts.jobs import ScoreOptions
from contracts.results import JobOutcome, TableCounts
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


def _model(ctx: JobContext, options: ScoreOptions) -> LoadedModel:
    return load_model(options.model_uri, options.models_root or lake.default_models_root(ctx.lake_uri))


def _selected(ctx: JobContext, features: DataFrame, options: ScoreOptions) -> DataFrame:
    if options.select == "window":
        ts = F.col("transaction_ts")
        return features.where((ts >= F.lit(ctx.window_start)) & (ts < F.lit(ctx.window_end)))
    return features.where(F.col("run_id") == F.lit(ctx.run_id))


def run(ctx: JobContext, options: ScoreOptions, model: LoadedModel | None = None) -> JobOutcome:
    """Score this run's feature rows; `model`, when given, is used instead of loading `options`' model (the
    stream loads it once, not per micro-batch)."""
    try:
        model = model or _model(ctx, options)
    except ModelNotFound as missing:
        skipped = TableCounts(lake.GOLD_TRANSACTION_SCORES.path, note="skipped: no model")
        return JobOutcome((skipped,), status="skipped", notes=(f"not scored: {missing}",))
    threshold = model.threshold if options.threshold is None else options.threshold
    features = ctx.read(lake.GOLD_TRANSACTION_FEATURES, GOLD_TRANSACTION_FEATURES)
    scored = score_features(_selected(ctx, features, options), model).persist()
    try:
        count = scored.count()
        if count == 0:
            return JobOutcome((TableCounts(lake.GOLD_TRANSACTION_SCORES.path),), model_version=model.version)
        scores = score_rows(scored, model.version, threshold, ctx.run_id, ctx.window_end)
        scores_result = ctx.delta.merge(scores, ctx.table(lake.GOLD_TRANSACTION_SCORES), SCORES_MERGE)
        first_seen = options.now or datetime.now(UTC)
        alerts = alert_rows(
            scored,
            threshold=threshold,
            model_version=model.version,
            transactions=ctx.read(lake.SILVER_TRANSACTIONS, SILVER_TRANSACTIONS),
            merchants=ctx.read(lake.SILVER_MERCHANTS, SILVER_MERCHANTS),
            existing_alerts=ctx.read(lake.GOLD_FRAUD_ALERTS, FRAUD_ALERTS_SCHEMA),
            run_id=ctx.run_id,
            first_seen_at=first_seen.replace(microsecond=0),
        )
        alerts_result = ctx.delta.merge(alerts, ctx.table(lake.GOLD_FRAUD_ALERTS), ALERTS_MERGE)
        above = scored.where(F.col("fraud_score") >= threshold).count()
    finally:
        scored.unpersist()
    model_note = f"model {model.version}, threshold {threshold:.3f}"
    return JobOutcome(
        (
            TableCounts(lake.GOLD_TRANSACTION_SCORES.path, count, count, 0, scores_result.inserted,
                        scores_result.updated, note=model_note),
            TableCounts(lake.GOLD_FRAUD_ALERTS.path, above, above, 0, alerts_result.inserted, alerts_result.updated,
                        note="scores at or above the threshold"),
        ),
        model_version=model.version,
    )  # fmt: skip
