"""gold/transaction_features, incrementally: exactly what a full recomputation gives, for the rows that change.

Which rows can change when this run brings new or changed transactions:
- the cards those transactions are on (now, and before the change should a transaction have moved card): every
  feature depends only on the same card's earlier rows, so rows from the card's earliest changed timestamp on
  are recomputed, from the card's complete stored history (running mean/std stay exact);
- any other row whose category reference (category mean over earlier days) moved because of a late arrival:
  found by comparing the stored reference values with the freshly computed ones, and only those columns redone.
  A change on day D moves only the references of days after D, so when no other transaction is dated after the
  earliest change (a daily run, every stream micro-batch) that comparison, a scan of the whole table, is skipped.
The merge compares a row hash, so rows whose features came out the same are not rewritten and keep their run_id.
Option `full_refresh` recomputes every card (e.g. after a silver dimension was corrected).
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contracts import lake
from contracts.jobs import FeaturesOptions
from contracts.results import JobOutcome, TableCounts
from spark_jobs.delta_io import MergeSpec
from spark_jobs.jobs.context import JobContext
from spark_jobs.schemas import SILVER_ADDRESSES, SILVER_CARDHOLDERS, SILVER_TRANSACTIONS
from spark_jobs.transforms.features import (
    CATEGORY_REFERENCE_COLUMNS,
    FEATURE_TABLE_COLUMNS,
    GOLD_TRANSACTION_FEATURES,
    category_amount_reference,
    transaction_features,
    with_category_amount,
    with_row_hash,
)

FEATURES_MERGE = MergeSpec(
    keys=("transaction_id",), version_column=None, tiebreak_column=None, compare_column="row_hash"
)


def _recompute_from(changed: DataFrame, stored: DataFrame) -> DataFrame:
    """Per card: the earliest timestamp a change touches (the new position, and the old one if it moved)."""
    new_positions = changed.select("card_token", "transaction_ts")
    old_positions = stored.join(changed.select("transaction_id"), "transaction_id", "left_semi").select(
        "card_token", "transaction_ts"
    )
    return (
        new_positions.unionByName(old_positions)
        .where(F.col("card_token").isNotNull())
        .groupBy("card_token")
        .agg(F.min("transaction_ts").alias("_recompute_from"))
    )


def card_rows(
    silver: DataFrame,
    stored: DataFrame,
    cutoffs: DataFrame,
    dims: tuple[DataFrame, DataFrame],
    reference: DataFrame,
) -> DataFrame:
    """Affected cards' features from the cutoff on, plus any of their rows missing from the table."""
    history = silver.join(cutoffs.select("card_token"), "card_token", "left_semi")
    features = transaction_features(history, *dims, reference)
    stored_ids = stored.select("transaction_id", F.lit(True).alias("_stored"))
    return (
        features.join(cutoffs, "card_token")
        .join(stored_ids, "transaction_id", "left")
        .where((F.col("transaction_ts") >= F.col("_recompute_from")) | F.col("_stored").isNull())
        .select(*FEATURE_TABLE_COLUMNS)
    )


def category_reference_rows(stored: DataFrame, exclude_ids: DataFrame, reference: DataFrame) -> DataFrame:
    """Stored rows (not recomputed above) whose category reference moved: only those three columns redone."""
    current = reference.select(
        "category",
        "transaction_date",
        F.col("category_amount_mean_before").alias("_new_mean"),
        F.col("category_txn_count_before").alias("_new_count"),
    )
    moved = (
        stored.join(exclude_ids, "transaction_id", "left_anti")
        .join(current, ["category", "transaction_date"], "left")
        .where(
            ~F.col("category_amount_mean_before").eqNullSafe(F.col("_new_mean"))
            | ~F.col("category_txn_count_before").eqNullSafe(F.coalesce(F.col("_new_count"), F.lit(0)))
        )
        .select(*FEATURE_TABLE_COLUMNS)
    )
    return (
        moved.drop(*CATEGORY_REFERENCE_COLUMNS)
        .transform(with_category_amount, reference)
        .select(*FEATURE_TABLE_COLUMNS)
    )


def _changed_rows(silver: DataFrame, in_run: Column) -> tuple[int, date | None]:
    """In one pass over silver: how many rows this run changed, and the latest day of the rows it did not."""
    row = silver.agg(F.count(F.when(in_run, F.lit(1))), F.max(F.when(~in_run, F.col("transaction_date")))).first()
    return (int(row[0]), row[1]) if row else (0, None)


def _references_may_move(earliest_change: date | None, latest_other_day: date | None) -> bool:
    """A change on day D moves the category references of later days only: can any unchanged row be on one?"""
    if earliest_change is None or latest_other_day is None:
        return False
    return latest_other_day > earliest_change


def run(ctx: JobContext, options: FeaturesOptions) -> JobOutcome:
    uri = ctx.table(lake.GOLD_TRANSACTION_FEATURES)
    silver = ctx.read(lake.SILVER_TRANSACTIONS, SILVER_TRANSACTIONS)
    stored = ctx.read(lake.GOLD_TRANSACTION_FEATURES, GOLD_TRANSACTION_FEATURES)
    in_run = F.lit(True) if options.full_refresh else F.coalesce(F.col("run_id") == ctx.run_id, F.lit(False))
    changed = silver.where(in_run).select("transaction_id", "card_token", "transaction_ts")
    changed_count, latest_other_day = _changed_rows(silver, in_run)
    if changed_count == 0:
        return JobOutcome((TableCounts(lake.GOLD_TRANSACTION_FEATURES.path),))

    dims = (
        ctx.read(lake.SILVER_CARDHOLDERS, SILVER_CARDHOLDERS),
        ctx.read(lake.SILVER_ADDRESSES, SILVER_ADDRESSES),
    )
    cutoffs = _recompute_from(changed, stored).persist()
    reference = category_amount_reference(silver).persist()  # small: categories x days
    recomputed = card_rows(silver, stored, cutoffs, dims, reference).persist()
    try:
        # The change's first day in the session's time zone (UTC), as transaction_date is: not Python's local one.
        first_day = F.min(F.to_date("_recompute_from"))
        cards_affected, earliest_change = cutoffs.agg(F.count(F.lit(1)), first_day).first() or (0, None)
        rows = recomputed  # card_rows already carry their row hash
        if _references_may_move(earliest_change, latest_other_day):
            refreshed = category_reference_rows(stored, recomputed.select("transaction_id"), reference)
            rows = recomputed.unionByName(refreshed).transform(with_row_hash)
        batch = rows.withColumn("run_id", F.lit(ctx.run_id)).select(*FEATURE_TABLE_COLUMNS)
        result = ctx.delta.merge(batch, uri, FEATURES_MERGE)
    finally:
        for df in (recomputed, reference, cutoffs):
            df.unpersist()
    counts = TableCounts(
        lake.GOLD_TRANSACTION_FEATURES.path,
        read=changed_count,
        accepted=changed_count,
        inserted=result.inserted,
        updated=result.updated,
        note=f"{cards_affected} card(s) affected, {result.source_rows} row(s) recomputed",
    )
    return JobOutcome((counts,))
