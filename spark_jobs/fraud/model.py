"""The fraud model: gradient-boosted trees (Spark MLlib) over gold/transaction_features.

Missing values are made explicit before the trees see them: a feature that needs history the card does not
have yet (ratio, z-score, time since the previous purchase) gets a sentinel outside its range, so a tree can
split "no history" off instead of confusing it with an ordinary value. The fill lives inside the saved
PipelineModel (a SQLTransformer), so scoring applies exactly what training applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.ml import Pipeline
from pyspark.ml.classification import GBTClassifier
from pyspark.ml.feature import SQLTransformer, StringIndexer, VectorAssembler
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# feature -> value used when it is null (see module docstring)
NUMERIC_FEATURES: dict[str, float] = {
    "amount_gbp": 0.0,
    "txn_count_1h": 0.0,
    "txn_count_24h": 0.0,
    "txn_count_7d": 0.0,
    "night_txn_count_24h": 0.0,
    "amount_24h_gbp": 0.0,
    "max_amount_24h_gbp": 0.0,
    "amount_24h_to_card_mean": -1.0,
    "night_txn_count_48h": 0.0,
    "night_amount_48h_gbp": 0.0,
    "max_night_amount_48h_gbp": 0.0,
    "seconds_since_prev_night_txn": -1.0,
    "card_night_share_before": -1.0,
    "card_category_txn_count_before": 0.0,
    "amount_to_card_category_mean": -1.0,
    "seconds_since_prev_txn": -1.0,
    "card_txn_count_before": 0.0,
    "amount_to_card_mean": -1.0,
    "amount_zscore": -999.0,
    "amount_to_category_mean": -1.0,
    "hour_of_day": -1.0,
    "day_of_week": -1.0,
    "cardholder_age_years": -1.0,
    "home_merchant_distance_km": -1.0,
}
BOOLEAN_FEATURES: tuple[str, ...] = ("is_night", "is_first_at_merchant")
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
    numeric = [f"CAST(COALESCE(`{c}`, {v}) AS DOUBLE) AS `f_{c}`" for c, v in NUMERIC_FEATURES.items()]
    flags = [f"CAST(COALESCE(`{c}`, false) AS DOUBLE) AS `f_{c}`" for c in BOOLEAN_FEATURES]
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
