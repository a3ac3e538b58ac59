"""Fact transforms: silver transactions (+ rebates, fraud scores) -> fact_transaction; gold reward_transactions
-> fact_reward. Warehouse columns only; `star.star_rows` adds row_hash and run_id."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, DoubleType, StringType, StructField, StructType

from contracts.records import STATEMENT_KINDS
from contracts.tables import FACT_REWARD, FACT_TRANSACTION
from spark_jobs.transforms.silver import category_of_mcc
from spark_jobs.transforms.star import conformed_to, date_key, surrogate_key, utc_date, utc_hour

REFUND_TYPE = "CARD_REFUND"
REJECTED = "rejected"
APPROVED = "approved"

# gold/transaction_scores, written by the fraud job; absent until a model has scored something.
TRANSACTION_SCORES = StructType(
    [
        StructField("transaction_id", StringType()),
        StructField("fraud_score", DoubleType()),
        StructField("model_version", StringType()),
        StructField("run_id", StringType()),
    ]
)


def transactions_with_keys(transactions: DataFrame) -> DataFrame:
    """silver/transactions + the surrogate keys of every dimension it points at."""
    return transactions.select(
        "*",
        surrogate_key("transaction_id").alias("transaction_key"),
        surrogate_key("card_token").alias("customer_key"),
        surrogate_key("address_id").alias("address_key"),
        surrogate_key("merchant_id").alias("merchant_key"),
        date_key("transaction_date").alias("date_key"),
        utc_hour("transaction_ts").alias("time_key"),
        statement_kind_key(F.col("statement_kind")).alias("statement_kind_key"),
    )


def statement_kind_key(kind: Column) -> Column:
    """The key of dim_statement_kind: the kind's position in contracts.records.STATEMENT_KINDS."""
    keys = F.create_map(*[F.lit(x) for i, k in enumerate(STATEMENT_KINDS) for x in (k, i)])
    return F.element_at(keys, kind).cast("smallint")


def transactions_with_signed_amount(transactions: DataFrame) -> DataFrame:
    """amount_minor / amount_gbp always positive; the signed_ ones negative for refunds and any other credit."""
    is_refund = F.coalesce(F.col("is_refund"), F.col("transaction_type") == F.lit(REFUND_TYPE))
    credit = is_refund | (F.col("is_debit") == F.lit(False))
    amount = F.abs(F.col("amount_gbp"))
    minor = F.abs(F.col("amount_minor"))
    return (
        transactions.withColumn("is_refund", is_refund)
        .withColumn("amount_gbp", amount)
        .withColumn("signed_amount_gbp", F.when(credit, -amount).otherwise(amount))
        .withColumn("amount_minor", minor)
        .withColumn("signed_amount_minor", F.when(credit, -minor).otherwise(minor))
    )


def rebates_per_transaction(reward_transactions: DataFrame) -> DataFrame:
    """gold/reward_transactions -> one row per transaction: the value and PLU of the rewards earned on it, and
    the merchant and MCC its rewards carry (from the reward's nested transaction data).

    Every reward linked to the transaction counts (rebates, bonuses, partials through their parent); rejected
    ones were never earned. Rewards of no transaction never land on one. The value is in the rewards'
    currency (the transaction's); its GBP value only where that is GBP.
    """
    linked = reward_transactions.where(F.col("transaction_id").isNotNull())
    earned = ~F.coalesce(F.col("reward_status") == F.lit(REJECTED), F.lit(False))
    return linked.groupBy("transaction_id").agg(
        F.sum(F.when(earned, F.col("reward_amount_minor"))).cast(DecimalType(18, 4)).alias("reward_amount_minor"),
        F.max(F.when(earned, F.col("reward_currency"))).alias("reward_currency"),
        F.sum(F.when(earned, F.col("reward_amount_gbp"))).cast(DecimalType(18, 4)).alias("reward_amount_gbp"),
        F.sum(F.when(earned, F.col("plu_amount"))).cast(DecimalType(28, 8)).alias("reward_plu_amount"),
        F.max("merchant_name").alias("_reward_merchant_name"),
        F.max("mcc").alias("_reward_mcc"),
    )


