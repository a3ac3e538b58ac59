"""gold/transaction_features, incrementally: exactly what a full recomputation gives, for the rows that change.

Which rows can change when this run brings new or changed transactions:
- the cards those transactions are on (now, and before the change should a transaction have moved card): every
  feature depends only on the same card's earlier rows, so rows from the card's earliest changed timestamp on
  (or its earliest row missing from the table) are recomputed. Only the card's rows from a week before that
  cutoff on are windowed (the longest window is 7 days); everything earlier is summarised per card in exact
  counts and sums (`card_history`), so a day appended costs what its week costs, not the card's whole history;
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
    WEEK_S,
    card_history,
    category_amount_reference,
    transaction_features,
    with_category_amount,
    with_row_hash,
)

FEATURES_MERGE = MergeSpec(
    keys=("transaction_id",), version_column=None, tiebreak_column=None, compare_column="row_hash"
)


def _recompute_from(changed: DataFrame, stored: DataFrame, silver: DataFrame) -> DataFrame:
    """Per card: the earliest timestamp a change touches (the new position, and the old one if it moved), or the
    card's earliest row missing from the table (a run that failed before its features, the first run)."""
    new_positions = changed.select("card_token", "transaction_ts")
    old_positions = stored.join(changed.select("transaction_id"), "transaction_id", "left_semi").select(
        "card_token", "transaction_ts"
    )
    positions = new_positions.unionByName(old_positions).where(F.col("card_token").isNotNull())
    missing = (
        silver.join(positions.select("card_token").distinct(), "card_token", "left_semi")
        .join(stored.select("transaction_id"), "transaction_id", "left_anti")
        .select("card_token", "transaction_ts")
    )
    return positions.unionByName(missing).groupBy("card_token").agg(F.min("transaction_ts").alias("_recompute_from"))


def card_rows(
    silver: DataFrame,
    cutoffs: DataFrame,
    dims: tuple[DataFrame, DataFrame],
    reference: DataFrame,
    summarise: bool = True,
) -> DataFrame:
    """Affected cards' features from their cutoff on: their rows from a week before it windowed, the rest
    summarised (see the module docstring). Without `summarise` (every card recomputed from its first row, so
    nothing lies before a cutoff) the cards' whole histories are windowed and no summary is planned."""
    if not summarise:
        history = silver.join(cutoffs.select("card_token"), "card_token", "left_semi")
        return transaction_features(history, *dims, reference).select(*FEATURE_TABLE_COLUMNS)
    epoch = F.unix_timestamp("transaction_ts")
    windowed_from = F.unix_timestamp("_recompute_from") - WEEK_S
    rows = silver.join(cutoffs, "card_token")
    earlier = rows.where(epoch < windowed_from).drop("_recompute_from")
    recent = rows.where(epoch >= windowed_from).drop("_recompute_from")
    features = transaction_features(recent, *dims, reference, history=card_history(earlier))
    return (
        features.join(cutoffs, "card_token")
        .where(F.col("transaction_ts") >= F.col("_recompute_from"))
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
    cutoffs = _recompute_from(changed, stored, silver).persist()
    reference = category_amount_reference(silver).persist()  # small: categories x days
    from_first_rows = options.full_refresh or stored.isEmpty()  # the first run, a full refresh: no summary to use
    recomputed = card_rows(silver, cutoffs, dims, reference, summarise=not from_first_rows).persist()
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
