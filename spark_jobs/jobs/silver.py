"""Silver job: landed pages of the window -> silver tables + quarantine, reconciled per entity."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contracts import lake
from contracts.jobs import SilverOptions
from contracts.landing import Entity
from contracts.results import JobOutcome, TableCounts
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

SPECS: dict[lake.LakeTable, MergeSpec] = {
    lake.SILVER_TRANSACTIONS: MergeSpec(keys=("transaction_id",), partition_by=("transaction_month",)),
    lake.SILVER_REWARDS: MergeSpec(keys=("reward_id",), partition_by=("created_month",)),
    lake.SILVER_CARDHOLDERS: MergeSpec(keys=("cardholder_id",)),
    lake.SILVER_ADDRESSES: MergeSpec(keys=("address_id",)),
    lake.SILVER_MERCHANTS: MergeSpec(keys=("merchant_id",)),
    lake.SILVER_CARDS: MergeSpec(keys=("card_token",)),
    lake.SILVER_PLU_RATES: MergeSpec(keys=("rate_ts", "ticker", "currency")),
}


def _checked_records(
    ctx: JobContext, entity: Entity, rejection: Callable[[DataFrame], DataFrame], schema: Any, cleanup: ExitStack
) -> tuple:
    manifests = manifests_in_window(ctx.spark, ctx.landing_uri, ctx.source, entity, ctx.window)
    pages = read_pages(ctx.spark, ctx.landing_uri, manifests)
    checked = (
        pages.transform(T.records_from_pages)
        .transform(T.parsed_with(schema))
        .transform(rejection)
        # Only quarantine reads the raw text: caching it for accepted records would double the cache.
        .withColumn("raw_record", F.when(F.col("reason").isNotNull(), F.col("raw_record")))
    )
    return persisted_until(checked, cleanup), manifests


def _reconcile(entity: str, checked: DataFrame, quarantine: DataFrame) -> tuple[int, int, int]:
    counts = checked.agg(
        F.count(F.lit(1)).alias("read"),
        F.sum(F.when(F.col("reason").isNull(), 1).otherwise(0)).alias("accepted"),
    ).first()
    if counts is None:
        raise RuntimeError(f"{entity}: the reconciliation aggregate returned no row")
    read, accepted = int(counts["read"] or 0), int(counts["accepted"] or 0)
    quarantined = quarantine.count()
    if read != accepted + quarantined:
        raise RuntimeError(f"{entity}: {read} records read but {accepted} accepted + {quarantined} quarantined")
    return read, accepted, quarantined


def _entity(
    ctx: JobContext,
    entity: Entity,
    rejection: Callable[[DataFrame], DataFrame],
    raw_schema: Any,
    build: Callable[[DataFrame, ExitStack], dict[lake.LakeTable, DataFrame]],
) -> list[TableCounts]:
    """Check, quarantine and merge one entity; its caches are released before the next entity starts.

    The first table `build` returns is the entity's own: its counts carry the reconciliation
    (read = accepted + rejected); the tables cut from the same records report what they wrote.
    """
    with ExitStack() as cleanup:
        checked, manifests = _checked_records(ctx, entity, rejection, raw_schema, cleanup)
        quarantine = persisted_until(checked.transform(T.quarantine_rows(entity, ctx.run_id)), cleanup)
        read, accepted, quarantined = _reconcile(entity, checked, quarantine)
        q = ctx.delta.merge(quarantine, ctx.table(lake.SILVER_QUARANTINE), QUARANTINE_SPEC)
        counts: list[TableCounts] = []
        for table, rows in build(T.accepted(checked), cleanup).items():
            result = ctx.delta.merge(rows, ctx.table(table), SPECS[table])
            if not counts:
                # The merge keeps one row per key, so the rows it kept count the duplicates: no extra pass.
                note = f"{len(manifests)} manifest(s); {q.inserted} new quarantine row(s)"
                counts.append(
                    TableCounts(table.path, read, accepted, quarantined, result.inserted, result.updated,
                                duplicates=accepted - result.source_rows, note=note)
                )  # fmt: skip
            else:
                counts.append(TableCounts(table.path, inserted=result.inserted, updated=result.updated))
        return counts


def run(ctx: JobContext, options: SilverOptions) -> JobOutcome:
    def transactions(valid: DataFrame, cleanup: ExitStack) -> dict[lake.LakeTable, DataFrame]:
        # Five tables are cut from the same normalised rows: normalise (HMAC, hashes) once.
        wide = persisted_until(valid.transform(T.normalised_transactions(ctx.pan_key, ctx.run_id)), cleanup)
        return {
            lake.SILVER_TRANSACTIONS: wide.transform(T.silver_transactions),
            lake.SILVER_CARDS: wide.transform(T.silver_cards),
            lake.SILVER_ADDRESSES: wide.transform(T.silver_addresses),
            lake.SILVER_CARDHOLDERS: wide.transform(T.silver_cardholders),
            lake.SILVER_MERCHANTS: wide.transform(T.silver_merchants),
        }

    # A clean first batch quarantines nothing, and an empty merge creates no table: create it, so that a query
    # of silver/quarantine answers "no rows" from the first run instead of "no such table".
    ctx.delta.create_if_absent(ctx.table(lake.SILVER_QUARANTINE), schemas.SILVER_QUARANTINE)
    tables = [
        *_entity(ctx, "transactions", T.with_transaction_rejection, schemas.RAW_TRANSACTION, transactions),
        *_entity(
            ctx,
            "rewards",
            T.with_reward_rejection,
            schemas.RAW_REWARD,
            lambda valid, _: {lake.SILVER_REWARDS: valid.transform(T.silver_rewards(ctx.run_id))},
        ),
        *_entity(
            ctx,
            "plu_rates",
            T.with_plu_rate_rejection,
            schemas.RAW_PLU_RATE,
            lambda valid, _: {lake.SILVER_PLU_RATES: valid.transform(T.silver_plu_rates(ctx.run_id))},
        ),
    ]
    record_metrics(ctx, "silver", tables)
    return JobOutcome(tuple(tables))
