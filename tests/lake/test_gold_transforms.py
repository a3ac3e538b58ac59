"""chispa tests of gold reward_transactions: units, kinds, partials through their parents, perks, rewards before
their transaction, merchant and MCC from the reward."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from contracts.records import reward_kind
from spark_jobs import schemas
from spark_jobs.transforms import gold as T

pytestmark = pytest.mark.spark
NOON = datetime(2025, 6, 1, 12, tzinfo=UTC)


def rewards_df(spark, rows, **columns):
    """Silver rewards by column name from (id, transaction, plu, fiat, rate, type, status) and, per row, the
    extra columns given as {column: {reward_id: value}} (reward_kind defaults to the Python rule's)."""
    names = schemas.SILVER_REWARDS.fieldNames()
    full = []
    for rid, tid, plu, fiat, rate, rtype, status in rows:
        row = {
            "reward_id": rid, "transaction_id": tid, "ticker": "PLU", "plu_amount": Decimal(plu),
            "fiat_amount_minor": fiat, "fiat_currency": "GBP", "reward_rate_pct": rate, "reward_type": rtype,
            "status": status, "created_at": NOON, "updated_at": NOON, "created_month": "2025-06",
            "record_hash": "h", "source_file": "f", "run_id": "r",
        }  # fmt: skip
        row.update({name: values[rid] for name, values in columns.items() if rid in values})
        row.setdefault("reward_kind", reward_kind(rtype, row.get("reference_type")))
        full.append(tuple(row.get(name) for name in names))
    return spark.createDataFrame(full, schemas.SILVER_REWARDS)


def no_rates(spark):
    return spark.createDataFrame([], schemas.SILVER_PLU_RATES)


def resolved(spark, rewards, transactions, run_id="run", rates=None):
    return T.resolved_rewards(rewards, transactions, no_rates(spark) if rates is None else rates, run_id)


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
    gold = resolved(spark, rewards, transactions_df(spark, [("t1", 1250)]))
    got = gold.select(
        "reward_id", F.col("reward_amount_minor").cast("string").alias("minor"), "reward_currency",
        F.col("reward_amount_gbp").cast("string").alias("gbp"), "plu_price_gbp", "plu_price_source",
        F.col("transaction_amount_gbp").cast("string").alias("tx_gbp"), "transaction_amount_minor",
        "transaction_currency", "is_available", "transaction_found", "transaction_link",
    )  # fmt: skip
    # 12.50 GBP x 3% = 37.5 pence = 0.375 GBP for 0.0625 PLU -> 6 GBP per PLU, derived (no rate feed)
    expected = spark.createDataFrame(
        [("r1", "37.5000", "GBP", "0.3750", 6.0, "derived_from_reward", "12.50", 1250, "GBP", True, True, "direct")],
        got.schema,
    )
    assert_df_equality(got, expected, ignore_nullable=True)


def test_the_rate_feed_prices_plu_where_it_has_the_hour_and_the_reward_elsewhere(spark):
    rewards = rewards_df(
        spark,
        [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved"),
         ("r2", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved")],
        created_at={"r2": datetime(2025, 6, 2, 9, 30, tzinfo=UTC)},
    )  # fmt: skip
    rates = spark.createDataFrame(
        [(datetime(2025, 6, 1, 12, tzinfo=UTC), "PLU", "GBP", 5.5, NOON, "h", "r")], schemas.SILVER_PLU_RATES
    )
    gold = resolved(spark, rewards, transactions_df(spark, [("t1", 1250)]), rates=rates)
    got = {r["reward_id"]: (r["plu_price_gbp"], r["plu_price_source"]) for r in gold.collect()}
    assert got == {"r1": (5.5, "rate_feed"), "r2": (6.0, "derived_from_reward")}


def test_reward_value_by_kind_never_assumes_a_rate(spark):
    rows = [
        ("rebate", "t1", "0.1", 1000, 2.0, "DAILY_REBATE_DISTRIBUTION", "approved"),
        ("rebate-no-rate", "t1", "0.1", 1000, None, "DAILY_REBATE_DISTRIBUTION", "approved"),
        ("bonus-null-fiat", None, "0.5", None, None, "REBATE_BONUS", "approved"),
        ("perk", None, "0.5", 300, 0.0, "DAILY_REBATE_DISTRIBUTION", "approved"),
        ("eur", "t1", "0.1", 1000, 2.0, "DAILY_REBATE_DISTRIBUTION", "approved"),
    ]
    rewards = rewards_df(spark, rows, reference_type={"perk": "perk_3_reward"}, fiat_currency={"eur": "EUR"})
    gold = resolved(spark, rewards, transactions_df(spark, [("t1", 1000)]))
    got = {
        r["reward_id"]: (r["reward_kind"], None if r["reward_amount_minor"] is None else str(r["reward_amount_minor"]),
                         r["reward_currency"], None if r["reward_amount_gbp"] is None else str(r["reward_amount_gbp"]),
                         r["plu_price_gbp"])
        for r in gold.collect()
    }  # fmt: skip
    assert got == {
        "rebate": ("rebate", "20.0000", "GBP", "0.2000", 2.0),
        "rebate-no-rate": ("rebate", None, "GBP", None, None),
        "bonus-null-fiat": ("bonus", None, "GBP", None, None),
        "perk": ("perk", "300.0000", "GBP", "3.0000", 6.0),  # the perk's own value, rate 0 ignored
        "eur": ("rebate", "20.0000", "EUR", None, None),  # no rate to GBP: no GBP value, no derived price
    }


def test_perks_are_kept_as_rewards_without_a_transaction(spark):
    rewards = rewards_df(
        spark,
        [("perk", None, "0.5", 500, 0.0, "DAILY_REBATE_DISTRIBUTION", "pending"),
         ("bonus", None, "0.1", None, None, "REBATE_BONUS", "pending")],
        reference_type={"perk": "perk_1_reward"},
    )  # fmt: skip
    gold = resolved(spark, rewards, transactions_df(spark, []))
    got = gold.select("reward_id", "reward_kind", "transaction_link", "unresolved_reason", "transaction_found",
                      "transaction_amount_gbp", "card_token")  # fmt: skip
    expected = spark.createDataFrame(
        [("perk", "perk", "no_transaction", None, False, None, None),
         ("bonus", "bonus", "no_transaction", None, False, None, None)],
        got.schema,
    )  # fmt: skip
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_partials_resolve_through_their_parent_and_a_chain_of_partials(spark):
    rows = [
        ("parent", "t1", "0.1", 1000, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved"),
        ("partial", None, "0.05", 1000, 1.5, "DAILY_REBATE_DISTRIBUTION", "approved"),
        ("partial-of-partial", None, "0.02", 1000, 0.5, "DAILY_REBATE_DISTRIBUTION", "pending"),
        ("orphan", None, "0.02", 1000, 0.5, "DAILY_REBATE_DISTRIBUTION", "pending"),
        ("no-parent-id", None, "0.02", 1000, 0.5, "DAILY_REBATE_DISTRIBUTION", "pending"),
        ("of-a-perk", None, "0.02", 1000, 0.5, "DAILY_REBATE_DISTRIBUTION", "pending"),
        ("perk", None, "0.5", 300, 0.0, "DAILY_REBATE_DISTRIBUTION", "approved"),
        ("loop-a", None, "0.02", 1000, 0.5, "DAILY_REBATE_DISTRIBUTION", "pending"),
        ("loop-b", None, "0.02", 1000, 0.5, "DAILY_REBATE_DISTRIBUTION", "pending"),
        ("waiting", "t-later", "0.1", 1000, 3.0, "DAILY_REBATE_DISTRIBUTION", "pending"),
    ]
    partials = ("partial", "partial-of-partial", "orphan", "no-parent-id", "of-a-perk", "loop-a", "loop-b")
    rewards = rewards_df(
        spark, rows,
        reference_type={**{p: "fiat_partial" for p in partials}, "partial-of-partial": "contis_partial",
                        "perk": "perk_2_reward"},
        parent_reward_id={"partial": "parent", "partial-of-partial": "partial", "orphan": "not-landed",
                          "of-a-perk": "perk", "loop-a": "loop-b", "loop-b": "loop-a"},
    )  # fmt: skip
    gold = resolved(spark, rewards, transactions_df(spark, [("t1", 1000)]))
    got = {
        r["reward_id"]: (r["transaction_id"], r["transaction_link"], r["unresolved_reason"], r["transaction_found"])
        for r in gold.collect()
    }
    assert got == {
        "parent": ("t1", "direct", None, True),
        "partial": ("t1", "via_parent", None, True),
        "partial-of-partial": ("t1", "via_parent", None, True),
        "orphan": (None, "unresolved", "parent_reward_not_found", False),
        "no-parent-id": (None, "unresolved", "partial_without_parent", False),
        "of-a-perk": (None, "unresolved", "parent_reward_without_transaction", False),
        "perk": (None, "no_transaction", None, False),
        "loop-a": (None, "unresolved", "partial_chain_too_long", False),
        "loop-b": (None, "unresolved", "partial_chain_too_long", False),
        "waiting": ("t-later", "direct", "transaction_not_found", False),
    }
    assert gold.count() == rewards.count()  # nothing lost


def test_merchant_and_mcc_come_from_the_reward_when_the_statement_row_lacks_them(spark):
    rewards = rewards_df(
        spark,
        [("r1", "t1", "0.1", 1000, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved"),
         ("r2", "t2", "0.1", 1000, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved")],
        merchant_name={"r1": "Tesco Stores", "r2": "Cinema"}, mcc={"r1": "5411", "r2": "7832"},
    )  # fmt: skip
    bare = transactions_df(spark, [("t1", 1000)]).withColumns(
        {"category": F.lit(None).cast("string"), "mcc": F.lit(None).cast("string"),
         "clean_description": F.lit(None).cast("string")}
    )  # fmt: skip
    transactions = bare.unionByName(transactions_df(spark, [("t2", 1000)]))  # t2 has its own: grocery_pos, 5411
    got = {r["reward_id"]: (r["merchant_name"], r["mcc"], r["category"])
           for r in resolved(spark, rewards, transactions).collect()}  # fmt: skip
    assert got == {"r1": ("Tesco Stores", "5411", "grocery_pos"), "r2": ("d", "5411", "grocery_pos")}


def test_a_reward_before_its_transaction_is_filled_when_the_transaction_arrives(spark):
    rewards = rewards_df(spark, [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "pending")])
    before = resolved(spark, rewards, transactions_df(spark, []), "run-1").first()
    assert before["transaction_found"] is False and before["card_token"] is None
    # The transaction lands in a later run: it touches the reward, which is re-resolved.
    changed_tx = transactions_df(spark, [("t1", 1250)])
    linked = rewards.transform(T.linked_to_transactions("run-2"))
    touched = linked.transform(T.rewards_touched_by("run-2", changed_tx.select("transaction_id")))
    assert [r["reward_id"] for r in touched.collect()] == ["r1"]
    after = T.reward_transactions(touched, changed_tx, no_rates(spark), "run-2").first()
    assert after["transaction_found"] is True and after["card_token"] == "tok"
    assert after["row_hash"] != before["row_hash"]


def test_touched_rewards_are_those_of_the_run_its_parents_a_changed_transaction_or_rate_each_once(spark):
    rows = [
        ("changed", "t-old", "1", 100, 1.0, "DAILY_REBATE_DISTRIBUTION", "pending"),  # changed in this run
        ("both", "t-new", "1", 100, 1.0, "DAILY_REBATE_DISTRIBUTION", "pending"),  # and so was its transaction
        ("via-tx", "t-new", "1", 100, 1.0, "DAILY_REBATE_DISTRIBUTION", "pending"),  # only its transaction
        ("untouched", "t-old", "1", 100, 1.0, "DAILY_REBATE_DISTRIBUTION", "pending"),
        ("child", None, "1", 100, 1.0, "DAILY_REBATE_DISTRIBUTION", "pending"),  # its parent changed
        ("grandchild", None, "1", 100, 1.0, "DAILY_REBATE_DISTRIBUTION", "pending"),  # its parent's parent did
        ("rated", None, "1", 100, None, "REBATE_BONUS", "pending"),  # its hour got a PLU rate
    ]
    run_of = {"changed": "run-2", "both": "run-2"}
    rewards = rewards_df(
        spark, rows,
        reference_type={"child": "fiat_partial", "grandchild": "fiat_partial"},
        parent_reward_id={"child": "changed", "grandchild": "child"},
        created_at={r[0]: datetime(2025, 6, 2, 9, tzinfo=UTC) for r in rows if r[0] != "rated"},
    ).withColumn(
        "run_id", F.coalesce(F.create_map(*[F.lit(x) for kv in run_of.items() for x in kv])[F.col("reward_id")],
                             F.lit("run-1"))
    )  # fmt: skip
    linked = rewards.transform(T.linked_to_transactions("run-2"))
    changed_ids = spark.createDataFrame([("t-new",)], "transaction_id string")
    hours = spark.createDataFrame([(NOON,)], "rate_ts timestamp")
    touched = linked.transform(T.rewards_touched_by("run-2", changed_ids, hours))
    assert touched.columns == linked.columns
    assert sorted(r["reward_id"] for r in touched.collect()) == [
        "both", "changed", "child", "grandchild", "rated", "via-tx"
    ]  # fmt: skip


def test_row_hash_ignores_the_run_and_changes_with_the_state(spark):
    pending = rewards_df(spark, [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "pending")])
    approved = rewards_df(spark, [("r1", "t1", "0.0625", 1250, 3.0, "DAILY_REBATE_DISTRIBUTION", "approved")])
    tx = transactions_df(spark, [("t1", 1250)])
    a = resolved(spark, pending, tx, "run-1").first()["row_hash"]
    b = resolved(spark, pending, tx, "run-2").first()["row_hash"]
    c = resolved(spark, approved, tx, "run-1").first()["row_hash"]
    assert a == b and a != c
