"""`cardlake worker`: the `cardlake-warm` Prefect worker, one flow run at a time in this process (docs/deploy.md).

One line per flow run on the terminal; Prefect's own log lines (the worker's and the runs') go to
`<CARDLAKE_HOME>/logs/worker.log`, and the runs' logs reach the Prefect API as usual. Ctrl-C (SIGINT) or SIGTERM
stops polling and lets the run in progress finish; a second one stops now and reports that run Crashed. Either
way the SparkSession is stopped and its JVM waited for before the command returns.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from cardlake.cli.errors import fail, settings_or_exit
from contracts.names import WARM_WORK_POOL

app = typer.Typer(help="The cardlake-warm Prefect worker.", no_args_is_help=False)
log = logging.getLogger("cardlake.worker")

_STATE_STYLE = {"Completed": "green", "Failed": "red", "Crashed": "bold red", "Cancelled": "yellow"}


def _prefect_logs_to_file(path: Path) -> None:
    """Prefect logs to the console through the root logger; send those lines to `path` instead."""
    from prefect.logging.handlers import PrefectConsoleHandler

    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, PrefectConsoleHandler):
            root.removeHandler(handler)
    to_file = logging.FileHandler(path)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"))
    root.addHandler(to_file)
    log.setLevel(logging.INFO)


@app.callback(invoke_without_command=True)
def worker(
    pool: Annotated[str, typer.Option(help="Work pool to poll (created, of type cardlake-warm, if missing)")] = (
        WARM_WORK_POOL
    ),
    name: Annotated[str | None, typer.Option(help="Worker name shown in Prefect (default: cardlake-warm-<pid>)")] = (
        None
    ),
    work_queue: Annotated[list[str] | None, typer.Option(help="Poll only this queue (repeatable)")] = None,
) -> None:
    """Run the deployments of a cardlake-warm pool in this process, one at a time, on a SparkSession that stays up."""
    settings = settings_or_exit()
    import anyio
    from rich.console import Console

    from cardlake.spark_runner.jvm import stop_spark_and_jvm
    from cardlake.worker import RunOutcome, WarmWorker

    console = Console(highlight=False, soft_wrap=True)  # one line per run, however long
    log_path = settings.logs_dir / "worker.log"
    _prefect_logs_to_file(log_path)

    def finished(outcome: RunOutcome) -> None:
        style = _STATE_STYLE.get(outcome.state, "bold")
        why = f": {outcome.message}" if outcome.state != "Completed" and outcome.message else ""
        console.print(
            f"flow run {outcome.name!r} ([dim]{outcome.flow_run_id}[/dim]): "
            f"[{style}]{outcome.state}[/{style}] in {outcome.duration_s:.1f} s{why}"
        )

    warm = WarmWorker(
        pool, name=name or f"cardlake-warm-{os.getpid()}", work_queues=work_queue or None, on_run_finished=finished
    )

    abandoned_runs: list[str] = []

    async def serve() -> None:
        failure: list[BaseException] = []
        worker_scope = anyio.CancelScope()
        async with anyio.create_task_group() as group:

            async def run_worker() -> None:
                try:
                    with worker_scope:
                        await warm.start(printer=log.info)
                except Exception as exc:  # the API refused the worker: reported below, as one line
                    failure.append(exc)
                group.cancel_scope.cancel()

            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                group.start_soon(run_worker)
                async for signum in signals:
                    what = signal.Signals(signum).name
                    current = warm.current_run
                    if not worker_scope.cancel_called:
                        worker_scope.cancel()
                        console.print(
                            f"{what}: stopping; taking no new flow runs"
                            + (f", waiting for {current.name!r} ({what} again ends it now)" if current else "")
                        )
                    elif (abandoned := warm.abandon_current_run()) is not None:
                        abandoned_runs.append(abandoned.name)
                        console.print(f"{what} again: flow run {abandoned.name!r} is reported Crashed")
        if failure:
            raise failure[0]

    console.print(
        f"cardlake worker {warm.name!r} on pool {pool!r}: one flow run at a time in this process, Spark stays up "
        f"between runs (log: {log_path}); Ctrl-C stops"
    )
    try:
        anyio.run(serve)
    except Exception as exc:  # one readable line; the traceback with CARDLAKE_DEBUG=1
        stop_spark_and_jvm()
        fail(exc, settings)
    spark_stopped = stop_spark_and_jvm()
    console.print("worker stopped" + ("; its SparkSession and JVM stopped with it" if spark_stopped else ""))
    if abandoned_runs:
        # The abandoned run's thread (and any task threads it started) may still be inside the flow; the
        # interpreter would wait for them at exit, so leave now, with the run already reported Crashed.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(1)
