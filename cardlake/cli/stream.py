"""`cardlake stream`: the poller and the Spark alerts stream in one process, until Ctrl-C (docs/stream.md).

One readable line per micro-batch. Ctrl-C (SIGINT) or SIGTERM stops the poller after its current poll, stops
the streaming query (a micro-batch cut short is re-run from the checkpoint on the next start, and every write
is a MERGE by key), stops the SparkSession and waits for its JVM to exit: PySpark starts the JVM ignoring SIGINT,
so it is stopped here, never left behind.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated

import typer

from cardlake.cli.errors import fail, settings_or_exit
from cardlake.spark_runner.jvm import stop_spark_and_jvm

app = typer.Typer(help="The real-time alerts stream.", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def stream(
    poll_seconds: Annotated[float, typer.Option(help="Seconds between two polls of the card API")] = 2.0,
    trigger_seconds: Annotated[float, typer.Option(help="Seconds between two micro-batches")] = 1.0,
) -> None:
    """Poll the card API, land what appeared, and alert on it within seconds; Ctrl-C stops it cleanly."""
    settings = settings_or_exit()
    from rich.console import Console

    from cardlake.config import resolve_config
    from cardlake.stream_poller import Poll, poll_until
    from cardlake.stream_sink import upsert_alerts
    from cardlake.warehouse.duckdb import DuckDBWarehouse
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.jobs.stream import StreamBatch, StreamSettings, start_stream
    from spark_jobs.session import get_spark

    console = Console(highlight=False)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, object] = {}
    try:
        config = resolve_config()
        if settings.warehouse != "duckdb":
            raise ValueError(
                "`cardlake stream` upserts alerts into the DuckDB warehouse; set CARDLAKE_WAREHOUSE=duckdb"
            )
        from flows.transform import score_options

        DuckDBWarehouse(settings.duckdb_file).ensure_schema()
        spark = get_spark("cardlake-stream", settings.local_spark)
        spark.sparkContext.setLogLevel("ERROR")
        # After the SparkContext: it installs a SIGINT handler of its own (cancel jobs, raise KeyboardInterrupt).
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        stream_settings = StreamSettings(
            landing_uri=settings.landing_root,
            lake_uri=settings.lake_root,
            checkpoint_uri=f"{settings.lake_root}/_checkpoints/stream",
            source=settings.source_name,
            pan_key=config.pan_key.value.get_secret_value() if config.pan_key is not None else "",
            score=score_options(config),
            trigger_seconds=trigger_seconds,
        )

        def sink(batch: StreamBatch) -> None:
            began = time.monotonic()
            written = upsert_alerts(settings.duckdb_file, batch.alerts)
            steps = ", ".join(f"{name} {seconds:.1f}" for name, seconds in batch.steps)
            lag = ""
            if batch.newest_created_at is not None:
                newest = batch.newest_created_at.replace(tzinfo=UTC)
                lag = f", lag {(datetime.now(UTC) - newest).total_seconds():.1f} s"
            console.print(
                f"micro-batch {batch.batch_id}: {batch.manifests} manifest(s), {batch.transactions} transaction(s), "
                f"{batch.quarantined} quarantined, {batch.scored} scored, {written} alert(s) upserted "
                f"in {batch.duration_s:.1f} s ({steps}, sink {time.monotonic() - began:.1f}){lag}"
            )

        query = start_stream(spark, get_delta_io(settings.delta_engine, spark), stream_settings, sink)
        console.print(f"streaming from {settings.landing_root} into {settings.duckdb_file}; Ctrl-C stops")

        def polled(poll: Poll) -> None:
            if poll.failure is not None:
                console.print(f"poll failed, retried on the next one: {poll.failure}")
            if query.exception() is not None:
                stop.set()

        try:
            poll_until(config, stop, poll_seconds=poll_seconds, on_poll=polled)
        finally:
            query.stop()
            failure = query.exception()
            stop_spark_and_jvm()
        if failure is not None:
            raise RuntimeError(f"the streaming query failed: {failure}")
        console.print("stream stopped; the checkpoint resumes it on the next `cardlake stream`")
    except Exception as exc:  # one readable line; the traceback with CARDLAKE_DEBUG=1
        fail(exc, settings)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
