"""Gold job: re-resolve `reward_transactions` for every reward this run touched, on either side of the join."""

from __future__ import annotations

from typing import Any

from pyspark.sql import functions as F

from spark_jobs import schemas
from spark_jobs.delta_io import MergeSpec
from spark_jobs.jobs.context import JobContext
from spark_jobs.jobs.metrics import record_metrics
from spark_jobs.transforms import gold as T

REWARD_TRANSACTIONS_SPEC = MergeSpec(keys=("reward_id",), version_column=None, compare_column="row_hash")


def run(ctx: JobContext) -> dict[str, Any]:
    rewards = ctx.read("silver", "rewards", schemas.SILVER_REWARDS)
    transactions = ctx.read("silver", "transactions", schemas.SILVER_TRANSACTIONS)
    touched = T.touched_reward_ids(
        ctx.changed_in_run("silver", "rewards", schemas.SILVER_REWARDS),
        ctx.changed_in_run("silver", "transactions", schemas.SILVER_TRANSACTIONS),
        rewards,
    )
    batch = rewards.join(touched, on="reward_id", how="left_semi")
    touched_transactions = transactions.join(
        batch.select("transaction_id").distinct(), on="transaction_id", how="left_semi"
    )
    rows = T.reward_transactions(batch, touched_transactions, ctx.run_id).persist()
    try:
        counts = rows.agg(
            F.count(F.lit(1)).alias("resolved"), F.sum(F.when(~F.col("transaction_found"), 1).otherwise(0))
        ).first()
        resolved, unmatched = int(counts[0] or 0), int(counts[1] or 0)
        result = ctx.delta.merge(rows, ctx.table("gold", "reward_transactions"), REWARD_TRANSACTIONS_SPEC)
    finally:
        rows.unpersist()
    metrics = {
        "reward_transactions": {
            "records_read": resolved,
            "accepted": resolved,
            "without_transaction": unmatched,
            "inserted": result.inserted,
            "updated": result.updated,
        }
    }
    record_metrics(ctx, "gold", metrics)
    return metrics
