"""The model's reference fallbacks (spark_jobs.fraud.reference) on hand-made feature rows, one per path:
the lake's own history used; the model's category reference used (the lake's is too short); a card too new
for its own mean (category x hour band, or the category when the band is thin); no history at all."""

from __future__ import annotations

import numpy as np
import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from spark_jobs.fraud.drift import bins_of, psi_against
from spark_jobs.fraud.reference import (
    GAP_CAP_S,
    AmountStats,
    TrainingReference,
    training_reference,
    with_reference_features,
)

pytestmark = pytest.mark.spark

REFERENCE = TrainingReference(
    overall=AmountStats(1000, 50.0, 40.0),
    overall_legit=AmountStats(990, 40.0, 30.0),
    by_category={"shopping_net": AmountStats(200, 100.0, 80.0)},
    by_category_legit={"shopping_net": AmountStats(190, 80.0, 60.0), "thin": AmountStats(10, 5.0, 1.0)},
    by_category_band={"shopping_net": {"night": AmountStats(40, 200.0, 100.0), "morning": AmountStats(10, 20.0, 5.0)}},
    night_share=0.1,
    median_age_years=45.0,
    median_distance_km=70.0,
)

INPUT = StructType(
    [
        StructField("id", StringType()),
        StructField("category", StringType()),
        StructField("hour_of_day", IntegerType()),
        StructField("amount_gbp", DoubleType()),
        StructField("category_amount_mean_before", DoubleType()),
        StructField("amount_to_category_mean", DoubleType()),
        StructField("card_txn_count_before", LongType()),
        StructField("card_amount_mean_before", DoubleType()),
        StructField("card_amount_std_before", DoubleType()),
        StructField("amount_to_card_mean", DoubleType()),
        StructField("amount_zscore", DoubleType()),
        StructField("amount_to_card_category_mean", DoubleType()),
        StructField("amount_24h_gbp", DoubleType()),
        StructField("amount_24h_to_card_mean", DoubleType()),
        StructField("card_night_share_before", DoubleType()),
        StructField("seconds_since_prev_txn", LongType()),
        StructField("seconds_since_prev_night_txn", LongType()),
        StructField("max_amount_24h_gbp", DoubleType()),
        StructField("max_night_amount_48h_gbp", DoubleType()),
        StructField("cardholder_age_years", IntegerType()),
        StructField("home_merchant_distance_km", DoubleType()),
    ]
)
ROWS = [
    # the lake has history for the category and the card: every value is the lake's
    ("lake", "shopping_net", 13, 200.0, 50.0, 4.0, 5, 100.0, 50.0, 2.0, 2.0, 1.5, 300.0, 3.0, 0.2, 600, 7200,
     30.0, 40.0, 30, 12.0),
    # the category has too little history in the lake, the card is too new: the model's reference, night band
    ("model", "shopping_net", 23, 300.0, None, None, 1, 10.0, None, None, None, None, 50.0, None, None, 100, None,
     20.0, None, None, None),
    # the morning band of the category is thin in training: the category's legitimate purchases instead
    ("thin_band", "shopping_net", 8, 80.0, 50.0, 1.6, 2, 70.0, 5.0, None, None, None, 0.0, None, None, 60, None,
     None, None, 50, 3.0),
    # nothing at all: a category the model never saw, the card's first purchase in the lake
    ("nothing", "brand_new", 13, 100.0, None, None, 0, None, None, None, None, None, 0.0, None, None, None, None,
     None, None, 61, 5.0),
]  # fmt: skip

