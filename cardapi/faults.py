"""Fault injection, all off by default and deterministic per `fault_seed`.

Transport faults (429, 5xx, slow, truncated body) depend on the request and on how many times that exact
request was made before, so a client that retries eventually gets the good page, and a fault-free run and a
retried faulty run see the same records. Data faults never change the good records: a duplicate repeats the
previous page's last record at the top of the next page, and malformed records are *additional* records whose
id starts with `malformed-`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

import numpy as np

from cardapi.config import SimulatorConfig
from cardapi.feeds import NEVER, Feed, Item, _BucketCache
from cardapi.jsonfmt import dumps, loads

MALFORMED_PREFIX = "malformed-"
_ENTITY_CODE = {"transactions": 1, "rewards": 2, "plu_rates": 3}


def unit(*parts: object) -> float:
    """A deterministic uniform number in [0, 1) from its parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class TransportFault:
    kind: str  # "429", "5xx", "truncated"


class FaultPlan:
    """Decides, per request, which transport faults to inject; counts attempts of each distinct request."""

    MAX_KEYS = 200_000

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._attempts: OrderedDict[tuple, int] = OrderedDict()
        self._lock = Lock()

    def _attempt(self, key: tuple) -> int:
        with self._lock:
            n = self._attempts.get(key, 0)
            self._attempts[key] = n + 1
            self._attempts.move_to_end(key)
            while len(self._attempts) > self.MAX_KEYS:
                self._attempts.popitem(last=False)
            return n

    def transport(self, key: tuple) -> tuple[TransportFault | None, float]:
        """(fault or None, seconds to delay) for this attempt of the request `key`."""
        c = self.config
        if not (c.fault_429_rate or c.fault_5xx_rate or c.fault_truncated_rate or c.slow_rate):
            return None, 0.0
        n = self._attempt(key)
        delay = c.slow_seconds if unit(c.fault_seed, "slow", key, n) < c.slow_rate else 0.0
        for kind, rate in (("429", c.fault_429_rate), ("5xx", c.fault_5xx_rate), ("truncated", c.fault_truncated_rate)):
            if unit(c.fault_seed, kind, key, n) < rate:
                return TransportFault(kind), delay
        return None, delay

    def duplicate(self, key: tuple) -> bool:
        return unit(self.config.fault_seed, "duplicate", key) < self.config.fault_duplicate_rate


def _damage(record: dict, entity: str, kind: int) -> dict:
    if entity == "transactions":
        damages = [
            lambda r: r.pop("amount", None),
            lambda r: r.update(amount="abc"),
            lambda r: r.update(amount="-" + str(r["amount"]).lstrip("-"), isDebit=False),
            lambda r: r.update(amount=10**13),
            lambda r: r.update(currency="XYZ"),
            lambda r: r.update(date="2025-13-45T99:99:99Z"),
            lambda r: r.update(isDebit="yes"),
            lambda r: r.pop("card", None),
        ]
    elif entity == "rewards":
        damages = [
            lambda r: r.update(amount="abc"),
            lambda r: r.update(fiatAmountRewarded=-abs(int(r["fiatAmountRewarded"] or 100))),
            lambda r: r.update(fiatAmountRewarded=10**13),
            lambda r: r.update(fiatCurrency="XYZ"),
            lambda r: r.update(createdAt="not-a-date"),
            lambda r: r.pop("status", None),
        ]
    else:
        damages = [
            lambda r: r.update(price="abc"),
            lambda r: r.update(price=-abs(float(r["price"]))),
            lambda r: r.pop("price", None),
            lambda r: r.update(currency="XYZ"),
            lambda r: r.update(timestamp="2025-02-30T25:00:00Z"),
        ]
    damages[kind % len(damages)](record)
    return record


class MalformedFeed:
    """A feed plus malformed records (about `rate` x the bucket size per bucket), each with its own id."""

    def __init__(self, feed: Feed, config: SimulatorConfig) -> None:
        self.name = feed.name
        self._feed = feed
        self._rate = config.malformed_rate
        self._seed = config.fault_seed
        self._cache: _BucketCache[list[Item]] = _BucketCache(32)

    def day_span(self) -> tuple[int, int]:
        return self._feed.day_span()

    def bucket(self, day: int) -> list[Item]:
        return self._cache.get(day, self._build)

    def _build(self, day: int) -> list[Item]:
        good = self._feed.bucket(day)
        if not good:
            return good
        rng = np.random.default_rng([self._seed, day, _ENTITY_CODE.get(self.name, 0), 0xBAD])
        bad = []
        for _ in range(rng.binomial(len(good), self._rate)):
            template = good[int(rng.integers(0, len(good)))]
            record = loads(template.body)
            bad_id = MALFORMED_PREFIX + rng.bytes(11).hex()
            record["id"] = bad_id
            bad.append(Item(template.t, bad_id, NEVER, dumps(_damage(record, self.name, int(rng.integers(0, 64))))))
        return sorted([*good, *bad], key=lambda it: (it.t, it.id))
