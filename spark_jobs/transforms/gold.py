"""Gold `reward_transactions`: every reward LEFT JOIN the transaction it belongs to, with money in explicit units.

A reward belongs to a transaction directly (its `transactionOriginalId`) or, for a partial, through its parent
reward (followed through every partial of a chain). Rewards of no transaction (bonuses, perks, manual and
referral rewards without one) are kept without a transaction; a reward whose transaction cannot be found keeps
its row with the reason (`unresolved_reason`).

A batch re-resolves every reward it touches on any side: rewards that changed, rewards whose parent (at any hop)
changed, rewards whose transaction changed and rewards whose hour's PLU rate changed, so a reward that arrived
before its transaction (or its parent) is filled in when that comes.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts.records import (
    GBP,
    MAX_PARTIAL_HOPS,
    MINOR_UNITS_PER_MAJOR,
    RATE_VALUED_REWARD_KINDS,
    REWARD_TICKER,
    TRANSACTION_REWARD_KINDS,
)
from spark_jobs import schemas
from spark_jobs.transforms.silver import category_of_mcc

_REWARD_AMOUNT_GBP = schemas.GOLD_REWARD_TRANSACTIONS["reward_amount_gbp"].dataType

# transaction_link values
DIRECT, VIA_PARENT, NO_TRANSACTION, UNRESOLVED = "direct", "via_parent", "no_transaction", "unresolved"
# unresolved_reason values
PARTIAL_WITHOUT_PARENT = "partial_without_parent"  # a partial whose (or whose parent's) parentRewardId is null
PARENT_NOT_FOUND = "parent_reward_not_found"  # the parent reward is not in silver (yet)
PARENT_WITHOUT_TRANSACTION = "parent_reward_without_transaction"  # the chain ends at a reward of no transaction
PARTIAL_CHAIN_TOO_LONG = "partial_chain_too_long"  # more than MAX_PARTIAL_HOPS parents, or a cycle
NO_TRANSACTION_REFERENCE = "no_transaction_reference"  # a rebate without transactionOriginalId
TRANSACTION_NOT_FOUND = "transaction_not_found"  # the transaction has not arrived (yet)
# plu_price_source values
RATE_FEED, DERIVED_FROM_REWARD = "rate_feed", "derived_from_reward"

_LINK_COLUMNS = ("_resolved_transaction_id", "_link_reason", "_lineage_changed")


def _partial_links(rewards: DataFrame, run_id: str) -> DataFrame:
    """(reward_id, _resolved_transaction_id, _link_reason, _lineage_changed) of every partial reward.

    Each hop joins the still-open partials (few) with the rewards that are someone's parent (few), so the big
    rewards table is only semi-joined, never joined to itself whole.
    """
    parent_ids = rewards.select(F.col("parent_reward_id").alias("reward_id")).where(F.col("reward_id").isNotNull())
    parents = rewards.join(parent_ids.distinct(), "reward_id", "left_semi").select(
        F.col("reward_id").alias("_p_id"),
        (F.col("reward_kind") == F.lit("partial")).alias("_p_partial"),
        F.col("parent_reward_id").alias("_p_parent"),
        F.col("transaction_id").alias("_p_tx"),
        (F.col("run_id") == F.lit(run_id)).alias("_p_changed"),
    )
    partials = rewards.where(F.col("reward_kind") == F.lit("partial"))
    none = F.lit(None).cast("string")
    done = [
        partials.where(F.col("parent_reward_id").isNull()).select(
            "reward_id", none.alias("_resolved_transaction_id"), F.lit(PARTIAL_WITHOUT_PARENT).alias("_link_reason"),
            F.lit(False).alias("_lineage_changed"),
        )
    ]  # fmt: skip
    open_ = partials.where(F.col("parent_reward_id").isNotNull()).select(
        "reward_id", F.col("parent_reward_id").alias("_next"), F.lit(False).alias("_lineage_changed")
    )
    for _ in range(MAX_PARTIAL_HOPS):
        hop = open_.join(parents, F.col("_next") == F.col("_p_id"), "left").withColumn(
            "_lineage_changed", F.col("_lineage_changed") | F.coalesce(F.col("_p_changed"), F.lit(False))
        )
        found, to_partial = F.col("_p_id").isNotNull(), F.coalesce(F.col("_p_partial"), F.lit(False))
        reason = (
            F.when(~found, F.lit(PARENT_NOT_FOUND))
            .when(to_partial, F.lit(PARTIAL_WITHOUT_PARENT))
            .when(F.col("_p_tx").isNull(), F.lit(PARENT_WITHOUT_TRANSACTION))
        )
        ends = ~found | ~to_partial | F.col("_p_parent").isNull()
        done.append(
            hop.where(ends).select(
                "reward_id", F.when(found & ~to_partial, F.col("_p_tx")).alias("_resolved_transaction_id"),
                reason.alias("_link_reason"), "_lineage_changed",
            )
        )  # fmt: skip
        open_ = hop.where(~ends).select("reward_id", F.col("_p_parent").alias("_next"), "_lineage_changed")
    done.append(
        open_.select(
            "reward_id", none.alias("_resolved_transaction_id"), F.lit(PARTIAL_CHAIN_TOO_LONG).alias("_link_reason"),
            "_lineage_changed",
        )
    )  # fmt: skip
    links = done[0]
    for part in done[1:]:
        links = links.unionByName(part)
    return links


def linked_to_transactions(run_id: str) -> Callable[[DataFrame], DataFrame]:
    """Silver rewards (all of them: a parent may be any reward) -> each with the transaction it belongs to.

    Adds `transaction_link`, `unresolved_reason` (of the link; the transaction join adds its own) and
    `_lineage_changed` (a parent at some hop changed in this run), and replaces `transaction_id` by the
    resolved id: a partial's is its parent's.
    """

    def link(rewards: DataFrame) -> DataFrame:
        linked = rewards.join(_partial_links(rewards, run_id), "reward_id", "left")
        partial = F.col("reward_kind") == F.lit("partial")
        of_transaction = F.col("reward_kind").isin(*TRANSACTION_REWARD_KINDS)
        transaction_id = F.when(partial, F.col("_resolved_transaction_id")).otherwise(F.col("transaction_id"))
        return (
            linked.withColumn("transaction_id", transaction_id)
            .withColumn(
                "transaction_link",
                F.when(partial & F.col("transaction_id").isNotNull(), F.lit(VIA_PARENT))
                .when(F.col("transaction_id").isNotNull(), F.lit(DIRECT))
                .when(~of_transaction, F.lit(NO_TRANSACTION))
                .otherwise(F.lit(UNRESOLVED)),
            )
            .withColumn(
                "unresolved_reason",
                F.when(partial, F.col("_link_reason")).when(
                    of_transaction & F.col("transaction_id").isNull(), F.lit(NO_TRANSACTION_REFERENCE)
                ),
            )
            .withColumn("_lineage_changed", F.coalesce(F.col("_lineage_changed"), F.lit(False)))
            .drop("_resolved_transaction_id", "_link_reason")
        )

    return link


def _rate_hour(ts: Column) -> Column:
    return F.date_trunc("hour", ts)


def rewards_touched_by(
    run_id: str, changed_transaction_ids: DataFrame, changed_rate_hours: DataFrame | None = None
) -> Callable[[DataFrame], DataFrame]:
    """Linked rewards this run changed, whose parent chain changed, whose transaction this run changed
    (`changed_transaction_ids`: one column), or whose creation hour got a PLU rate in this run
    (`changed_rate_hours`: one column `rate_ts`).

    One pass over the rewards: left joins flag them, one filter keeps them. Each reward appears once
    (transaction ids and rate hours are unique in their inputs).
    """
    flagged_ids = changed_transaction_ids.select("transaction_id", F.lit(True).alias("_transaction_changed"))

    def touched(rewards: DataFrame) -> DataFrame:
        flagged = rewards.join(flagged_ids, on="transaction_id", how="left")
        keep = (
            (F.col("run_id") == F.lit(run_id)) | F.col("_lineage_changed") | F.col("_transaction_changed").isNotNull()
        )
        if changed_rate_hours is not None:
            hours = changed_rate_hours.select(F.col("rate_ts").alias("_hour"), F.lit(True).alias("_rate_changed"))
            flagged = flagged.withColumn("_hour", _rate_hour(F.col("created_at"))).join(hours, "_hour", "left")
            keep = keep | F.col("_rate_changed").isNotNull()
        return flagged.where(keep).select(*rewards.columns)

    return touched


def reward_amount(rewards: DataFrame) -> DataFrame:
    """The value of each reward in minor units of its currency, by kind (docs/contracts.md, derived values).

    Rebates, partials and bonuses: `fiatAmountRewarded` (the amount rewarded on) x `rewardRate` %, null when
    either is missing (no rate is ever assumed). Perks, manual and referral rewards: `fiatAmountRewarded`
    itself (the value given), null when it is missing. `reward_amount_gbp` only where the currency is GBP.
    """
    fiat = F.col("fiat_amount_minor").cast("decimal(20,4)")
    by_rate = fiat * F.col("reward_rate_pct").cast("decimal(9,4)") / 100
    value = F.when(F.col("reward_kind").isin(*RATE_VALUED_REWARD_KINDS), by_rate).otherwise(fiat)
    minor = value.cast(schemas.REWARD_VALUE_MINOR)
    return (
        rewards.withColumn("reward_currency", F.col("fiat_currency"))
        .withColumn("reward_amount_minor", minor)
        .withColumn(
            "reward_amount_gbp",
            F.when(F.col("fiat_currency") == F.lit(GBP), minor / MINOR_UNITS_PER_MAJOR).cast(_REWARD_AMOUNT_GBP),
        )
    )


def plu_price(rates: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """GBP per PLU of each reward: the rate feed's price of the reward's creation hour where the feed has one,
    else the price the reward itself implies (`reward_amount_gbp / plu_amount`, both present, PLU > 0), named
    by `plu_price_source`. Never invented: null when neither exists (an EUR reward without a feed)."""
    hourly = (
        rates.where((F.col("ticker") == F.lit(REWARD_TICKER)) & (F.col("currency") == F.lit(GBP)))
        .groupBy(_rate_hour(F.col("rate_ts")).alias("_hour"))
        .agg(F.max_by("price_gbp", "rate_ts").alias("_feed_price"))
    )

    def price(rewards: DataFrame) -> DataFrame:
        derived = F.when(
            F.col("plu_amount") > 0,
            F.round(F.col("reward_amount_gbp").cast("double") / F.col("plu_amount").cast("double"), 6),
        )
        joined = rewards.withColumn("_hour", _rate_hour(F.col("created_at"))).join(hourly, "_hour", "left")
        return (
            joined.withColumn("plu_price_gbp", F.coalesce(F.col("_feed_price"), derived))
            .withColumn(
                "plu_price_source",
                F.when(F.col("_feed_price").isNotNull(), F.lit(RATE_FEED)).when(
                    derived.isNotNull(), F.lit(DERIVED_FROM_REWARD)
                ),
            )
            .drop("_hour", "_feed_price")
        )

    return price


def joined_to_transactions(transactions: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """The resolved transaction of each reward; merchant and MCC from the reward's nested data where the
    statement row lacks them, and the category of that MCC where the row has none."""
    tx = transactions.select(
        "transaction_id",
        F.col("transaction_ts"),
        F.col("amount_minor").alias("transaction_amount_minor"),
        F.col("currency").alias("transaction_currency"),
        F.col("amount_gbp").alias("transaction_amount_gbp"),
        "transaction_type",
        "statement_kind",
        F.col("category").alias("_tx_category"),
        F.col("clean_description").alias("_tx_merchant_name"),
        F.col("mcc").alias("_tx_mcc"),
        "merchant_id",
        "card_token",
        "card_last4",
        F.lit(True).alias("transaction_found"),
    )

    def join(rewards: DataFrame) -> DataFrame:
        joined = rewards.withColumnRenamed("merchant_name", "_rw_merchant_name").withColumnRenamed("mcc", "_rw_mcc")
        joined = joined.join(tx, on="transaction_id", how="left")
        found = F.coalesce(F.col("transaction_found"), F.lit(False))
        mcc = F.coalesce(F.col("_tx_mcc"), F.col("_rw_mcc"))
        return (
            joined.withColumn("transaction_found", found)
            .withColumn("mcc", mcc)
            .withColumn("merchant_name", F.coalesce(F.col("_tx_merchant_name"), F.col("_rw_merchant_name")))
            .withColumn("category", F.coalesce(F.col("_tx_category"), category_of_mcc(mcc)))
            .withColumn(
                "unresolved_reason",
                F.coalesce(
                    F.col("unresolved_reason"),
                    F.when(F.col("transaction_id").isNotNull() & ~found, F.lit(TRANSACTION_NOT_FOUND)),
                ),
            )
        )

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


def reward_transactions(linked: DataFrame, transactions: DataFrame, rates: DataFrame, run_id: str) -> DataFrame:
    """The gold rows for `linked` rewards (`linked_to_transactions`, already limited to the touched ones)."""
    return (
        linked.transform(reward_amount)
        .transform(plu_price(rates))
        .transform(joined_to_transactions(transactions))
        .transform(reward_transaction_rows(run_id))
    )


def resolved_rewards(rewards: DataFrame, transactions: DataFrame, rates: DataFrame, run_id: str) -> DataFrame:
    """Every reward of `rewards` (silver, all of them) resolved: the whole chain of a first load."""
    return reward_transactions(rewards.transform(linked_to_transactions(run_id)), transactions, rates, run_id)
