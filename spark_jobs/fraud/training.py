"""Training with a time-ordered split: fit on earlier months, choose the threshold on the next month(s),
report quality on the latest months (the holdout), which neither the fit nor the threshold has seen.

    | train months ........ | validation | holdout |
      fit (legit rows sampled) max-F1 threshold  PR-AUC, ROC-AUC, precision/recall at the threshold
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.fraud.drift import drift_reference
from spark_jobs.fraud.evaluation import at_threshold, max_f1_threshold
from spark_jobs.fraud.explain import explanation_reference
from spark_jobs.fraud.model import (
    FEATURES,
    LABEL,
    SCORE,
    GbtParams,
    build_pipeline,
    feature_importances,
    predict,
)
from spark_jobs.fraud.reference import TrainingReference, training_reference, with_reference_features


class NotEnoughData(ValueError):
    """The labelled rows cannot be split into train / validation / holdout months."""


@dataclass(frozen=True)
class TimeSplit:
    train_months: list[str]
    validation_months: list[str]
    holdout_months: list[str]


@dataclass
class TrainedModel:
    pipeline: PipelineModel
    metrics: dict[str, Any]
    reference: TrainingReference

    def predict(self, features: DataFrame) -> DataFrame:
        """Gold feature rows -> the same rows prepared with the model's reference and scored (`fraud_score`)."""
        return predict(self.pipeline, self.reference, features)


def time_split(months: list[str], holdout_months: int, validation_months: int) -> TimeSplit:
    ordered = sorted(set(months))
    needed = holdout_months + validation_months + 1
    if holdout_months < 1 or validation_months < 1:
        raise NotEnoughData("holdout_months and validation_months must each be at least 1")
    if len(ordered) < needed:
        raise NotEnoughData(
            f"{len(ordered)} month(s) of labelled data ({', '.join(ordered) or 'none'}); a time-ordered split "
            f"needs at least {needed}: >=1 to train, {validation_months} to choose the threshold, "
            f"{holdout_months} to evaluate"
        )
    cut_h = len(ordered) - holdout_months
    cut_v = cut_h - validation_months
    return TimeSplit(ordered[:cut_v], ordered[cut_v:cut_h], ordered[cut_h:])


FIT_PARTITIONS = 8


def fit_rows(train_df: DataFrame, negative_sample_rate: float, seed: int) -> DataFrame:
    """The rows the trees are fitted on: every fraud, legit rows kept at `negative_sample_rate`.

    Reproducible whatever the input's partitioning: the sample is a hash of (transaction_id, seed), and the rows
    are placed in a fixed number of partitions by transaction_id and sorted there, because the trees' row
    subsampling draws per partition. (`sampleBy` would draw differently for each partitioning of the same rows.)
    """
    draw = F.pmod(F.xxhash64("transaction_id", F.lit(seed)), F.lit(1_000_000)) / F.lit(1_000_000.0)
    kept = (
        train_df if negative_sample_rate >= 1.0 else train_df.where((F.col(LABEL) == 1) | (draw < negative_sample_rate))
    )
    return kept.repartition(FIT_PARTITIONS, "transaction_id").sortWithinPartitions("transaction_id")


def _scores_and_labels(
    model: PipelineModel, reference: TrainingReference, df: DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = predict(model, reference, df).select(SCORE, LABEL, "transaction_month").collect()
    return (
        np.array([r[0] for r in rows], dtype=float),
        np.array([int(r[1]) for r in rows], dtype=int),
        np.array([r[2] for r in rows], dtype=object),
    )


def _by_month(scores: np.ndarray, labels: np.ndarray, months: np.ndarray, threshold: float) -> dict[str, Any]:
    """Per-month quality: the fraud base rate moves with legitimate volume (e.g. December), and PR-AUC with it."""
    out = {}
    for month in sorted(set(months)):
        mask = months == month
        out[month] = {
            **at_threshold(scores[mask], labels[mask], threshold).as_dict(),
            "fraud_rate": labels[mask].mean(),
        }
    return out


def _window(months: list[str]) -> dict[str, str]:
    return {"from_month": months[0], "to_month": months[-1]}


def train(
    labelled: DataFrame,
    *,
    holdout_months: int = 2,
    validation_months: int = 1,
    negative_sample_rate: float = 0.5,
    params: GbtParams | None = None,
) -> TrainedModel:
    """labelled: gold features with `label` (see model.with_label) and transaction_month."""
    params = params or GbtParams()
    months = [r[0] for r in labelled.select("transaction_month").distinct().collect() if r[0]]
    split = time_split(months, holdout_months, validation_months)
    in_months = lambda ms: labelled.where(F.col("transaction_month").isin(ms))  # noqa: E731
    train_df, validation_df, holdout_df = (in_months(m) for m in asdict(split).values())
    train_df = train_df.persist()
    positives = train_df.where(F.col(LABEL) == 1).count()
    if positives == 0:
        raise NotEnoughData(f"no fraud label in the training months {split.train_months}")
    reference = training_reference(train_df)
    prepared_train = train_df.transform(with_reference_features, reference)
    fit_df = fit_rows(prepared_train, negative_sample_rate, params.seed)
    pipeline = build_pipeline(params).fit(fit_df)

    val_scores, val_labels, _ = _scores_and_labels(pipeline, reference, validation_df)
    if val_labels.sum() == 0:
        raise NotEnoughData(f"no fraud label in the validation months {split.validation_months}")
    threshold = max_f1_threshold(val_scores, val_labels)
    hold_scores, hold_labels, hold_months = _scores_and_labels(pipeline, reference, holdout_df)
    reference = replace(reference, drift=drift_reference(train_df, val_scores))
    importances = feature_importances(pipeline)
    metrics = {
        "model_type": "GBTClassifier (Spark MLlib)",
        "params": asdict(params),
        "features": list(FEATURES),
        "feature_importances": dict(sorted(importances.items(), key=lambda kv: -kv[1])),
        "threshold": threshold,
        "threshold_rule": "max F1 on the validation months",
        "negative_sample_rate": negative_sample_rate,
        "train_window": _window(split.train_months),
        "validation_window": _window(split.validation_months),
        "holdout_window": _window(split.holdout_months),
        "rows": {
            "train": train_df.count(),
            "train_fraud": positives,
            "fit_sampled": fit_df.count(),
            "validation": len(val_labels),
            "validation_fraud": int(val_labels.sum()),
            "holdout": len(hold_labels),
            "holdout_fraud": int(hold_labels.sum()),
        },
        "validation": at_threshold(val_scores, val_labels, threshold).as_dict(),
        "holdout": at_threshold(hold_scores, hold_labels, threshold).as_dict(),
        "holdout_by_month": _by_month(hold_scores, hold_labels, hold_months, threshold),
        "explanation_reference": explanation_reference(prepared_train),
        "reference_categories": len(reference.by_category),
    }
    train_df.unpersist()
    return TrainedModel(pipeline=pipeline, metrics=metrics, reference=reference)
