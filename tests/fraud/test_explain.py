"""top_features: the heaviest importance x deviation features, as text a fraud analyst can read."""

from __future__ import annotations

import pytest

from spark_jobs.fraud.explain import top_features_column

pytestmark = pytest.mark.spark

REFERENCE = {
    "numeric": {
        "amount_to_card_mean": {"median": 1.0, "spread": 0.5},
        "txn_count_24h": {"median": 1.0, "spread": 1.0},
        "amount_gbp": {"median": 40.0, "spread": 30.0},
    },
    "flag_rates": {"is_night": 0.2, "is_first_at_merchant": 0.9},
    "category_lift": {"shopping_net": 3.0, "grocery_pos": 0.5},
}
IMPORTANCES = {
    "amount_to_card_mean": 0.3,
    "txn_count_24h": 0.2,
    "is_night": 0.25,
    "amount_gbp": 0.01,
    "category": 0.05,
    "is_first_at_merchant": 0.9,
}


def test_top_three_in_order_of_weight(spark):
    df = spark.createDataFrame(
        [
            ("burst", 8.4, 6, 50.0, True, True, "shopping_net"),
            ("quiet", None, None, None, False, True, "grocery_pos"),
            ("category_only", 1.0, 1, 40.0, False, False, "shopping_net"),
        ],
        "id string, amount_to_card_mean double, txn_count_24h long, amount_gbp double, is_night boolean, "
        "is_first_at_merchant boolean, category string",
    )
    out = {
        r["id"]: r["top"] for r in df.select("id", top_features_column(REFERENCE, IMPORTANCES).alias("top")).collect()
    }
    # 0.3 x 14.8 = 4.44; 0.2 x 5 = 1.0; night 0.25; category 0.05 x 3 = 0.15; amount 0.01 x 0.33
    assert out["burst"] == "amount_to_card_mean=8.4x; txn_count_24h=6; night"
    # missing values weigh nothing; a common flag (first-at-merchant 90 % of legit rows) says nothing
    assert out["quiet"] == ""
    assert out["category_only"] == "category=shopping_net"


def test_reference_skips_a_feature_no_legitimate_row_has(spark):
    from spark_jobs.fraud.explain import explanation_reference
    from spark_jobs.fraud.model import BOOLEAN_FEATURES, NUMERIC_FEATURES

    numeric = list(NUMERIC_FEATURES)
    schema = ", ".join([f"{c} double" for c in numeric] + [f"{c} boolean" for c in BOOLEAN_FEATURES])
    values = [[None if c == "max_night_amount_48h_gbp" else float(i) for c in numeric] for i in range(8)]
    flags = lambda i: [i % 2 == 0] * len(BOOLEAN_FEATURES)  # noqa: E731
    rows = [(*v, *flags(i), "grocery_pos", float(i == 0)) for i, v in enumerate(values)]
    df = spark.createDataFrame(rows, schema + ", category string, label double")
    reference = explanation_reference(df)
    assert "max_night_amount_48h_gbp" not in reference["numeric"]  # every value null: nothing to compare with
    assert reference["numeric"]["amount_gbp"]["median"] == 4.0  # legitimate rows 1..7
