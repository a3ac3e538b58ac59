"""`cardlake stream`: the poller and the Spark alerts stream in one process, until Ctrl-C (docs/stream.md).

One readable line per micro-batch. Ctrl-C (SIGINT) or SIGTERM stops the poller after its current poll, stops
the streaming query (a micro-batch cut short is re-run from the checkpoint on the next start, and every write
is a MERGE by key), stops the SparkSession and waits for its JVM to exit: PySpark starts the JVM ignoring SIGINT,
so it is stopped here, never left behind.

With `CARDLAKE_SPARK_RUNNER=emr-serverless` the stream runs on EMR Serverless instead: `cardlake stream
start|status|stop` (cardlake/cli/stream_emr.py).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from cardlake.cli import stream_emr
from cardlake.cli.errors import fail, settings_or_exit
from cardlake.spark_runner.jvm import stop_spark_and_jvm
from contracts.names import LAKE_WRITER_LIMIT

if TYPE_CHECKING:
    from rich.console import Console

    from cardlake.settings import Settings

app = typer.Typer(help="The real-time alerts stream.", no_args_is_help=False)
app.command("start")(stream_emr.start)
app.command("status")(stream_emr.status)
app.command("stop")(stream_emr.stop)


def _writer_slot(settings: Settings, console: Console) -> Callable[[], AbstractContextManager[object]]:
    """The lake-writer limit, one slot per micro-batch, when a Prefect server holds it (where deployments write
    the same lake); without a server there is no one to share the lake with, and none is started for it."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return nullcontext
    from cardlake.lake_writer import slot_per_use

    slot = slot_per_use("the stream's micro-batch", settings.lake_writer_timeout_s, settings.lake_writer_lease_s)
    if slot is None:
        console.print(
            f"the Prefect server at {PREFECT_API_URL.value()} has no {LAKE_WRITER_LIMIT!r} limit: batch runs "
            "writing this lake are not kept apart from the stream (`cardlake blocks register` creates it)"
        )
        return nullcontext
    console.print(f"each micro-batch takes the {LAKE_WRITER_LIMIT!r} limit while it writes the lake")
    return slot


@app.callback(invoke_without_command=True)
def stream(
    ctx: typer.Context,
    poll_seconds: Annotated[float, typer.Option(help="Seconds between two polls of the card API")] = 2.0,
    trigger_seconds: Annotated[float, typer.Option(help="Seconds between two micro-batches")] = 1.0,
) -> None:
    """Poll the card API, land what appeared, and alert on it within seconds; Ctrl-C stops it cleanly.
    On EMR Serverless (CARDLAKE_SPARK_RUNNER=emr-serverless): `start`, `status`, `stop`."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_or_exit()
    if settings.spark_runner == "emr-serverless":
        typer.secho(
            "cardlake: the stream runs on EMR Serverless with this spark_runner: "
            "`cardlake stream start`, `status` or `stop`",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    from rich.console import Console

    from cardlake.config import resolve_config
    from cardlake.stream_poller import Poll, poll_until
    from cardlake.stream_sink import upsert_alerts
    from cardlake.warehouse.duckdb import DuckDBWarehouse
    from contracts.lake import stream_checkpoint_uri
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
            checkpoint_uri=stream_checkpoint_uri(settings.lake_root),
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

        writer_slot = _writer_slot(settings, console)
        query = start_stream(spark, get_delta_io(settings.delta_engine, spark), stream_settings, sink, writer_slot)
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
