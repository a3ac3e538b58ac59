"""The stream flow: a long-running Prefect flow that keeps the streaming path warm (docs/stream.md).

It polls the card API every few seconds from the transactions watermark and lands each new window as the
landing contract says; the Spark stream (`spark_jobs.jobs.stream`: one long-lived SparkSession locally, an EMR
Serverless job run in STREAMING mode in production) picks the manifests up. `prefect.yaml` deploys it.

In production the EMR driver exports each micro-batch's alerts to the lake; `stream_load_alerts`, a short flow
run every minute, upserts the exports not loaded yet into the warehouse, oldest first (docs/adr/0018).
"""

from __future__ import annotations

import threading

from prefect import flow, get_run_logger

from cardlake.config import resolve_config
from cardlake.stream_load import load_stream_exports
from cardlake.stream_poller import Poll, poll_until
from cardlake.warehouse import get_warehouse
from contracts import lake, names


@flow(name=names.STREAM_FLOW)
def stream_poll(poll_seconds: float = 2.0, settle_seconds: float = 1.0, max_polls: int | None = None) -> int:
    """Poll until cancelled (or for `max_polls` polls); returns the transactions landed."""
    config = resolve_config(with_pan_key=False)
    log = get_run_logger()

    def report(poll: Poll) -> None:
        if poll.failure is not None:
            log.warning("poll failed, the next one asks for %s again: %s", poll.window, poll.failure)
        elif poll.window is not None and poll.records:
            log.info("landed %d transaction(s) for %s", poll.records, poll.window)

    return poll_until(
        config,
        threading.Event(),
        poll_seconds=poll_seconds,
        settle_seconds=settle_seconds,
        max_polls=max_polls,
        on_poll=report,
    )


@flow(name=names.STREAM_LOAD_FLOW)
def stream_load_alerts() -> int:
    """Upsert the stream's pending micro-batch alert exports into the warehouse; returns the alert rows."""
    config = resolve_config(with_pan_key=False)
    log = get_run_logger()
    with get_warehouse(config.warehouse) as warehouse:
        warehouse.ensure_schema()
        loaded = load_stream_exports(warehouse, lake.stream_exports_root(config.settings.lake_root))
    for uri, rows in loaded:
        log.info("upserted %d alert(s) from %s", rows, uri)
    return sum(rows for _, rows in loaded)
