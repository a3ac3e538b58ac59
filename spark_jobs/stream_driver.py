"""The alerts stream as its own Spark application (`spark_jobs/main.py --stream ...`): what EMR Serverless runs
in STREAMING mode (docs/stream.md, docs/adr/0018-stream-alerts-exported-per-micro-batch.md).

The driver cannot reach the project's warehouse code (`spark_jobs` imports only `contracts`), so its sink exports
each micro-batch's changed alerts in the batch export's layout, `fraud_alerts` only, to
`<stream exports root>/<run id>/`; the warehouse loaders upsert that export by `alert_key`. The run id is
`stream-<batch id>` and a re-run micro-batch rewrites the same folder (manifest removed first, written last), so a
restart neither loses nor duplicates an alert.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from contracts import lake
from contracts.jobs import LocalSpark, StreamRequest
from contracts.tables import FRAUD_ALERTS
from spark_jobs.delta_io import DeltaIO, get_delta_io
from spark_jobs.jobs import export as export_job
from spark_jobs.jobs.context import JobContext
from spark_jobs.jobs.stream import Sink, StreamBatch, StreamSettings, start_stream
from spark_jobs.session import get_spark


def stream_settings(request: StreamRequest, pan_key: str) -> StreamSettings:
    return StreamSettings(
        landing_uri=request.landing_uri,
        lake_uri=request.lake_uri,
        checkpoint_uri=request.checkpoint_uri,
        source=request.source,
        pan_key=pan_key,
        score=request.score,
        trigger_seconds=request.stream.trigger_seconds,
        max_manifests_per_batch=request.stream.max_manifests_per_batch,
    )


def alerts_export_uri(request: StreamRequest, run_id: str) -> str:
    """The export folder of one micro-batch; its `_export.json` is `lake.export_manifest_uri` of it."""
    return lake.export_uri(request.exports_root, run_id)


def export_sink(spark: SparkSession, delta: DeltaIO, request: StreamRequest, pan_key: str) -> Sink:
    """Each micro-batch with alerts exports them (a micro-batch without any writes nothing: there is nothing to
    upsert, and the loader needs no gap-free sequence)."""

    def sink(batch: StreamBatch) -> None:
        if batch.alert_rows == 0 or batch.window is None:
            print(f"micro-batch {batch.batch_id}: {batch.transactions} transaction(s), no alert changed", flush=True)
            return
        ctx = JobContext(spark, delta, request.landing_uri, request.lake_uri, batch.window, batch.run_id,
                         request.source, pan_key)  # fmt: skip
        root = alerts_export_uri(request, batch.run_id)
        export_job.write_export(ctx, root, (FRAUD_ALERTS,))
        print(
            f"micro-batch {batch.batch_id}: {batch.transactions} transaction(s), {batch.alert_rows} alert(s) "
            f"exported to {lake.export_manifest_uri(root)} in {batch.duration_s:.1f} s",
            flush=True,
        )

    return sink


def run_stream(request: StreamRequest, pan_key: str, local: LocalSpark | None = None) -> None:
    """Run the stream until its query stops; a failed micro-batch ends the application with the query's error
    (EMR's retry policy then starts a new attempt, which resumes from the checkpoint)."""
    spark = get_spark("cardlake-stream", local)
    delta = get_delta_io(request.delta_engine, spark)
    query = start_stream(spark, delta, stream_settings(request, pan_key), export_sink(spark, delta, request, pan_key))
    print(f"streaming from {request.landing_uri}; checkpoint {request.checkpoint_uri}", flush=True)
    query.awaitTermination()
