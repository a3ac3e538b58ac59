"""Fact transforms: keys to every dimension, signed amounts, rebates, fraud scores, reward facts; row hashes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from chispa import assert_df_equality

from contracts.records import STATEMENT_KINDS
from contracts.tables import FACT_REWARD, FACT_TRANSACTION
from spark_jobs.transforms.star import star_rows, star_struct
from spark_jobs.transforms.star_dims import dim_statement_kind
from spark_jobs.transforms.star_facts import TRANSACTION_SCORES, build_fact_transaction, fact_reward
from tests.star.builders import (
    refund,
    reward_transaction,
    reward_transactions_df,
    transaction,
    transactions_df,
    xxhash64,
)

pytestmark = pytest.mark.spark

LATE = datetime(2025, 6, 1, 23, 59, 59, tzinfo=UTC)


def _scores(spark, *rows):
    return spark.createDataFrame(list(rows), TRANSACTION_SCORES)


def test_fact_transaction_keys_amounts_rebates_and_scores(spark):
    transactions = transactions_df(
        spark,
        transaction("tx_1"),
        refund("tx_2", "tx_1", amount_gbp=Decimal("10.00"), transaction_ts=LATE),
        transaction("tx_3", card_token=None, merchant_id=None),
    )
    rewards = reward_transactions_df(
        spark,
        reward_transaction("rw_1", "tx_1"),
        reward_transaction(
            "rw_2",
            "tx_1",
            reward_type="REBATE_BONUS",
            reward_kind="bonus",
            reward_amount_gbp=Decimal("0.5000"),
            reward_amount_minor=Decimal("50.0000"),
        ),
        reward_transaction(
            "rw_3",
            "tx_1",
            reward_status="rejected",
            reward_amount_gbp=Decimal("9.0000"),
            reward_amount_minor=Decimal("900.0000"),
        ),
        reward_transaction("rw_4", None),  # a perk: belongs to no transaction
    )
    scores = _scores(spark, ("tx_1", 0.2, "v1", "run-1"), ("tx_1", 0.9, "v2", "run-2"))
    facts = build_fact_transaction(transactions, rewards, scores)
    assert facts.columns == FACT_TRANSACTION.column_names
    out = {r["transaction_id"]: r for r in facts.collect()}

    sale, ret, orphan = out["tx_1"], out["tx_2"], out["tx_3"]
    assert sale["transaction_key"] == 3262884105429560825
    assert sale["customer_key"] == xxhash64(spark, "tok_a")
    assert sale["address_key"] == xxhash64(spark, "addr_1")
    assert sale["merchant_key"] == xxhash64(spark, "m_1")
    assert (sale["date_key"], sale["time_key"]) == (20250601, 13)
    assert (sale["amount_gbp"], sale["signed_amount_gbp"], sale["is_refund"]) == (
        Decimal("49.97"),
        Decimal("49.97"),
        False,
    )
    # Two earned rebates; the rejected one and the perk are not on it.
    assert sale["reward_amount_gbp"] == Decimal("1.9991")
    assert (sale["reward_amount_minor"], sale["reward_currency"]) == (Decimal("199.9100"), "GBP")
    assert (sale["amount_minor"], sale["signed_amount_minor"], sale["statement_kind_key"]) == (4997, 4997, 0)
    assert sale["reward_plu_amount"] == Decimal("0.50000000")
    assert sale["fraud_score"] == 0.9  # the latest run's score

    assert (ret["amount_gbp"], ret["signed_amount_gbp"], ret["is_refund"]) == (
        Decimal("10.00"),
        Decimal("-10.00"),
        True,
    )
    assert (ret["time_key"], ret["reward_amount_gbp"], ret["fraud_score"]) == (23, None, None)
    assert (ret["signed_amount_minor"], ret["statement_kind_key"]) == (-4997, 1)
    assert (orphan["customer_key"], orphan["merchant_key"]) == (None, None)


def test_refund_flag_falls_back_to_type_and_credits_are_negative(spark):
    rows = [
        transaction("tx_r", transaction_type="CARD_REFUND", statement_kind="card_refund", is_refund=None,
                    is_debit=False),
        transaction("tx_c", transaction_type="DEPOSIT_FUNDS_RECEIVED", statement_kind="top_up", is_refund=False,
                    is_debit=False),
        transaction("tx_d", is_refund=None, is_debit=None),
        transaction("tx_fee", transaction_type="SUBSCRIPTION_FEE", statement_kind="fee", amount_minor=499,
                    amount_gbp=Decimal("4.99")),
        transaction("tx_eur", currency="EUR", amount_minor=800, amount_gbp=None),
    ]  # fmt: skip
    facts = build_fact_transaction(transactions_df(spark, *rows), reward_transactions_df(spark), _scores(spark))
    out = {
        r["transaction_id"]: (r["is_refund"], r["signed_amount_gbp"], r["statement_kind"], r["amount_minor"],
                              r["currency"])
        for r in facts.collect()
    }  # fmt: skip
    assert out == {
        "tx_r": (True, Decimal("-49.97"), "card_refund", 4997, "GBP"),
        "tx_c": (False, Decimal("-49.97"), "top_up", 4997, "GBP"),  # a credit, not spend
        "tx_d": (False, Decimal("49.97"), "card_purchase", 4997, "GBP"),
        "tx_fee": (False, Decimal("4.99"), "fee", 499, "GBP"),
        "tx_eur": (False, None, "card_purchase", 800, "EUR"),  # money kept in minor units; no GBP value
    }


def test_fact_reward_rows(spark):
    rewards = reward_transactions_df(
        spark,
        reward_transaction("rw_1", "tx_1", reward_status="approved"),
        reward_transaction("rw_perk", None),
        reward_transaction("rw_early", "tx_unseen", transaction_found=False),
    )
    out = rewards.transform(fact_reward)
    expected = spark.createDataFrame(
        [
            (
                xxhash64(spark, "rw_1"),
                "rw_1",
                3262884105429560825,
                xxhash64(spark, "tok_a"),
                20250602,
                "DAILY_REBATE_DISTRIBUTION",
                "rebate",
                "direct",
                None,
                "approved",
                True,
                Decimal("0.25000000"),
                Decimal("149.9100"),
                "GBP",
                Decimal("1.4991"),
                5.9964,
                "derived_from_reward",
                "misc_net",
                "Rippin, Kub and Mann",
                "5969",
                datetime(2025, 6, 2, 1, 0, tzinfo=UTC),
                datetime(2025, 6, 2, 1, 0, tzinfo=UTC),
            )
        ],
        star_struct(FACT_REWARD),
    )
    assert_df_equality(out.where("reward_id = 'rw_1'"), expected, ignore_nullable=True)
    others = {r["reward_id"]: r for r in out.where("reward_id <> 'rw_1'").collect()}
    # Perks have no transaction; a reward whose transaction is not seen yet gets its key when it arrives.
    assert (others["rw_perk"]["transaction_key"], others["rw_perk"]["reward_kind"]) == (None, "perk")
    assert others["rw_early"]["transaction_key"] is None
    assert others["rw_early"]["customer_key"] is None
    assert others["rw_early"]["is_available"] is False


def test_row_hash_tracks_content_not_session_time_zone(spark):
    base = transactions_df(spark, transaction("tx_1"), transaction("tx_2"))
    changed = transactions_df(spark, transaction("tx_1"), transaction("tx_2", amount_gbp=Decimal("1.00")))

    def hashes(df):
        facts = build_fact_transaction(df, reward_transactions_df(spark), _scores(spark))
        return {r["transaction_id"]: r["row_hash"] for r in facts.transform(star_rows(FACT_TRANSACTION, "r")).collect()}

    first = hashes(base)
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        assert hashes(base) == first
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    again = hashes(changed)
    assert again["tx_1"] == first["tx_1"]
    assert again["tx_2"] != first["tx_2"]


def test_star_rows_adds_bookkeeping_after_warehouse_columns(spark):
    facts = build_fact_transaction(
        transactions_df(spark, transaction("tx_1")), reward_transactions_df(spark), _scores(spark)
    )
    out = facts.transform(star_rows(FACT_TRANSACTION, "run-9"))
    assert out.columns == [*FACT_TRANSACTION.column_names, "row_hash", "run_id"]
    assert [f.dataType for f in out.schema][: len(FACT_TRANSACTION.columns)] == [
        f.dataType for f in star_struct(FACT_TRANSACTION)
    ]
    assert out.first()["run_id"] == "run-9"


def test_the_statement_row_takes_merchant_mcc_and_category_from_its_reward_when_it_has_none(spark):
    bare = transaction("tx_bare", category=None, mcc=None, clean_description=None, merchant_id=None)
    own = transaction("tx_own")
    rewards = reward_transactions_df(
        spark,
        reward_transaction("rw_bare", "tx_bare", merchant_name="Odeon", mcc="7832", category="entertainment"),
        reward_transaction("rw_own", "tx_own", merchant_name="Other name", mcc="5411"),
    )
    facts = build_fact_transaction(transactions_df(spark, bare, own), rewards, _scores(spark))
    got = {r["transaction_id"]: (r["merchant_name"], r["mcc"], r["category"]) for r in facts.collect()}
    assert got == {
        "tx_bare": ("Odeon", "7832", "entertainment"),
        "tx_own": ("Rippin, Kub and Mann", "5969", "misc_net"),
    }


def test_dim_statement_kind_has_one_row_per_kind_with_its_flags(spark):
    rows = {r["statement_kind"]: r for r in dim_statement_kind(spark).collect()}
    assert list(rows) == list(STATEMENT_KINDS)
    assert [k for k, r in rows.items() if r["is_spend"]] == ["card_purchase", "fee"]
    assert [k for k, r in rows.items() if r["is_card_row"]] == ["card_purchase", "card_refund", "card_authorisation"]
    assert [r["statement_kind_key"] for r in rows.values()] == list(range(len(STATEMENT_KINDS)))
