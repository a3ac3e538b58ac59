"""`--job star`: the gold star schema (dims, facts, calendar), rebuilt incrementally from what this run changed.

What is recomputed:
- fact_transaction: transactions changed in silver by this run, and transactions whose reward (silver rewards or
  gold reward_transactions) or fraud score changed in this run;
- fact_reward: rewards changed by this run (silver or gold reward_transactions) and rewards of transactions that
  changed (a transaction arriving after its reward gives the reward its transaction_key);
- dim_address / dim_merchant / dim_customer: entities referenced by this run's transactions (silver dimension
  rows come from transaction records), rows of silver dimension tables stamped with this run when they carry a
  run_id, and customers whose age band moved since it was stored;
- dim_date: the calendar from the earliest to the latest fact date, grown as facts arrive; dim_time: 24 hours;
  dim_statement_kind: the statement row kinds of contracts.records (constant).
A table that does not exist yet (or every table, with `--option full_refresh=true`) is built from all of silver.

Every batch is compared with the table on (primary key, row_hash) first and only new or different rows are
merged, so a run that changes nothing writes no Delta version at all, whichever engine commits.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from contracts import lake
from contracts.jobs import StarOptions
from contracts.results import JobOutcome, TableCounts
from contracts.tables import (
    DIM_ADDRESS,
    DIM_CUSTOMER,
    DIM_DATE,
    DIM_MERCHANT,
    DIM_STATEMENT_KIND,
    DIM_TIME,
    FACT_REWARD,
    FACT_TRANSACTION,
    Table,
)
from spark_jobs.delta_io import MergeSpec
from spark_jobs.jobs.context import JobContext
from spark_jobs.schemas import (
    GOLD_REWARD_TRANSACTIONS,
    SILVER_ADDRESSES,
    SILVER_CARDHOLDERS,
    SILVER_CARDS,
    SILVER_MERCHANTS,
    SILVER_REWARDS,
    SILVER_TRANSACTIONS,
)
from spark_jobs.transforms.star import ROW_HASH, RUN_ID, star_rows, star_struct, utc_date
from spark_jobs.transforms.star_calendar import calendar_days, dim_date, dim_time
from spark_jobs.transforms.star_dims import (
    cards_with_cardholder,
    customers_with_stale_age_band,
    dim_address,
    dim_customer,
    dim_merchant,
    dim_statement_kind,
)
from spark_jobs.transforms.star_facts import TRANSACTION_SCORES, build_fact_transaction, fact_reward


def merge_spec(table: Table) -> MergeSpec:
    return MergeSpec(keys=table.primary_key, version_column=None, compare_column=ROW_HASH)


def run(ctx: JobContext, options: StarOptions) -> JobOutcome:
    inputs = _Inputs(ctx, options)
    counts = [
        _merge(ctx, DIM_TIME, dim_time(ctx.spark)),
        _merge(ctx, DIM_STATEMENT_KIND, dim_statement_kind(ctx.spark)),
        _merge(ctx, DIM_ADDRESS, inputs.addresses_to_refresh().transform(dim_address)),
        _merge(ctx, DIM_MERCHANT, inputs.merchants_to_refresh().transform(dim_merchant)),
        _merge(ctx, DIM_CUSTOMER, dim_customer(cards_with_cardholder(inputs.cards_to_refresh(), inputs.cardholders),
                                               inputs.as_of)),
    ]  # fmt: skip
    transactions = inputs.transactions_to_refresh()
    # Rewards and scores of the batch only, so the rebate sums aggregate no more than they must.
    ids = transactions.select("transaction_id")
    rewards = inputs.reward_transactions.join(ids, "transaction_id", "left_semi")
    scores = inputs.scores.join(ids, "transaction_id", "left_semi")
    counts.append(_merge(ctx, FACT_TRANSACTION, build_fact_transaction(transactions, rewards, scores)))
    counts.append(_merge(ctx, FACT_REWARD, inputs.rewards_to_refresh().transform(fact_reward)))
    counts.append(_merge_calendar(ctx))
    return JobOutcome(tuple(counts), notes=(f"age bands as of {inputs.as_of.isoformat()}",))


class _Inputs:
    """The inputs of one run and the keys each star table must recompute."""

    def __init__(self, ctx: JobContext, options: StarOptions) -> None:
        self.ctx = ctx
        self.options = options
        self.run_id = ctx.run_id
        self.as_of: date = ctx.window_end.date()
        self.transactions = ctx.read(lake.SILVER_TRANSACTIONS, SILVER_TRANSACTIONS)
        self.silver_rewards = ctx.read(lake.SILVER_REWARDS, SILVER_REWARDS)
        self.cardholders = ctx.read(lake.SILVER_CARDHOLDERS, SILVER_CARDHOLDERS)
        self.addresses = ctx.read(lake.SILVER_ADDRESSES, SILVER_ADDRESSES)
        self.merchants = ctx.read(lake.SILVER_MERCHANTS, SILVER_MERCHANTS)
        self.cards = ctx.read(lake.SILVER_CARDS, SILVER_CARDS)
        self.reward_transactions = ctx.read(lake.GOLD_REWARD_TRANSACTIONS, GOLD_REWARD_TRANSACTIONS)
        # Written by the fraud job; absent until a model has scored something (fraud_score stays null then).
        scores_uri = ctx.table(lake.GOLD_TRANSACTION_SCORES)
        self.scores = (
            _with_columns_of(ctx.read(lake.GOLD_TRANSACTION_SCORES), TRANSACTION_SCORES)
            if ctx.delta.exists(scores_uri)
            else ctx.spark.createDataFrame([], TRANSACTION_SCORES)
        )
        self.changed_transactions = self._of_this_run(self.transactions)

    # -- helpers ------------------------------------------------------------------------------------------
    def _of_this_run(self, df: DataFrame) -> DataFrame:
        """Rows this run stamped; none when the table has no run_id column (older silver dimension tables)."""
        if RUN_ID not in df.columns:
            return df.limit(0)
        return df.where(F.col(RUN_ID) == F.lit(self.run_id))

    def _full_refresh(self, table: Table) -> bool:
        return self.options.full_refresh or not self.ctx.delta.exists(self.ctx.table(lake.gold_star_table(table.name)))

    @staticmethod
    def _keys(column: str, *frames: DataFrame) -> DataFrame:
        selected = [f.select(F.col(column)) for f in frames]
        return reduce(DataFrame.unionByName, selected).where(F.col(column).isNotNull()).distinct()

    def _refresh(self, table: Table, rows: DataFrame, key: str, *key_sources: DataFrame) -> DataFrame:
        if self._full_refresh(table):
            return rows
        return rows.join(self._keys(key, *key_sources), key, "left_semi")

    # -- what each table recomputes -----------------------------------------------------------------------
    def addresses_to_refresh(self) -> DataFrame:
        return self._refresh(
            DIM_ADDRESS,
            self.addresses,
            "address_id",
            self.changed_transactions,
            self._of_this_run(self.addresses),
            self._of_this_run(self.cardholders),
        )

    def merchants_to_refresh(self) -> DataFrame:
        return self._refresh(
            DIM_MERCHANT, self.merchants, "merchant_id", self.changed_transactions, self._of_this_run(self.merchants)
        )

    def cards_to_refresh(self) -> DataFrame:
        if self._full_refresh(DIM_CUSTOMER):
            return self.cards
        holders = self._keys("cardholder_id", self.changed_transactions, self._of_this_run(self.cardholders))
        cards_of_changed_holders = self.cards.join(holders, "cardholder_id", "left_semi")
        stored = self.ctx.read(lake.gold_star_table(DIM_CUSTOMER.name), star_struct(DIM_CUSTOMER, bookkeeping=True))
        return self._refresh(
            DIM_CUSTOMER,
            self.cards,
            "card_token",
            self.changed_transactions,
            self._of_this_run(self.cards),
            cards_of_changed_holders,
            customers_with_stale_age_band(stored, self.as_of),
        )

    def transactions_to_refresh(self) -> DataFrame:
        return self._refresh(
            FACT_TRANSACTION,
            self.transactions,
            "transaction_id",
            self.changed_transactions,
            self._of_this_run(self.silver_rewards),
            self._of_this_run(self.reward_transactions),
            self._of_this_run(self.scores),
        )

    def rewards_to_refresh(self) -> DataFrame:
        changed_ids = self.changed_transactions.select("transaction_id")
        rewards_of_changed_transactions = self.reward_transactions.join(changed_ids, "transaction_id", "left_semi")
        return self._refresh(
            FACT_REWARD,
            self.reward_transactions,
            "reward_id",
            self._of_this_run(self.silver_rewards),
            self._of_this_run(self.reward_transactions),
            rewards_of_changed_transactions,
        )


def _with_columns_of(df: DataFrame, schema: StructType) -> DataFrame:
    """`df` reduced to `schema`'s columns; a column another job does not write (yet) reads as null."""
    return df.select(
        *[
            (F.col(f.name) if f.name in df.columns else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in schema.fields
        ]
    )


def _new_or_changed(ctx: JobContext, table: Table, batch: DataFrame) -> DataFrame:
    """The batch minus rows the table already holds unchanged (same key, same row_hash)."""
    uri = ctx.table(lake.gold_star_table(table.name))
    if not ctx.delta.exists(uri):
        return batch
    stored = ctx.delta.read(ctx.spark, uri).select(*table.primary_key, ROW_HASH)
    return batch.join(stored, [*table.primary_key, ROW_HASH], "left_anti")


def _merge(ctx: JobContext, table: Table, rows: DataFrame) -> TableCounts:
    """Merge the new or changed rows; `read` counts them (rows the table already holds unchanged are not)."""
    batch = _new_or_changed(ctx, table, rows.transform(star_rows(table, ctx.run_id)))
    gold = lake.gold_star_table(table.name)
    result = ctx.delta.merge(batch, ctx.table(gold), merge_spec(table))
    return TableCounts(gold.path, result.source_rows, result.source_rows, 0, result.inserted, result.updated)


def _merge_calendar(ctx: JobContext) -> TableCounts:
    """dim_date from the earliest to the latest fact date; it only grows (dates are never removed)."""
    date_uri = ctx.table(lake.gold_star_table(DIM_DATE.name))
    calendar_exists = ctx.delta.exists(date_uri)

    def fact_dates(table: Table, column: Any) -> DataFrame:
        facts = ctx.read(lake.gold_star_table(table.name), star_struct(table, bookkeeping=True))
        if calendar_exists:  # older facts' dates are already in the calendar
            facts = facts.where(F.col(RUN_ID) == F.lit(ctx.run_id))
        return facts.select(column.alias("d"))

    dates = fact_dates(FACT_TRANSACTION, F.col("transaction_date")).unionByName(
        fact_dates(FACT_REWARD, utc_date("reward_created_at"))
    )
    if calendar_exists:
        dates = dates.unionByName(ctx.delta.read(ctx.spark, date_uri).select(F.col("full_date").alias("d")))
    bounds = dates.agg(F.min("d").alias("first"), F.max("d").alias("last")).collect()[0]
    if bounds["first"] is None:
        return TableCounts(lake.gold_star_table(DIM_DATE.name).path)
    counts = _merge(ctx, DIM_DATE, dim_date(calendar_days(ctx.spark, bounds["first"], bounds["last"])))
    return dataclasses.replace(counts, note=f"{bounds['first'].isoformat()} .. {bounds['last'].isoformat()}")
