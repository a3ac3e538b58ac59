"""One lake writer at a time: a Prefect global concurrency limit that every run writing the Delta lake holds.

The daily pipeline, the frequent alerts, backfills, fraud training and `cardlake fraud score` all MERGE into
(or publish models beside) the same tables. `lake_writer()` takes one slot of `contracts.names.LAKE_WRITER_LIMIT`
(created with limit 1 by `cardlake blocks register`) around the write, so a second run waits for the first and
says so in its log.

A missing limit is not an error: Prefect's `concurrency(..., strict=False)` would skip it with a warning of its
own; here the absence is checked first and logged once, naming the command that creates it, and the run goes on
unlimited (as a laptop without registered blocks did before). Delta's commit protocol still refuses conflicting
commits; the limit turns them into waits instead of failed runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial

from prefect import get_client
from prefect.client.schemas.responses import GlobalConcurrencyLimitResponse
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext, TaskRunContext
from prefect.exceptions import ObjectNotFound
from prefect.logging import get_logger, get_run_logger

from contracts.names import LAKE_WRITER_LIMIT

# The lease is renewed while the writer runs; if the API is gone for longer, the slot frees after this long.
LEASE_SECONDS = 300.0


def _logger() -> logging.Logger | logging.LoggerAdapter:
    if TaskRunContext.get() or FlowRunContext.get():
        return get_run_logger()
    return get_logger("cardlake.lake_writer")


def read_limit(name: str = LAKE_WRITER_LIMIT) -> GlobalConcurrencyLimitResponse | None:
    with get_client(sync_client=True) as client:
        try:
            return client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return None


@contextmanager
def lake_writer(
    what: str, timeout_seconds: float, name: str = LAKE_WRITER_LIMIT, lease_seconds: float = LEASE_SECONDS
) -> Iterator[None]:
    """Hold one slot of the lake-writer limit while the body writes; wait (and log it) while another run holds it.

    Raises TimeoutError when the slot is not free within `timeout_seconds` (`CARDLAKE_LAKE_WRITER_TIMEOUT_S`).
    A writer killed hard keeps the slot until its lease (`CARDLAKE_LAKE_WRITER_LEASE_S`) lapses.
    """
    log = _logger()
    limit = read_limit(name)
    if limit is None:
        log.warning(
            "%s writes the lake without the one-writer limit: the global concurrency limit %r does not exist "
            "(create it with `cardlake blocks register`); concurrent lake writers are not kept apart",
            what,
            name,
        )
        yield
        return
    busy = limit.active and limit.active_slots >= limit.limit
    if busy:
        log.info(
            "%s waits for the lake: another run holds the %r limit (one lake writer at a time); waiting up to %.0f s",
            what,
            name,
            timeout_seconds,
        )
    started = time.monotonic()
    # strict: the limit was there a moment ago, so an acquisition that cannot find it is an error, not a skip.
    with concurrency(
        name, occupy=1, timeout_seconds=timeout_seconds, lease_duration=lease_seconds, strict=True,
        raise_on_lease_renewal_failure=False,
    ):  # fmt: skip
        if busy:
            log.info("%s got the lake after waiting %.1f s", what, time.monotonic() - started)
        yield


def slot_per_use(
    what: str, timeout_seconds: float, lease_seconds: float = LEASE_SECONDS, name: str = LAKE_WRITER_LIMIT
) -> Callable[[], AbstractContextManager[None]] | None:
    """For a writer that lives long but writes in short bursts (the stream's micro-batches): a slot taken afresh
    for each burst, so batch runs get the lake between them; None when the limit does not exist."""
    if read_limit(name) is None:
        return None
    return partial(lake_writer, what, timeout_seconds, name, lease_seconds)