def transactions_with_rebates(rebates: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """The rewards' values; merchant, MCC and category from the rewards where the statement row lacks them."""

    def transform(transactions: DataFrame) -> DataFrame:
        joined = transactions.join(rebates, "transaction_id", "left")
        mcc = F.coalesce(F.col("mcc"), F.col("_reward_mcc"))
        return (
            joined.withColumn("merchant_name", F.coalesce(F.col("clean_description"), F.col("_reward_merchant_name")))
            .withColumn("mcc", mcc)
            .withColumn("category", F.coalesce(F.col("category"), category_of_mcc(mcc)))
            .drop("_reward_merchant_name", "_reward_mcc")
        )

    return transform


def latest_score_per_transaction(scores: DataFrame) -> DataFrame:
    """One score per transaction: the latest run's, then the highest model version, if it was scored twice."""
    order = Window.partitionBy("transaction_id").orderBy(
        F.col("run_id").desc_nulls_last(), F.col("model_version").desc_nulls_last()
    )
    return (
        scores.where(F.col("transaction_id").isNotNull())
        .withColumn("_rank", F.row_number().over(order))
        .where("_rank = 1")
        .select("transaction_id", F.col("fraud_score").cast("double"))
    )


def transactions_with_fraud_score(scores: DataFrame) -> Callable[[DataFrame], DataFrame]:
    def transform(transactions: DataFrame) -> DataFrame:
        return transactions.join(latest_score_per_transaction(scores), "transaction_id", "left")

    return transform


def fact_transaction(enriched: DataFrame) -> DataFrame:
    """Keyed, signed, rebated and scored transactions -> fact_transaction."""
    # updated_at stays the transaction's: a reward turning approved after 45 days changes no fact column, so
    # it must not rewrite every fact row (the row hash would differ only by this timestamp).
    return enriched.transform(conformed_to(FACT_TRANSACTION))


def build_fact_transaction(transactions: DataFrame, reward_transactions: DataFrame, scores: DataFrame) -> DataFrame:
    """The whole chain, for the job and for tests that want the end result."""
    return (
        transactions.transform(transactions_with_keys)
        .transform(transactions_with_signed_amount)
        .transform(transactions_with_rebates(rebates_per_transaction(reward_transactions)))
        .transform(transactions_with_fraud_score(scores))
        .transform(fact_transaction)
    )


def fact_reward(reward_transactions: DataFrame) -> DataFrame:
    """gold/reward_transactions -> fact_reward.

    transaction_key is set only once the transaction has been seen (it has a fact_transaction row then);
    rewards of no transaction (perks, ...) keep it null.
    """
    found = F.coalesce(F.col("transaction_found"), F.col("transaction_ts").isNotNull())
    status = F.col("reward_status")
    return reward_transactions.select(
        surrogate_key("reward_id").alias("reward_key"),
        "reward_id",
        F.when(found, surrogate_key("transaction_id")).alias("transaction_key"),
        surrogate_key("card_token").alias("customer_key"),
        date_key(utc_date("reward_created_at")).alias("date_key"),
        "reward_type",
        "reward_kind",
        "transaction_link",
        "unresolved_reason",
        F.col("reward_status"),
        F.coalesce(F.col("is_available"), status == F.lit(APPROVED)).alias("is_available"),
        "plu_amount",
        "reward_amount_minor",
        "reward_currency",
        "reward_amount_gbp",
        "plu_price_gbp",
        "plu_price_source",
        "category",
        "merchant_name",
        "mcc",
        "reward_created_at",
        "reward_updated_at",
    ).transform(conformed_to(FACT_REWARD))
