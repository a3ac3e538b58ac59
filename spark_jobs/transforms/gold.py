"""Gold `reward_transactions`: every reward LEFT JOIN its transaction, with money in explicit units.

A batch re-resolves every reward it touches on either side: rewards that changed, and rewards whose transaction
changed, so a reward that arrived before its transaction is filled in when the transaction comes.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs import schemas

_REWARD_AMOUNT_GBP = schemas.GOLD_REWARD_TRANSACTIONS["reward_amount_gbp"].dataType


def rewards_touched_by(run_id: str, changed_transaction_ids: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Rewards this run changed, or whose transaction this run changed (`changed_transaction_ids`: one column).

    One pass over the rewards: a left join flags the rewards of changed transactions, then one filter keeps
    those and the rewards carrying this run's id. Each reward appears once (transaction ids are unique).
    """
    flagged_ids = changed_transaction_ids.select("transaction_id", F.lit(True).alias("_transaction_changed"))

    def touched(rewards: DataFrame) -> DataFrame:
        flagged = rewards.join(flagged_ids, on="transaction_id", how="left")
        keep = (F.col("run_id") == F.lit(run_id)) | F.col("_transaction_changed").isNotNull()
        return flagged.where(keep).select(*rewards.columns)

    return touched


def reward_amount_gbp(rewards: DataFrame) -> DataFrame:
    """Fiat value of a reward: amount x rate for rebates; the perk/boost value itself when there is no rate."""
    fiat_gbp = F.col("fiat_amount_minor").cast("decimal(20,4)") / 100
    value = F.when(
        F.col("reward_rate_pct").isNotNull(), fiat_gbp * F.col("reward_rate_pct").cast("decimal(9,4)") / 100
    ).otherwise(fiat_gbp)
    return rewards.withColumn("reward_amount_gbp", value.cast(_REWARD_AMOUNT_GBP))


def plu_price_gbp(rewards: DataFrame) -> DataFrame:
    """GBP per PLU implied by the reward: its fiat value over the PLU it paid."""
    price = F.when(
        F.col("plu_amount") > 0, F.col("reward_amount_gbp").cast("double") / F.col("plu_amount").cast("double")
    )
    return rewards.withColumn("plu_price_gbp", F.round(price, 6))


def joined_to_transactions(transactions: DataFrame) -> Callable[[DataFrame], DataFrame]:
    tx = transactions.select(
        "transaction_id",
        F.col("transaction_ts"),
        F.col("amount_gbp").alias("transaction_amount_gbp"),
        "transaction_type",
        "category",
        "merchant_id",
        "card_token",
        "card_last4",
        F.lit(True).alias("transaction_found"),
    )

    def join(rewards: DataFrame) -> DataFrame:
        joined = rewards.join(tx, on="transaction_id", how="left")
        return joined.withColumn("transaction_found", F.coalesce("transaction_found", F.lit(False)))

    return join


def reward_transaction_rows(run_id: str) -> Callable[[DataFrame], DataFrame]:
    def shape(joined: DataFrame) -> DataFrame:
        renamed = joined.select(
            "*",
            F.col("status").alias("reward_status"),
            (F.col("status") == "approved").alias("is_available"),
            F.col("created_at").alias("reward_created_at"),
            F.col("updated_at").alias("reward_updated_at"),
        )
        content = [f.name for f in schemas.GOLD_REWARD_TRANSACTIONS.fields if f.name not in ("row_hash", "run_id")]
        with_hash = renamed.withColumn("row_hash", F.sha2(F.to_json(F.struct(*content)), 256)).withColumn(
            "run_id", F.lit(run_id)
        )
        return with_hash.select(
            *[F.col(f.name).cast(f.dataType).alias(f.name) for f in schemas.GOLD_REWARD_TRANSACTIONS.fields]
        )

    return shape


def reward_transactions(rewards: DataFrame, transactions: DataFrame, run_id: str) -> DataFrame:
    """The gold rows for `rewards` (already limited to the touched ones)."""
    return (
        rewards.transform(reward_amount_gbp)
        .transform(plu_price_gbp)
        .transform(joined_to_transactions(transactions))
        .transform(reward_transaction_rows(run_id))
    )
