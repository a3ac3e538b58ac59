"""Gold job: re-resolve `reward_transactions` for every reward this run touched, on either side of the join.

How the touched rewards are found depends on how much of the lake the run changed:
- every reward (a first load, a full rebuild): all rewards are resolved in one join, no lookups;
- otherwise the changed keys are looked up, broadcast when they are few, so a daily batch scans the big
  tables once instead of shuffling them.
"""

from __future__ import annotations

from contextlib import ExitStack

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from contracts import lake
from contracts.jobs import GoldOptions
from contracts.results import JobOutcome, TableCounts
from spark_jobs import schemas
from spark_jobs.delta_io import MergeSpec
from spark_jobs.jobs.context import JobContext, persisted_until
from spark_jobs.jobs.metrics import record_metrics
from spark_jobs.transforms import gold as T

# One row per reward by construction (silver rewards are unique per reward_id, transactions per transaction_id).
REWARD_TRANSACTIONS_SPEC = MergeSpec(
    keys=("reward_id",), version_column=None, compare_column="row_hash", source_unique=True
)
# Up to this many keys, a lookup side is broadcast to every task instead of shuffling the table it filters.
BROADCAST_MAX_KEYS = 200_000


def _maybe_broadcast(keys: DataFrame, count: int) -> DataFrame:
    return F.broadcast(keys) if count <= BROADCAST_MAX_KEYS else keys


def _resolved_rows(ctx: JobContext, rewards: DataFrame, transactions: DataFrame, cleanup: ExitStack) -> DataFrame:
    counts = rewards.agg(
        F.count(F.lit(1)).alias("all"), F.count(F.when(F.col("run_id") == F.lit(ctx.run_id), 1)).alias("changed")
    ).first()
    if counts is None:
        raise RuntimeError("gold: the reward-count aggregate returned no row")
    if counts["changed"] == counts["all"]:
        return T.reward_transactions(rewards, transactions, ctx.run_id)
    changed_ids = transactions.where(F.col("run_id") == F.lit(ctx.run_id)).select("transaction_id")
    touched = persisted_until(
        rewards.transform(T.rewards_touched_by(ctx.run_id, _maybe_broadcast(changed_ids, changed_ids.count()))),
        cleanup,
    )
    batch_transaction_ids = touched.select("transaction_id").where(F.col("transaction_id").isNotNull()).distinct()
    needed = transactions.join(
        _maybe_broadcast(batch_transaction_ids, touched.count()), on="transaction_id", how="left_semi"
    )
    return T.reward_transactions(touched, needed, ctx.run_id)


def run(ctx: JobContext, options: GoldOptions) -> JobOutcome:
    rewards = ctx.read(lake.SILVER_REWARDS, schemas.SILVER_REWARDS)
    transactions = ctx.read(lake.SILVER_TRANSACTIONS, schemas.SILVER_TRANSACTIONS)
    with ExitStack() as cleanup:
        # The counts are observed while the merge writes the rows: caching the rows to count them first cost
        # as much as the join itself.
        observed = Observation("reward_transactions")
        rows = _resolved_rows(ctx, rewards, transactions, cleanup).observe(
            observed,
            F.count(F.lit(1)).alias("resolved"),
            F.count(F.when(~F.col("transaction_found"), 1)).alias("without_transaction"),
        )
        result = ctx.delta.merge(rows, ctx.table(lake.GOLD_REWARD_TRANSACTIONS), REWARD_TRANSACTIONS_SPEC)
        seen = observed.get
    resolved, unmatched = int(seen["resolved"] or 0), int(seen["without_transaction"] or 0)
    counts = TableCounts(
        lake.GOLD_REWARD_TRANSACTIONS.path, resolved, resolved, 0, result.inserted, result.updated,
        note=f"{unmatched} reward(s) whose transaction has not arrived yet",
    )  # fmt: skip
    record_metrics(ctx, "gold", [counts])
    return JobOutcome((counts,))
