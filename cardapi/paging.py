"""Windowed, ordered paging over a feed without materialising the window.

A page is located by walking the window's day buckets and skipping whole buckets by their (cached) served
counts, so page n of a two-year window costs one or two bucket builds, not the whole window.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from threading import RLock

from cardapi.feeds import Feed, Item
from cardapi.jsonfmt import DAY


def served(bucket: list[Item], a: int, b: int, day: int) -> list[Item]:
    """The items of a bucket that window [a, b) serves (their latest state as of b)."""
    if a <= day * DAY and (day + 1) * DAY <= b and all(it.cutoff >= b for it in bucket):
        return bucket
    return [it for it in bucket if a <= it.t < b and it.cutoff >= b]


class Pager:
    MAX_WINDOWS = 256

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self._counts: OrderedDict[tuple[int, int], dict[int, int]] = OrderedDict()
        self._lock = RLock()

    def _days(self, a: int, b: int) -> range:
        first, last = self.feed.day_span()
        return range(max(a // DAY, first), min((b - 1) // DAY, last) + 1)

    def _window_counts(self, a: int, b: int) -> dict[int, int]:
        with self._lock:
            counts = self._counts.get((a, b))
            if counts is None:
                counts = self._counts[(a, b)] = {}
                while len(self._counts) > self.MAX_WINDOWS:
                    self._counts.popitem(last=False)
            else:
                self._counts.move_to_end((a, b))
            return counts

    def slice(self, a: int, b: int, offset: int, limit: int) -> list[Item]:
        """Items [offset, offset + limit) of window [a, b) in (updatedAt, id) order."""
        if b <= a or limit <= 0:
            return []
        counts = self._window_counts(a, b)
        out: list[Item] = []
        for day in self._days(a, b):
            known = counts.get(day)
            if known is not None and offset >= known:
                offset -= known
                continue
            items = served(self.feed.bucket(day), a, b, day)
            counts[day] = len(items)
            if offset >= len(items):
                offset -= len(items)
                continue
            out.extend(items[offset : offset + limit - len(out)])
            offset = 0
            if len(out) >= limit:
                break
        return out

    def iterate(self, a: int, b: int) -> Iterator[Item]:
        """Every item of window [a, b) in order (used by `cardapi.expected`)."""
        for day in self._days(a, b):
            yield from served(self.feed.bucket(day), a, b, day)
