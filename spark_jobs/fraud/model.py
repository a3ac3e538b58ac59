"""The fraud model: gradient-boosted trees (Spark MLlib) over gold/transaction_features.

No sentinel values: before the trees see a row, `spark_jobs.fraud.reference.with_reference_features` fills each
history-dependent feature from the lake when it has the history, else from the reference statistics the model
was trained with, and sets explicit indicators where no honest estimate exists (`no_prior_purchase`, ...). The
same transform runs in training and scoring (`prepared_rows`); the PipelineModel only casts, indexes the
category and assembles, so a null reaching it is a bug and fails loudly rather than being read as a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier
from pyspark.ml.feature import SQLTransformer, StringIndexer, VectorAssembler
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.fraud.reference import TrainingReference, with_reference_features

NUMERIC_FEATURES: tuple[str, ...] = (
    "amount_gbp",
    "txn_count_1h",
    "txn_count_24h",
    "txn_count_7d",
    "night_txn_count_24h",
    "amount_24h_gbp",
    "max_amount_24h_gbp",
    "amount_24h_to_card_mean",
    "night_txn_count_48h",
    "night_amount_48h_gbp",
    "max_night_amount_48h_gbp",
    "seconds_since_prev_night_txn",
    "card_night_share_before",
    "card_category_txn_count_before",
    "amount_to_card_category_mean",
    "seconds_since_prev_txn",
    "card_txn_count_before",
    "amount_to_card_mean",
    "amount_zscore",
    "amount_to_category_mean",
    "amount_to_category_hour_mean",
    "hour_of_day",
    "day_of_week",
    "cardholder_age_years",
    "home_merchant_distance_km",
)
BOOLEAN_FEATURES: tuple[str, ...] = (
    "is_night",
    "is_first_at_merchant",
    "no_prior_purchase",
    "no_prior_night_purchase",
    "is_age_unknown",
    "is_distance_unknown",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("category",)
FEATURES: tuple[str, ...] = (*NUMERIC_FEATURES, *BOOLEAN_FEATURES, *CATEGORICAL_FEATURES)
MODEL_INPUTS: tuple[str, ...] = (*NUMERIC_FEATURES, *BOOLEAN_FEATURES, "category_index")
LABEL = "label"
SCORE = "fraud_score"


@dataclass(frozen=True)
class GbtParams:
    max_iter: int = 150
    max_depth: int = 6
    step_size: float = 0.1
    subsampling_rate: float = 0.8
    max_bins: int = 512  # quantile bins: 128 leave only a handful of amount splits above £200, where fraud sits
    seed: int = 42
    extra: dict[str, float] = field(default_factory=dict)


def _fill_statement() -> str:
    numeric = [f"CAST(`{c}` AS DOUBLE) AS `f_{c}`" for c in NUMERIC_FEATURES]
    flags = [f"CAST(`{c}` AS DOUBLE) AS `f_{c}`" for c in BOOLEAN_FEATURES]
    category = ["COALESCE(`category`, 'unknown') AS `f_category`"]
    return "SELECT *, " + ", ".join(numeric + flags + category) + " FROM __THIS__"


def build_pipeline(params: GbtParams) -> Pipeline:
    assembled = [f"f_{c}" for c in (*NUMERIC_FEATURES, *BOOLEAN_FEATURES)] + ["f_category_index"]
    return Pipeline(
        stages=[
            SQLTransformer(statement=_fill_statement()),
            StringIndexer(inputCol="f_category", outputCol="f_category_index", handleInvalid="keep"),
            VectorAssembler(inputCols=assembled, outputCol="features"),
            GBTClassifier(
                labelCol=LABEL,
                featuresCol="features",
                maxIter=params.max_iter,
                maxDepth=params.max_depth,
                stepSize=params.step_size,
                subsamplingRate=params.subsampling_rate,
                maxBins=params.max_bins,
                seed=params.seed,
            ),
        ]
    )


def with_label(features: DataFrame, transactions: DataFrame) -> DataFrame:
    """Features of labelled purchases (refunds are not scored) with label = is_fraud as 0/1."""
    labels = transactions.select("transaction_id", F.col("is_fraud"))
    return (
        features.where(~F.coalesce(F.col("is_refund"), F.lit(False)))
        .join(labels, "transaction_id")
        .where(F.col("is_fraud").isNotNull())
        .withColumn(LABEL, F.col("is_fraud").cast("double"))
    )


def probability_of_fraud(predictions: DataFrame) -> DataFrame:
    """The model's output -> a plain `fraud_score` column (probability of the positive class)."""
    from pyspark.ml.functions import vector_to_array

    return predictions.withColumn(SCORE, vector_to_array(F.col("probability"))[1])


def feature_importances(pipeline_model: object) -> dict[str, float]:
    """The GBT's importances by feature name (category_index reported as `category`)."""
    gbt = pipeline_model.stages[-1]  # type: ignore[attr-defined]
    names = [c if c != "category_index" else "category" for c in MODEL_INPUTS]
    values = gbt.featureImportances.toArray()
    return {name: float(v) for name, v in zip(names, values, strict=True)}


def predict(pipeline: PipelineModel, reference: TrainingReference, features: DataFrame) -> DataFrame:
    """The one way rows reach the trees, in training and scoring alike: the reference fallbacks
    (`with_reference_features`), then the pipeline; adds `fraud_score`."""
    prepared = features.transform(with_reference_features, reference)
    return pipeline.transform(prepared).transform(probability_of_fraud)
