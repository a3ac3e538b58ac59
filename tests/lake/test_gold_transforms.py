"""chispa tests of gold reward_transactions: units, perks, rewards before their transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from spark_jobs import schemas
from spark_jobs.transforms import gold as T

pytestmark = pytest.mark.spark
NOON = datetime(2025, 6, 1, 12, tzinfo=UTC)


def rewards_df(spark, rows):
    full = []
    for rid, tid, plu, fiat, rate, rtype, status in rows:
        full.append(
            (rid, tid, "PLU", Decimal(plu), fiat, "GBP", rate, rtype, status, NOON, NOON, "2025-06", "h", "f", "r")
        )
    return spark.createDataFrame(full, schemas.SILVER_REWARDS)


def transactions_df(spark, rows):
    """Silver transactions by column name (columns this test does not care about stay null)."""
    names = schemas.SILVER_TRANSACTIONS.fieldNames()
    full = []
    for tid, minor in rows:
        row = {
            "transaction_id": tid, "transaction_ts": NOON, "transaction_date": NOON.date(),
            "transaction_month": "2025-06", "transaction_type": "CARD_SETTLEMENT", "statement_kind": "card_purchase",
            "amount_minor": minor, "amount_gbp": Decimal(minor) / 100, "currency": "GBP", "is_debit": True,
            "is_refund": False, "description": "d", "clean_description": "d", "category": "grocery_pos",
            "mcc": "5411", "card_token": "tok", "card_last4": "1486", "cardholder_id": "ch", "address_id": "a",
            "merchant_id": "m", "is_fraud": False, "created_at": NOON, "updated_at": NOON, "record_hash": "h",
            "source_file": "f", "run_id": "r",
        }  # fmt: skip
        full.append(tuple(row.get(name) for name in names))
    return spark.createDataFrame(full, schemas.SILVER_TRANSACTIONS)


def test_rebate_value_and_plu_price_have_explicit_units(spark):
    rewards = rewards_df(spark, [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved")])
    gold = T.reward_transactions(rewards, transactions_df(spark, [("t1", 1250)]), "run")
    got = gold.select(
        "reward_id", F.col("reward_amount_gbp").cast("string").alias("gbp"), "plu_price_gbp",
        F.col("transaction_amount_gbp").cast("string").alias("tx_gbp"), "is_available", "transaction_found",
    )  # fmt: skip
    # 12.50 GBP x 3% = 0.375 GBP for 0.0625 PLU -> 6 GBP per PLU
    expected = spark.createDataFrame([("r1", "0.3750", 6.0, "12.50", True, True)], got.schema)
    assert_df_equality(got, expected, ignore_nullable=True)


def test_perks_and_boosts_are_kept_with_null_transaction_fields(spark):
    rewards = rewards_df(
        spark,
        [
            ("perk", None, "0.5", 500, None, "PERK_REWARD", "pending"),
            ("boost", None, "0.1", 100, None, "BOOST_REWARD", "pending"),
        ],
    )
    gold = T.reward_transactions(rewards, transactions_df(spark, []), "run")
    got = gold.select("reward_id", F.col("reward_amount_gbp").cast("string").alias("gbp"), "transaction_found",
                      "transaction_amount_gbp", "card_token")  # fmt: skip
    expected = spark.createDataFrame(
        [("perk", "5.0000", False, None, None), ("boost", "1.0000", False, None, None)], got.schema
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_reward_before_its_transaction_is_filled_when_the_transaction_arrives(spark):
    rewards = rewards_df(spark, [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "pending")])
    before = T.reward_transactions(rewards, transactions_df(spark, []), "run-1").first()
    assert before["transaction_found"] is False and before["card_token"] is None
    # The transaction lands in a later run: it touches the reward, which is re-resolved.
    changed_tx = transactions_df(spark, [("t1", 1250)])
    touched = rewards.transform(T.rewards_touched_by("run-2", changed_tx.select("transaction_id")))
    assert [r["reward_id"] for r in touched.collect()] == ["r1"]
    after = T.reward_transactions(touched, changed_tx, "run-2").first()
    assert after["transaction_found"] is True and after["card_token"] == "tok"
    assert after["row_hash"] != before["row_hash"]


def test_touched_rewards_are_those_of_the_run_or_of_a_changed_transaction_each_once(spark):
    rows = [
        ("changed", "t-old", "1", 100, None, "PERK_REWARD", "pending"),  # changed in this run
        ("both", "t-new", "1", 100, None, "PERK_REWARD", "pending"),  # changed, and so was its transaction
        ("via-tx", "t-new", "1", 100, None, "PERK_REWARD", "pending"),  # only its transaction changed
        ("untouched", "t-old", "1", 100, None, "PERK_REWARD", "pending"),
        ("perk", None, "1", 100, None, "PERK_REWARD", "pending"),
    ]
    run_of = {"changed": "run-2", "both": "run-2"}
    rewards = rewards_df(spark, rows).withColumn(
        "run_id", F.coalesce(F.create_map(*[F.lit(x) for kv in run_of.items() for x in kv])[F.col("reward_id")],
                             F.lit("run-1"))
    )  # fmt: skip
    changed_ids = spark.createDataFrame([("t-new",)], "transaction_id string")
    touched = rewards.transform(T.rewards_touched_by("run-2", changed_ids))
    assert touched.columns == rewards.columns
    assert sorted(r["reward_id"] for r in touched.collect()) == ["both", "changed", "via-tx"]


def test_row_hash_ignores_the_run_and_changes_with_the_state(spark):
    pending = rewards_df(spark, [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "pending")])
    approved = rewards_df(spark, [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved")])
    tx = transactions_df(spark, [("t1", 1250)])
    a = T.reward_transactions(pending, tx, "run-1").first()["row_hash"]
    b = T.reward_transactions(pending, tx, "run-2").first()["row_hash"]
    c = T.reward_transactions(approved, tx, "run-1").first()["row_hash"]
    assert a == b and a != c
