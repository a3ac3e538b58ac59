"""The stream's extraction side: poll the card API every few seconds from the watermark and land what appeared.

Each poll lands one window [watermark, now - settle) exactly as the landing contract says (pages, then the
manifest, then the watermark: ADR 0005), through the batch's own `Extractor`, so the Spark stream and the
nightly batch read the same pages. The window ends `settle_seconds` before now, at a whole second: a statement
window that has passed no longer changes (docs/stream.md), so nothing that appears later can be skipped.
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
from cardlake.source.extraction import Extractor, advance_watermark, read_watermark
from contracts.landing import Window


@dataclass(frozen=True)
class Poll:
    window: Window | None  # None: nothing has passed since the watermark yet
    records: int
    pages: int


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
) -> int:
    """Poll until `stop` is set (or `max_polls` polls); returns the records landed."""
    settings = config.settings
    zone = get_landing_zone(config)
    source = settings.source_name
    landed = polls = 0
    with CardApiClient(config.api, rate_feed=settings.source != "card-api") as client:
        extractor = Extractor(client, zone, source=source, page_size=settings.api_page_size)
        start_wm = read_watermark(zone, source, "transactions")
        # No watermark yet: the stream starts now (a backfill lands the past).
        watermark = start_wm if start_wm is not None else settled(clock(), settle_seconds)
        while not stop.is_set() and (max_polls is None or polls < max_polls):
            began = time.monotonic()
            window = next_window(watermark, clock(), settle_seconds)
            poll = Poll(None, 0, 0)
            if window is not None:
                manifest = extractor.extract_window("transactions", window)
                watermark = advance_watermark(zone, source, "transactions", window)
                poll = Poll(window, int(manifest["record_count"]), len(manifest["pages"]))
                landed += poll.records
            polls += 1
            if on_poll is not None:
                on_poll(poll)
            stop.wait(max(0.0, poll_seconds - (time.monotonic() - began)))
    return landed