OUTPUT = StructType(
    [
        StructField("id", StringType()),
        StructField("category_reference_source", StringType(), False),
        StructField("card_reference_source", StringType(), False),
        StructField("amount_to_category_mean", DoubleType()),
        StructField("amount_to_category_hour_mean", DoubleType()),
        StructField("amount_to_card_mean", DoubleType()),
        StructField("amount_zscore", DoubleType()),
        StructField("amount_to_card_category_mean", DoubleType()),
        StructField("amount_24h_to_card_mean", DoubleType()),
        StructField("card_night_share_before", DoubleType()),
        StructField("no_prior_purchase", BooleanType(), False),
        StructField("seconds_since_prev_txn", LongType()),
        StructField("no_prior_night_purchase", BooleanType(), False),
        StructField("seconds_since_prev_night_txn", LongType()),
        StructField("max_amount_24h_gbp", DoubleType()),
        StructField("max_night_amount_48h_gbp", DoubleType()),
        StructField("is_age_unknown", BooleanType(), False),
        StructField("cardholder_age_years", DoubleType()),
        StructField("is_distance_unknown", BooleanType(), False),
        StructField("home_merchant_distance_km", DoubleType()),
    ]
)
EXPECTED = [
    # lake: all kept; the hour reference has no afternoon band for shopping_net -> category legit mean 80
    ("lake", "lake", "card", 4.0, 2.5, 2.0, 2.0, 1.5, 3.0, 0.2, False, 600, False, 7200, 30.0, 40.0, False, 30.0,
     False, 12.0),
    # model: category 300/100; card -> night band (mean 200, std 100); 24 h spend 50 / legit mean 40;
    # no earlier night purchase: flagged, gap capped; age and distance unknown: medians, flagged
    ("model", "model_category", "model_category_hour", 3.0, 1.5, 1.5, 1.0, 3.0, 1.25, 0.1, False, 100, True,
     GAP_CAP_S, 20.0, 0.0, True, 45.0, True, 70.0),
    # thin band: the lake's category value kept; the card falls back to the category's legitimate 80 / 60
    ("thin_band", "lake", "model_category", 1.6, 1.0, 1.0, 0.0, 80.0 / 50.0, 0.0, 0.1, False, 60, True, GAP_CAP_S,
     0.0, 0.0, False, 50.0, False, 3.0),
    # nothing: overall means (all 50 for the category, legitimate 40 / 30 for the card), both gaps flagged
    ("nothing", "model_overall", "model_overall", 2.0, 2.5, 2.5, 2.0, 2.0, 0.0, 0.1, True, GAP_CAP_S, True,
     GAP_CAP_S, 0.0, 0.0, False, 61.0, False, 5.0),
]  # fmt: skip


def test_every_history_dependent_feature_has_its_fallback(spark):
    rows = spark.createDataFrame(ROWS, INPUT)
    out = rows.transform(with_reference_features, REFERENCE).select(*OUTPUT.fieldNames())
    expected = spark.createDataFrame(EXPECTED, OUTPUT)
    assert_approx_df_equality(out.orderBy("id"), expected.orderBy("id"), precision=1e-9, ignore_nullable=True)


def test_no_model_input_is_left_null(spark):
    from spark_jobs.fraud.model import BOOLEAN_FEATURES, NUMERIC_FEATURES

    rows = spark.createDataFrame(ROWS, INPUT)
    defaults = {c: F.lit(0).cast("double") for c in NUMERIC_FEATURES if c not in INPUT.fieldNames()}
    defaults |= {c: F.lit(False) for c in ("is_night", "is_first_at_merchant")}
    out = rows.withColumns(defaults).transform(with_reference_features, REFERENCE)
    nulls = out.select(*[F.sum(F.col(c).isNull().cast("int")).alias(c) for c in (*NUMERIC_FEATURES, *BOOLEAN_FEATURES)])
    assert all(v == 0 for v in nulls.first().asDict().values())


def test_the_reference_is_computed_from_training_rows_and_survives_json(spark):
    rows = [
        ("shopping_net", 23, 100.0, True, 0.0, 40, 10.0),
        ("shopping_net", 23, 300.0, True, 0.0, 50, 30.0),
        ("shopping_net", 2, 900.0, True, 1.0, 60, None),  # fraud: counted in all purchases, not in legit ones
        ("grocery_pos", 10, 20.0, False, 0.0, None, 20.0),
    ]
    schema = (
        "category string, hour_of_day int, amount_gbp double, is_night boolean, label double, "
        "cardholder_age_years int, home_merchant_distance_km double"
    )
    reference = training_reference(spark.createDataFrame(rows, schema))
    assert reference.by_category["shopping_net"] == AmountStats(3, 1300.0 / 3, pytest.approx(416.333, abs=1e-3))
    assert reference.by_category_legit["shopping_net"].mean == 200.0
    assert reference.by_category_band["shopping_net"]["night"].count == 2
    assert reference.by_category_band["grocery_pos"]["morning"] == AmountStats(1, 20.0, 0.0)
    assert reference.overall == AmountStats(4, 330.0, pytest.approx((474_800 / 3) ** 0.5))
    assert reference.night_share == pytest.approx(2 / 3)
    assert reference.median_age_years == 40.0 and reference.median_distance_km == 20.0
    assert TrainingReference.from_json(reference.to_json()) == reference


def test_drift_bins_flag_a_shift_against_the_training_reference():
    rng = np.random.default_rng(3)
    reference = bins_of(rng.normal(100, 10, 5000))
    assert psi_against(reference, rng.normal(100, 10, 2000)) < 0.05
    assert psi_against(reference, rng.normal(130, 10, 2000)) > 1.0
    half_null = np.r_[rng.normal(100, 10, 1000), np.full(1000, np.nan)]  # a young lake's missing history
    assert psi_against(reference, half_null) > 0.2
