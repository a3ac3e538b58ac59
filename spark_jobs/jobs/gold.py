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


def _resolved_rows(
    ctx: JobContext, rewards: DataFrame, transactions: DataFrame, rates: DataFrame, cleanup: ExitStack
) -> DataFrame:
    counts = rewards.agg(
        F.count(F.lit(1)).alias("all"), F.count(F.when(F.col("run_id") == F.lit(ctx.run_id), 1)).alias("changed")
    ).first()
    if counts is None:
        raise RuntimeError("gold: the reward-count aggregate returned no row")
    # Partials are followed through their parents, which may be any reward: link all of them (the hops only
    # join the few partials with the few parents), then keep the touched ones.
    linked = rewards.transform(T.linked_to_transactions(ctx.run_id))
    if counts["changed"] == counts["all"]:
        return T.reward_transactions(linked, transactions, rates, ctx.run_id)
    changed_ids = transactions.where(F.col("run_id") == F.lit(ctx.run_id)).select("transaction_id")
    changed_hours = (
        rates.where(F.col("run_id") == F.lit(ctx.run_id))
        .select(F.date_trunc("hour", F.col("rate_ts")).alias("rate_ts"))
        .distinct()
    )
    touched = persisted_until(
        linked.transform(
            T.rewards_touched_by(
                ctx.run_id,
                _maybe_broadcast(changed_ids, changed_ids.count()),
                _maybe_broadcast(changed_hours, changed_hours.count()),
            )
        ),
        cleanup,
    )
    batch_transaction_ids = touched.select("transaction_id").where(F.col("transaction_id").isNotNull()).distinct()
    needed = transactions.join(
        _maybe_broadcast(batch_transaction_ids, touched.count()), on="transaction_id", how="left_semi"
    )
    return T.reward_transactions(touched, needed, rates, ctx.run_id)


def run(ctx: JobContext, options: GoldOptions) -> JobOutcome:
    transactions = ctx.read(lake.SILVER_TRANSACTIONS, schemas.SILVER_TRANSACTIONS)
    rates = ctx.read(lake.SILVER_PLU_RATES, schemas.SILVER_PLU_RATES)
    with ExitStack() as cleanup:
        # Read by the count, the partial hops and the join: read the table once.
        rewards = persisted_until(ctx.read(lake.SILVER_REWARDS, schemas.SILVER_REWARDS), cleanup)
        # The counts are observed while the merge writes the rows: caching the rows to count them first cost
        # as much as the join itself.
        observed = Observation("reward_transactions")
        rows = _resolved_rows(ctx, rewards, transactions, rates, cleanup).observe(
            observed,
            F.count(F.lit(1)).alias("resolved"),
            F.count(F.when(~F.col("transaction_found") & F.col("transaction_id").isNotNull(), 1)).alias("waiting"),
            F.count(F.when(F.col("transaction_link") == F.lit(T.VIA_PARENT), 1)).alias("via_parent"),
            F.count(F.when(F.col("transaction_link") == F.lit(T.NO_TRANSACTION), 1)).alias("no_transaction"),
            F.count(F.when(F.col("transaction_link") == F.lit(T.UNRESOLVED), 1)).alias("unresolved"),
        )
        result = ctx.delta.merge(rows, ctx.table(lake.GOLD_REWARD_TRANSACTIONS), REWARD_TRANSACTIONS_SPEC)
        seen = observed.get
    resolved = int(seen["resolved"] or 0)
    waiting, via_parent = int(seen["waiting"] or 0), int(seen["via_parent"] or 0)
    no_transaction, unresolved = int(seen["no_transaction"] or 0), int(seen["unresolved"] or 0)
    counts = TableCounts(
        lake.GOLD_REWARD_TRANSACTIONS.path, resolved, resolved, 0, result.inserted, result.updated,
        note=(f"{waiting} reward(s) whose transaction has not arrived yet; {via_parent} partial(s) linked through"
              f" their parent; {no_transaction} of no transaction (bonus, perk, manual, referral);"
              f" {unresolved} unresolved (see unresolved_reason)"),
    )  # fmt: skip
    record_metrics(ctx, "gold", [counts])
    return JobOutcome((counts,))
