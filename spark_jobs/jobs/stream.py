"""The alerts stream: a Structured Streaming query over newly landed transaction manifests (docs/stream.md).

The source is Spark's file source on `raw/<source>/transactions/_manifests/`: a manifest is written last, after
its pages (ADR 0005), so a manifest the query sees names pages that are all in place; the checkpoint records
which manifests were taken, so a restart resumes where the last committed micro-batch ended. Each micro-batch:

1. silver: the pages its manifests name, through the batch's silver rules (`spark_jobs.transforms.silver`),
   merged into silver/transactions, cards, addresses, cardholders, merchants and quarantine;
2. features: `spark_jobs.jobs.features.run`, the batch job itself, for the cards those rows are on (from their
   stored history: the same incremental rule, so the same features as the nightly batch);
3. score: `spark_jobs.jobs.score.run`, the batch job itself, with the model resolved when the stream started;
4. the alerts it inserted or changed (gold/fraud_alerts rows stamped with its run id) go to `sink`, which the
   caller provides (the warehouse upsert lives outside `spark_jobs`, which imports only `contracts`).

The run id of micro-batch n is `stream-<n>`: a micro-batch re-run after a crash gets the same id, and every write
is a MERGE by natural key, so the re-run rewrites nothing twice and no alert is duplicated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from contracts import lake
from contracts.jobs import FeaturesOptions, ScoreOptions
from contracts.landing import Window, manifest_prefix, parse_iso
from contracts.results import TableCounts
from spark_jobs import schemas
from spark_jobs.delta_io import DeltaIO, MergeSpec
from spark_jobs.fraud.registry import LoadedModel, ModelNotFound, load_model
from spark_jobs.fraud.scoring import FRAUD_ALERTS_SCHEMA
from spark_jobs.jobs import features as features_job
from spark_jobs.jobs import score as score_job
from spark_jobs.jobs.context import JobContext, persisted_until
from spark_jobs.jobs.silver import QUARANTINE_SPEC, SPECS
from spark_jobs.landing_reader import Manifest, read_pages
from spark_jobs.transforms import silver as T


@dataclass(frozen=True)
class StreamSettings:
    landing_uri: str
    lake_uri: str
    checkpoint_uri: str
    source: str
    pan_key: str
    score: ScoreOptions = field(default_factory=ScoreOptions)
    trigger_seconds: float = 1.0
    max_manifests_per_batch: int = 200


@dataclass(frozen=True)
class StreamBatch:
    """What one micro-batch did; `alerts` are its changed gold/fraud_alerts rows (FRAUD_ALERTS columns);
    `steps` the seconds each step took (silver, features, score, alerts), in order."""

    batch_id: int
    run_id: str
    manifests: int
    transactions: int
    quarantined: int
    scored: int
    alerts: pa.Table
    alert_rows: int
    newest_created_at: datetime | None
    duration_s: float
    steps: tuple[tuple[str, float], ...] = ()
    window: Window | None = None  # what its manifests covered: a sink that runs a batch job needs a JobContext


Sink = Callable[[StreamBatch], None]
# Held around each micro-batch's lake writes (the caller's one-writer limit); the stream never holds it between them.
WriterSlot = Callable[[], AbstractContextManager[object]]


SILVER_TABLES: dict[lake.LakeTable, Callable[[DataFrame], DataFrame]] = {
    lake.SILVER_TRANSACTIONS: T.silver_transactions,
    lake.SILVER_CARDS: T.silver_cards,
    lake.SILVER_ADDRESSES: T.silver_addresses,
    lake.SILVER_CARDHOLDERS: T.silver_cardholders,
    lake.SILVER_MERCHANTS: T.silver_merchants,
}


def run_id_of(batch_id: int) -> str:
    return f"stream-{batch_id:08d}"


def parsed_manifests(rows: list[tuple[str, str]]) -> list[Manifest]:
    found = []
    for path, text in rows:
        body = json.loads(text)
        pages = tuple(page["key"] for page in body.get("pages", []))
        start, end = parse_iso(body["window_start"]), parse_iso(body["window_end"])
        found.append(Manifest(path, start, end, pages, int(body.get("record_count", 0))))
    return sorted(found, key=lambda m: (m.window_start, m.window_end, m.key))


@dataclass(frozen=True)
class SilverDone:
    accepted: int
    quarantined: int
    newest_updated_at: datetime | None


def silver_transactions_of(ctx: JobContext, manifests: list[Manifest], cleanup: ExitStack) -> SilverDone:
    """The batch's silver rules for the pages the manifests name, merged into the silver tables.

    The merges touch different tables, so they run side by side: each is a Spark staging write then a delta-rs
    commit, mostly waiting on one another when run in turn (a micro-batch's fixed cost). A table with no rows in
    the batch (quarantine, nearly always) is not merged at all: no staging job, no commit.
    """
    pages = read_pages(ctx.spark, ctx.landing_uri, manifests)
    checked = persisted_until(
        pages.transform(T.records_from_pages)
        .transform(T.parsed_with(schemas.RAW_TRANSACTION))
        .transform(T.with_transaction_rejection)
        .withColumn("raw_record", F.when(F.col("reason").isNotNull(), F.col("raw_record"))),
        cleanup,
    )
    ctx.delta.create_if_absent(ctx.table(lake.SILVER_QUARANTINE), schemas.SILVER_QUARANTINE)
    wide = persisted_until(T.accepted(checked).transform(T.normalised_transactions(ctx.pan_key, ctx.run_id)), cleanup)
    accepted_rows, newest = wide.agg(F.count(F.lit(1)), F.max("updated_at")).first() or (0, None)
    rejected = checked.where(F.col("reason").isNotNull()).count()
    merges: dict[lake.LakeTable, tuple[DataFrame, MergeSpec]] = {}
    if rejected:
        merges[lake.SILVER_QUARANTINE] = (checked.transform(T.quarantine_rows("transactions", ctx.run_id)),
                                          QUARANTINE_SPEC)  # fmt: skip
    if accepted_rows:
        for table, build in SILVER_TABLES.items():
            merges[table] = (wide.transform(build), SPECS[table])
    with ThreadPoolExecutor(max_workers=max(1, len(merges))) as pool:
        results = {table: pool.submit(ctx.delta.merge, rows, ctx.table(table), spec)
                   for table, (rows, spec) in merges.items()}  # fmt: skip
        done = {table: future.result() for table, future in results.items()}
    accepted = done[lake.SILVER_TRANSACTIONS].source_rows if lake.SILVER_TRANSACTIONS in done else 0
    quarantined = done[lake.SILVER_QUARANTINE].source_rows if lake.SILVER_QUARANTINE in done else 0
    return SilverDone(accepted, quarantined, newest)


def _counted(counts: tuple[TableCounts, ...], path: str) -> int:
    return next((c.read for c in counts if c.table == path), 0)


def process_batch(
    spark: SparkSession,
    delta: DeltaIO,
    settings: StreamSettings,
    rows: list[tuple[str, str]],
    batch_id: int,
    model: LoadedModel | None = None,
) -> StreamBatch | None:
    """One micro-batch: silver -> features -> score for the manifests in `rows` ((path, text) each); `model` is
    the one the stream loaded at its start (else the score job loads `settings.score`'s)."""
    started = time.monotonic()
    manifests = parsed_manifests(rows)
    if not manifests:
        return None
    window = Window(min(m.window_start for m in manifests), max(m.window_end for m in manifests))
    ctx = JobContext(spark, delta, settings.landing_uri, settings.lake_uri, window, run_id_of(batch_id),
                     settings.source, settings.pan_key)  # fmt: skip
    steps: list[tuple[str, float]] = []

    def step_done(name: str, since: float) -> float:
        now = time.monotonic()
        steps.append((name, now - since))
        return now

    with ExitStack() as cleanup:
        silver = silver_transactions_of(ctx, manifests, cleanup)
    mark = step_done("silver", started)
    features_job.run(ctx, FeaturesOptions())
    mark = step_done("features", mark)
    scored = score_job.run(ctx, settings.score, model)
    mark = step_done("score", mark)
    # Collected once: the sink writes these rows, and their count is the table's length, not a second Spark job.
    alerts = pa.Table.from_pandas(
        ctx.read(lake.GOLD_FRAUD_ALERTS, FRAUD_ALERTS_SCHEMA)
        .where(F.col("run_id") == F.lit(ctx.run_id))
        .drop("row_hash", "run_id")
        .toPandas(),
        preserve_index=False,
    )
    step_done("alerts", mark)
    return StreamBatch(
        batch_id=batch_id,
        run_id=ctx.run_id,
        manifests=len(manifests),
        transactions=silver.accepted,
        quarantined=silver.quarantined,
        scored=_counted(scored.tables, lake.GOLD_TRANSACTION_SCORES.path),
        alerts=alerts,
        alert_rows=alerts.num_rows,
        newest_created_at=silver.newest_updated_at,
        duration_s=time.monotonic() - started,
        steps=tuple(steps),
        window=window,
    )


def stream_model(settings: StreamSettings) -> LoadedModel | None:
    """The model every micro-batch scores with, loaded once; None when there is none (the score job then says
    "skipped" per micro-batch, as the batch does)."""
    try:
        return load_model(settings.score.model_uri, settings.score.models_root or lake.default_models_root(
            settings.lake_uri))  # fmt: skip
    except ModelNotFound:
        return None


def start_stream(
    spark: SparkSession, delta: DeltaIO, settings: StreamSettings, sink: Sink, writer_slot: WriterSlot = nullcontext
) -> StreamingQuery:
    """Start the query (non-blocking); each micro-batch that holds manifests ends with `sink(batch)`.

    `writer_slot()` is entered around a micro-batch's lake writes and left before its sink runs, so a batch run
    waiting for the lake gets it between two micro-batches, not after the stream ends.
    """
    folder = f"{settings.landing_uri.rstrip('/')}/{manifest_prefix(settings.source, 'transactions')}"
    if "://" not in folder:  # a local landing zone: the file source needs the folder before the first manifest
        Path(folder).mkdir(parents=True, exist_ok=True)
    manifests = (
        spark.readStream.format("text")
        .option("wholetext", "true")
        .option("pathGlobFilter", "*.json")  # not the `.tmp-*` files a landing write renames into place
        .option("maxFilesPerTrigger", settings.max_manifests_per_batch)
        .load(folder)
        .select(F.input_file_name().alias("path"), "value")
    )

    model = stream_model(settings)

    def each(batch: DataFrame, batch_id: int) -> None:
        rows = [(r["path"], r["value"]) for r in batch.collect()]
        if not rows:
            return
        with writer_slot():
            done = process_batch(spark, delta, settings, rows, batch_id, model)
        if done is not None:
            sink(done)

    return (
        manifests.writeStream.foreachBatch(each)
        .option("checkpointLocation", settings.checkpoint_uri)
        .trigger(processingTime=f"{settings.trigger_seconds} seconds")
        .start()
    )
