"""Bounded exponential backoff with full jitter (delay drawn uniformly from [0, min(cap, base * 2**n)])."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # tries per request, the first included
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total_seconds: float = 300.0  # from the first try of a request to the last
    max_retry_after: float = 120.0  # a Retry-After larger than this is treated as this


@dataclass
class Backoff:
    """The retry state of one request."""

    policy: RetryPolicy
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = self.clock()

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """Record a failed try; the delay before the next one, or None when the budget is spent."""
        self.attempts += 1
        if self.attempts >= self.policy.max_attempts:
            return None
        jitter = self.rng.uniform(0, min(self.policy.max_delay, self.policy.base_delay * 2 ** (self.attempts - 1)))
        delay = jitter if retry_after is None else max(min(retry_after, self.policy.max_retry_after), jitter)
        if self.clock() - self.started + delay > self.policy.max_total_seconds:
            return None
        return delay

    def wait(self, delay: float) -> None:
        self.sleep(delay)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
