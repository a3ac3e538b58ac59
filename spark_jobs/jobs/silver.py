"""Silver job: landed pages of the window -> silver tables + quarantine, reconciled per entity."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs import schemas
from spark_jobs.delta_io import MergeSpec
from spark_jobs.jobs.context import JobContext, persisted_until
from spark_jobs.jobs.metrics import record_metrics
from spark_jobs.landing_reader import manifests_in_window, read_pages
from spark_jobs.transforms import silver as T

# One row per bad record (its id hashes entity and content). Landing keys sort by ingest date, window and page,
# so the largest source_file is the latest landing: its source_file and run_id are kept, an older window re-run
# later changes nothing, and a re-run of the same window writes nothing.
QUARANTINE_SPEC = MergeSpec(keys=("quarantine_id",), version_column="source_file", tiebreak_column=None)

SPECS: dict[str, MergeSpec] = {
    "transactions": MergeSpec(keys=("transaction_id",), partition_by=("transaction_month",)),
    "rewards": MergeSpec(keys=("reward_id",), partition_by=("created_month",)),
    "cardholders": MergeSpec(keys=("cardholder_id",)),
    "addresses": MergeSpec(keys=("address_id",)),
    "merchants": MergeSpec(keys=("merchant_id",)),
    "cards": MergeSpec(keys=("card_token",)),
    "plu_rates": MergeSpec(keys=("rate_ts", "ticker", "currency")),
}


def _checked_records(
    ctx: JobContext, entity: str, rejection: Callable[[DataFrame], DataFrame], schema: Any, cleanup: ExitStack
) -> tuple:
    source = ctx.options.get("source", "cardapi")
    manifests = manifests_in_window(ctx.spark, ctx.landing_uri, source, entity, ctx.window_start, ctx.window_end)
    pages = read_pages(ctx.spark, ctx.landing_uri, manifests)
    checked = (
        pages.transform(T.records_from_pages)
        .transform(T.parsed_with(schema))
        .transform(rejection)
        # Only quarantine reads the raw text: caching it for accepted records would double the cache.
        .withColumn("raw_record", F.when(F.col("reason").isNotNull(), F.col("raw_record")))
    )
    return persisted_until(checked, cleanup), manifests


def _reconcile(entity: str, checked: DataFrame, quarantine: DataFrame, manifests: list) -> dict:
    counts = checked.agg(
        F.count(F.lit(1)).alias("read"),
        F.sum(F.when(F.col("reason").isNull(), 1).otherwise(0)).alias("accepted"),
    ).first()
    read, accepted = int(counts["read"] or 0), int(counts["accepted"] or 0)
    quarantined = quarantine.count()
    if read != accepted + quarantined:
        raise RuntimeError(f"{entity}: {read} records read but {accepted} accepted + {quarantined} quarantined")
    metrics = {
        "manifests": len(manifests),
        "manifest_records": sum(m.record_count for m in manifests),
        "records_read": read,
        "accepted": accepted,
        "quarantined": quarantined,
    }
    return metrics


def _entity(
    ctx: JobContext,
    entity: str,
    rejection: Callable[[DataFrame], DataFrame],
    raw_schema: Any,
    build: Callable[[DataFrame, ExitStack], dict[str, DataFrame]],
) -> dict[str, Any]:
    """Check, quarantine and merge one entity; its caches are released before the next entity starts."""
    with ExitStack() as cleanup:
        checked, manifests = _checked_records(ctx, entity, rejection, raw_schema, cleanup)
        quarantine = persisted_until(checked.transform(T.quarantine_rows(entity, ctx.run_id)), cleanup)
        metrics = _reconcile(entity, checked, quarantine, manifests)
        q = ctx.delta.merge(quarantine, ctx.table("silver", "quarantine"), QUARANTINE_SPEC)
        metrics["quarantine_inserted"] = q.inserted
        for name, rows in build(T.accepted(checked), cleanup).items():
            result = ctx.delta.merge(rows, ctx.table("silver", name), SPECS[name])
            prefix = "" if name == entity else f"{name}_"
            metrics.update({f"{prefix}inserted": result.inserted, f"{prefix}updated": result.updated})
            if name == entity:
                # The merge keeps one row per key, so the rows it kept count the duplicates: no extra pass.
                metrics["duplicates"] = metrics["accepted"] - result.source_rows
        return metrics


def run(ctx: JobContext) -> dict[str, Any]:
    def transactions(valid: DataFrame, cleanup: ExitStack) -> dict[str, DataFrame]:
        # Five tables are cut from the same normalised rows: normalise (HMAC, hashes) once.
        wide = persisted_until(valid.transform(T.normalised_transactions(ctx.pan_key, ctx.run_id)), cleanup)
        return {
            "transactions": wide.transform(T.silver_transactions),
            "cards": wide.transform(T.silver_cards),
            "addresses": wide.transform(T.silver_addresses),
            "cardholders": wide.transform(T.silver_cardholders),
            "merchants": wide.transform(T.silver_merchants),
        }

    metrics = {
        "transactions": _entity(
            ctx, "transactions", T.with_transaction_rejection, schemas.RAW_TRANSACTION, transactions
        ),
        "rewards": _entity(
            ctx,
            "rewards",
            T.with_reward_rejection,
            schemas.RAW_REWARD,
            lambda valid, _: {"rewards": valid.transform(T.silver_rewards(ctx.run_id))},
        ),
        "plu_rates": _entity(
            ctx,
            "plu_rates",
            T.with_plu_rate_rejection,
            schemas.RAW_PLU_RATE,
            lambda valid, _: {"plu_rates": valid.transform(T.silver_plu_rates(ctx.run_id))},
        ),
    }
    record_metrics(ctx, "silver", metrics)
    return metrics
