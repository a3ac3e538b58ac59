"""`cardlake stream start|status|stop`: the production stream, one EMR Serverless job run in STREAMING mode.

With `CARDLAKE_SPARK_RUNNER=emr-serverless` the Spark side of the stream runs on EMR, not in this process:
`start` returns once the job run is RUNNING, `status` reports the newest one, `stop` cancels it. The poller runs
as the `stream` flow's deployment beside it, and each micro-batch's alerts are exported for the warehouse
loaders (docs/stream.md). Configuration is resolved once, here at the entry.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cardlake.cli.errors import fail, settings_or_exit
from cardlake.config import ConfigError, PipelineConfig
from cardlake.spark_runner.emr_stream import EmrStreamRunner, StreamRun
from contracts.jobs import StreamOptions, StreamRequest


def stream_runner(config: PipelineConfig) -> EmrStreamRunner:
    if config.settings.spark_runner != "emr-serverless" or config.emr is None:
        raise ConfigError(
            "`cardlake stream start|status|stop` drive the stream on EMR Serverless: set "
            "CARDLAKE_SPARK_RUNNER=emr-serverless (locally, `cardlake stream` runs it in this process)"
        )
    return EmrStreamRunner(config.emr)


def stream_request(config: PipelineConfig, trigger_seconds: float) -> StreamRequest:
    from flows.transform import score_options

    settings = config.settings
    return StreamRequest(
        landing_uri=settings.landing_root,
        lake_uri=settings.lake_root,
        delta_engine="delta-spark",
        source=settings.source_name,
        stream=StreamOptions(trigger_seconds=trigger_seconds),
        score=score_options(config),
    )


def describe(run: StreamRun) -> str:
    attempt = f", attempt {run.attempt}" if run.attempt else ""
    since = f", created {run.created_at:%Y-%m-%d %H:%M:%S %Z}" if run.created_at else ""
    return f"stream job run {run.job_run_id} is {run.state}{attempt}{since}\ndriver log: {run.log_uri}"


def start(
    trigger_seconds: Annotated[float, typer.Option(help="Seconds between two micro-batches")] = 5.0,
) -> None:
    """Start the stream's EMR Serverless job run (or find the one running); returns once it is RUNNING."""
    settings = settings_or_exit()
    try:
        from cardlake.config import resolve_config

        config = resolve_config()
        request = stream_request(config, trigger_seconds)
        run = stream_runner(config).start_stream(request)
        if run.already_running:
            typer.echo(f"already running, nothing started: {describe(run)}")
        else:
            typer.echo(describe(run))
        typer.echo(f"checkpoint: {request.checkpoint_uri}\nalert exports: {request.exports_root}/<run id>/")
    except Exception as exc:
        fail(exc, settings)


def status() -> None:
    """Report the newest stream job run; exit 1 with EMR's reason and the log location if it FAILED."""
    settings = settings_or_exit()
    try:
        from cardlake.config import resolve_config

        run = stream_runner(resolve_config(with_pan_key=False)).stream_status()
        if run is None:
            typer.echo("the stream has never run on this EMR Serverless application")
            return
        failure = run.failure()
        if failure is not None:
            raise failure
        typer.echo(describe(run))
    except Exception as exc:
        fail(exc, settings)


def stop() -> None:
    """Cancel the stream's job run and wait until it has ended; the checkpoint resumes it on the next start."""
    settings = settings_or_exit()
    try:
        from cardlake.config import resolve_config

        run = stream_runner(resolve_config(with_pan_key=False)).stop_stream()
        if run is None:
            typer.echo("no stream job run is live: nothing to stop")
            return
        typer.echo(describe(run))
    except Exception as exc:
        fail(exc, settings)
