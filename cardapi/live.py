"""Live mode of the simulator: statement records that appear as the wall clock passes (docs/stream.md).

Record k of the live sequence becomes visible at `started_at + k / rate` (epoch seconds). Its content is the
k-th transaction of the simulator's ledger (generated Sparkov-like data, or the rows of a Kaggle-format file
replayed in time order: a replay compressed to `rate` records per second), walked day by day from the ledger's
first day and cycled; its times are restamped: `date` = `createdAt` = `updatedAt` = the second it became
visible. Ids are derived from (seed, cycle, ledger id), so every record is new and a refund still names its
purchase.

The records are served through the same `GET /v3/statement/list` paging as the historical data: a window
[from, to) on updatedAt, ordered by (updatedAt, id), paged by limit and page. A record is served once it is
visible, so a window that ends at or before the current second holds the same records on every request (its
pages are stable, the extraction client's watermark semantics hold); a window reaching past now grows as time
passes. Nothing is kept but a per-day count index: pages are regenerated from the ledger on demand.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from threading import RLock
from typing import Any, NamedTuple, Protocol

import orjson

from cardapi.feeds import TransactionFeed
from cardapi.jsonfmt import iso
from cardapi.ledger import Ledger, Txn
from cardapi.source import Simulator
from cardapi.universe import stable_hex

Clock = Callable[[], float]


class LiveItem(NamedTuple):
    t: int  # the second it became visible: its createdAt/updatedAt
    id: str
    body: bytes


class SlicePager(Protocol):
    """What the app pages over: the historical `cardapi.paging.Pager` and `LiveTransactions` alike."""

    def slice(self, a: int, b: int, offset: int, limit: int) -> list[Any]: ...


class LiveTransactions:
    """The live statement: `rate` records per second from `started_at` on."""

    SORTED_DAYS = 16  # ledger days kept sorted in memory (a day is a few hundred records per 1000 cards)

    def __init__(self, ledger: Ledger, rate: float, started_at: float | None = None, clock: Clock = time.time) -> None:
        if not rate > 0:
            raise ValueError(f"the live rate must be positive, got {rate}")
        if ledger.end_day <= ledger.first_day:
            raise ValueError("the ledger behind the live mode holds no days")
        self.ledger = ledger
        self.rate = float(rate)
        self.clock = clock
        self.started_at = float(clock() if started_at is None else started_at)
        self._days = ledger.end_day - ledger.first_day
        self._starts: list[int] = [0]  # _starts[j]: index of the first record of sequence day j (j = cycle * days + d)
        self._sorted: OrderedDict[int, list[Txn]] = OrderedDict()
        self._lock = RLock()

    # -- time <-> index -------------------------------------------------------------------------------------
    def visible_at(self, k: int) -> float:
        """When record k becomes visible (epoch seconds)."""
        return self.started_at + k / self.rate

    def second_of(self, k: int) -> int:
        return math.floor(self.visible_at(k))

    def _first_index_at_or_after(self, second: int) -> int:
        """The smallest k whose visible second is >= `second` (exact despite float rounding)."""
        k = max(0, math.ceil((second - self.started_at) * self.rate) - 1)
        while self.second_of(k) >= second and k > 0:
            k -= 1
        while self.second_of(k) < second:
            k += 1
        return k

    def visible_count(self, now: float | None = None) -> int:
        """How many records are visible at `now` (default: the clock)."""
        now = self.clock() if now is None else now
        if now < self.started_at:
            return 0
        k = math.floor((now - self.started_at) * self.rate) + 1
        while k > 0 and self.visible_at(k - 1) > now:
            k -= 1
        while self.visible_at(k) <= now:
            k += 1
        return k

    # -- content --------------------------------------------------------------------------------------------
    def _day_txns(self, j: int) -> list[Txn]:
        with self._lock:
            found = self._sorted.get(j % self._days)
            if found is not None:
                self._sorted.move_to_end(j % self._days)
                return found
        txns = sorted(self.ledger.day(self.ledger.first_day + j % self._days).txns, key=lambda t: (t.ts, t.id))
        with self._lock:
            self._sorted[j % self._days] = txns
            while len(self._sorted) > self.SORTED_DAYS:
                self._sorted.popitem(last=False)
        return txns

    def _locate(self, k: int) -> tuple[int, int]:
        """(sequence day j, position in that day) of record k, extending the day index as needed."""
        with self._lock:
            while self._starts[-1] <= k:
                j = len(self._starts) - 1
                if j >= self._days and self._starts[-1] == self._starts[-1 - self._days]:
                    raise ValueError("the ledger behind the live mode holds no transactions")
                self._starts.append(self._starts[-1] + len(self._day_txns(j)))
            j = bisect_right(self._starts, k) - 1
            return j, k - self._starts[j]

    def live_id(self, cycle: int, ledger_id: str) -> str:
        return stable_hex(self.ledger.seed, "live", cycle, ledger_id)

    def record(self, k: int) -> LiveItem:
        """Record k as the API serves it."""
        j, position = self._locate(k)
        txn = self._day_txns(j)[position]
        cycle = j // self._days
        second = self.second_of(k)
        body = orjson.loads(txn.body)
        stamp = iso(second)
        body["id"] = self.live_id(cycle, txn.id)
        body["date"] = body["createdAt"] = body["updatedAt"] = stamp
        if body.get("originalTransactionId"):
            body["originalTransactionId"] = self.live_id(cycle, body["originalTransactionId"])
        return LiveItem(second, body["id"], orjson.dumps(body))

    # -- paging ---------------------------------------------------------------------------------------------
    def bucket(self, second: int, now: float) -> list[LiveItem]:
        """The records of one visible second that are visible at `now`, in id order."""
        lo = self._first_index_at_or_after(second)
        hi = min(self._first_index_at_or_after(second + 1), self.visible_count(now))
        return sorted((self.record(k) for k in range(lo, hi)), key=lambda item: item.id)

    def _seconds(self, a: int, b: int, now: float) -> range:
        first = max(a, math.floor(self.started_at))
        last = min(b - 1, math.floor(now))
        return range(first, last + 1)

    def _count(self, second: int, now: float) -> int:
        lo = self._first_index_at_or_after(second)
        return max(0, min(self._first_index_at_or_after(second + 1), self.visible_count(now)) - lo)

    def slice(self, a: int, b: int, offset: int, limit: int) -> list[LiveItem]:
        """Items [offset, offset + limit) of window [a, b) visible now, in (updatedAt, id) order."""
        if b <= a or limit <= 0:
            return []
        now = self.clock()
        out: list[LiveItem] = []
        for second in self._seconds(a, b, now):
            count = self._count(second, now)  # arithmetic: skipping whole seconds builds nothing
            if offset >= count:
                offset -= count
                continue
            items = self.bucket(second, now)
            out.extend(items[offset : offset + limit - len(out)])
            offset = 0
            if len(out) >= limit:
                break
        return out

    def iterate(self, a: int, b: int) -> Iterator[LiveItem]:
        """Every record of window [a, b) visible now, in order (tests compare pages with it)."""
        now = self.clock()
        for second in self._seconds(a, b, now):
            yield from self.bucket(second, now)


def live_transactions(
    sim: Simulator, rate: float, started_at: float | None = None, clock: Clock = time.time
) -> LiveTransactions:
    """The live statement over a simulator's ledger (generated data or a Kaggle replay)."""
    feed = sim.feeds["transactions"]
    if not isinstance(feed, TransactionFeed):
        raise ValueError(
            "live mode needs generated data or a Kaggle replay (not a Plutus export, nor malformed-record injection)"
        )
    return LiveTransactions(feed.ledger, rate, started_at, clock)
