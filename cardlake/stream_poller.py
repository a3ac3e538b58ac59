"""The stream's extraction side: poll the card API every few seconds from the watermark and land what appeared.

Each poll lands one window [watermark, now - settle) exactly as the landing contract says (pages, then the
manifest, then the watermark: ADR 0005), through the batch's own `Extractor`, so the Spark stream and the
nightly batch read the same pages. The window ends `settle_seconds` before now, at a whole second: a statement
window that has passed no longer changes (docs/stream.md), so nothing that appears later can be skipped.

A poll that fails for a passing reason (429s and 5xx past the retries, the API unreachable) leaves the watermark
where it was: the next poll asks for the same window again, grown by the seconds that passed. Pages the failed
poll wrote are named by no manifest, so nothing reads them (ADR 0005: a manifest is what makes pages count).
One bad minute of the API never ends the stream; a permanent error (refused credentials, a 4xx) still does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cardlake.config import PipelineConfig
from cardlake.landing import get_landing_zone
from cardlake.source.client import CardApiClient
from cardlake.source.errors import ApiUnreachableError, TransientApiError
from cardlake.source.extraction import Extractor, advance_watermark, read_watermark
from cardlake.source.retry import RetryPolicy
from contracts.landing import Window

# A poll gives up sooner than a batch request (8 tries over up to 5 minutes): the next poll is seconds away, and
# a poll stuck in back-off holds back every transaction behind it.
STREAM_RETRY_POLICY = RetryPolicy(max_attempts=4, max_delay=5.0, max_total_seconds=20.0)


@dataclass(frozen=True)
class Poll:
    window: Window | None  # None: nothing has passed since the watermark yet
    records: int
    pages: int
    failure: str | None = None  # why this poll landed nothing; the next one asks for the window again


def settled(now: float, settle_seconds: float) -> datetime:
    """The last whole second that has settled: windows end there."""
    return datetime.fromtimestamp(math.floor(now - settle_seconds), UTC)


def next_window(watermark: datetime, now: float, settle_seconds: float) -> Window | None:
    """[watermark, the last whole second settled), or None while that is still the watermark."""
    end = settled(now, settle_seconds)
    return Window(watermark, end) if end > watermark else None


def poll_until(
    config: PipelineConfig,
    stop: threading.Event,
    *,
    poll_seconds: float = 2.0,
    settle_seconds: float = 1.0,
    max_polls: int | None = None,
    on_poll: Callable[[Poll], None] | None = None,
    clock: Callable[[], float] = time.time,
    retry_policy: RetryPolicy = STREAM_RETRY_POLICY,
) -> int:
    """Poll until `stop` is set (or `max_polls` polls); returns the records landed."""
    settings = config.settings
    zone = get_landing_zone(config)
    source = settings.source_name
    landed = polls = 0
    with CardApiClient(config.api, rate_feed=settings.source != "card-api", policy=retry_policy) as client:
        extractor = Extractor(client, zone, source=source, page_size=settings.api_page_size)
        start_wm = read_watermark(zone, source, "transactions")
        # No watermark yet: the stream starts now (a backfill lands the past).
        watermark = start_wm if start_wm is not None else settled(clock(), settle_seconds)
        while not stop.is_set() and (max_polls is None or polls < max_polls):
            began = time.monotonic()
            window = next_window(watermark, clock(), settle_seconds)
            poll = Poll(None, 0, 0)
            if window is not None:
                try:
                    manifest = extractor.extract_window("transactions", window)
                except (TransientApiError, ApiUnreachableError) as failed:
                    poll = Poll(window, 0, 0, failure=str(failed))
                else:
                    watermark = advance_watermark(zone, source, "transactions", window)
                    poll = Poll(window, int(manifest["record_count"]), len(manifest["pages"]))
                    landed += poll.records
            polls += 1
            if on_poll is not None:
                on_poll(poll)
            stop.wait(max(0.0, poll_seconds - (time.monotonic() - began)))
    return landed
