"""Feeds: the records of one entity grouped in buckets by the UTC day of their `updatedAt`.

An item is `(t, id, cutoff, body)`: t = updatedAt (epoch s), body = the serialised record. A window [a, b)
serves an item when a <= t < b and b <= cutoff. `cutoff` expresses "latest state as of the window end": a
pending reward's item has cutoff = its approval time, so a window that ends after the approval serves only
the approved state (in the window holding the approval time). Consecutive windows [a,b), [b,c) therefore
pick up every state change exactly once, and the latest state always sits in the window of its updatedAt.
"""

from __future__ import annotations

import string
from collections import OrderedDict
from collections.abc import Callable
from threading import RLock
from typing import Generic, NamedTuple, Protocol, TypeVar

import numpy as np

from cardapi.jsonfmt import DAY, HOUR, dumps, iso
from cardapi.ledger import Ledger
from cardapi.rates import PluRates
from cardapi.universe import stable_hex

NEVER = 2**62
APPROVAL_DELAY = 45 * DAY
REJECT_SHARE = 0.015
PARTIAL_SHARE = 0.02  # rebates followed by a partial reward (referenceType fiat_partial) for part of the amount
PARTIAL_DELAY = 3 * HOUR


class Item(NamedTuple):
    t: int
    id: str
    cutoff: int
    body: bytes


class Feed(Protocol):
    name: str

    def day_span(self) -> tuple[int, int]:
        """First and last (inclusive) updatedAt day that can hold items."""
        ...

    def bucket(self, day: int) -> list[Item]:
        """Items whose t falls on `day`, sorted by (t, id)."""
        ...


_V = TypeVar("_V")


class _BucketCache(Generic[_V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[int, _V] = OrderedDict()
        self._lock = RLock()

    def get(self, day: int, build: Callable[[int], _V]) -> _V:
        with self._lock:
            if day in self._data:
                self._data.move_to_end(day)
                return self._data[day]
        value = build(day)
        with self._lock:
            self._data[day] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)
        return value


class TransactionFeed:
    name = "transactions"

    def __init__(self, ledger: Ledger, cache_size: int = 32) -> None:
        self.ledger = ledger
        self._cache: _BucketCache[list[Item]] = _BucketCache(cache_size)

    def day_span(self) -> tuple[int, int]:
        return self.ledger.first_day, self.ledger.end_day - 1 + self.ledger.update_lag_days

    def bucket(self, day: int) -> list[Item]:
        return self._cache.get(day, self._build)

    def _build(self, day: int) -> list[Item]:
        items = []
        for g in range(day - self.ledger.update_lag_days, day + 1):
            for t in self.ledger.day(g).by_update_day.get(day, ()):
                items.append(Item(t.updated, t.id, NEVER, t.body))
        items.sort(key=lambda it: (it.t, it.id))
        return items


class RewardFeed:
    """One rebate per settled card transaction, some partial rewards, perks and bonuses (v3 reward records).

    Each reward is pending at creation and approved (or rejected) 45 days later. Rebates reference their card
    transaction (`referenceType` contis_transactions); a partial reward (`fiat_partial`) references its parent
    reward, not the transaction; perks are rate-0 rewards whose `referenceType` is perk_<n>_reward; a bonus
    (`REBATE_BONUS`, `manual`) carries no fiat value.
    """

    name = "rewards"

    def __init__(self, ledger: Ledger, rates: PluRates, cache_size: int = 32, day_cache_size: int = 64) -> None:
        self.ledger = ledger
        self.rates = rates
        self._cache: _BucketCache[list[Item]] = _BucketCache(cache_size)
        # A sequential extraction needs each origin day's events twice, ~45 days apart (pending, then decided),
        # and inserts two origin days per served day meanwhile: hold ~two approval periods or rebuild them.
        lag = ledger.reward_lag_days
        self._events: _BucketCache[dict[int, list[Item]]] = _BucketCache(
            max(day_cache_size, 2 * (APPROVAL_DELAY // DAY + lag) + 8)
        )

    def day_span(self) -> tuple[int, int]:
        lag = self.ledger.reward_lag_days
        return self.ledger.first_day, self.ledger.end_day - 1 + lag + APPROVAL_DELAY // DAY

    def bucket(self, day: int) -> list[Item]:
        return self._cache.get(day, self._build)

    def _build(self, day: int) -> list[Item]:
        lag = self.ledger.reward_lag_days
        back = APPROVAL_DELAY // DAY
        # (a partial reward follows its parent by PARTIAL_DELAY, still within the ledger's reward lag)
        origins = [*range(day - back - lag, day - back + 1), *range(day - lag, day + 1)]
        items = [it for g in origins for it in self._events.get(g, self._day_events).get(day, ())]
        items.sort(key=lambda it: (it.t, it.id))
        return items

    def _day_events(self, g: int) -> dict[int, list[Item]]:
        """Both states (pending, then final) of every reward created from ledger day g, by updatedAt day."""
        txns = [t for t in self.ledger.day(g).txns if not t.refund]
        rng = np.random.default_rng([self.ledger.seed, g, 4])
        delays = np.clip(rng.lognormal(np.log(30 * HOUR), 0.8, len(txns)), 2 * HOUR, 5 * DAY).astype(np.int64)
        rejects = (rng.random(len(txns)) < REJECT_SHARE).tolist()
        ids = rng.bytes(12 * len(txns)).hex()
        partials = (rng.random(len(txns)) < PARTIAL_SHARE).tolist()
        out: dict[int, list[Item]] = {}
        price_at = self.rates.price_at
        for i, (t, delay) in enumerate(zip(txns, delays.tolist(), strict=True)):
            created = t.ts + delay
            plu = round(t.amount / 100 * t.rate / 100 / price_at(created), 8)
            final = "rejected" if (t.fraud or t.refunded or rejects[i]) else "approved"
            rid = f"rw_{ids[24 * i : 24 * i + 24]}"
            rate = repr(t.rate)
            merchant, mcc = _json_str(t.merchant_name or None), _json_str(t.mcc)
            refs = (_json_str(t.id), '"contis_transactions"', _json_str(t.id), merchant, mcc)
            _add_states(out, rid, plu, str(t.amount), "DAILY_REBATE_DISTRIBUTION", rate, refs, created, final)
            if partials[i]:
                # a second, partial reward for part of the same payment: it points at the first reward
                part = t.amount // 2
                p_created = created + PARTIAL_DELAY
                p_plu = round(part / 100 * t.rate / 100 / price_at(p_created), 8)
                p_refs = ("null", '"fiat_partial"', _json_str(rid), merchant, mcc)
                pid = f"rw_{stable_hex(self.ledger.seed, 'partial', rid, size=12)}"
                _add_states(out, pid, p_plu, str(part), "DAILY_REBATE_DISTRIBUTION", rate, p_refs, p_created, final)
        for extra in self.ledger.extras(g):
            plu = round(extra.fiat / 100 / price_at(extra.created), 8)
            fiat = str(extra.fiat) if extra.fiat_shown else "null"
            # perks are rate 0 (the value is the reward); a bonus has neither a rate nor a fiat value
            rate = "0.0" if extra.reference_type.startswith("perk_") else "null"
            refs = ("null", _json_str(extra.reference_type), "null", "null", "null")
            _add_states(out, extra.id, plu, fiat, extra.type, rate, refs, extra.created, "approved")
        return out


# Rewards are flat records of numbers and plain ids: formatting them directly is several times faster than
# building a dict and serialising it, and this runs for every reward state. The shape is the v3 reward record
# (`GET /v3/rewards/list`, contracts.plutus_v3): the PLU amount as text with eight decimals.
_REWARD = (
    '{"id":%s,"ticker":"PLU","amount":"%.8f","fiatAmountRewarded":%s,"fiatCurrency":"GBP","status":"%s",'
    '"type":"%s","rewardRate":%s,"transactionOriginalId":%s,"referenceType":%s,"referenceId":%s,'
    '"transactionDescription":%s,"mcc":%s,"createdAt":"%s","updatedAt":"%s"}'
)
_PLAIN = frozenset(string.ascii_letters + string.digits + "_-")


def _json_str(value: str | None) -> str:
    if value is None:
        return "null"
    return f'"{value}"' if _PLAIN.issuperset(value) else dumps(value).decode()


def _add_states(
    out: dict[int, list[Item]],
    rid: str,
    plu: float,
    fiat: str,
    kind: str,
    rate: str,
    refs: tuple[str, str, str, str, str],
    created: int,
    final: str,
) -> None:
    """Append the pending state (served until the decision) and the final state 45 days later.

    `fiat`, `rate` and `refs` (transactionOriginalId, referenceType, referenceId, transactionDescription, mcc)
    are JSON text already.
    """
    decided = created + APPROVAL_DELAY
    created_iso = iso(created)
    head = (_json_str(rid), plu, fiat)
    tail = (kind, rate, *refs, created_iso)
    pending = (_REWARD % (*head, "pending", *tail, created_iso)).encode()
    final_body = (_REWARD % (*head, final, *tail, iso(decided))).encode()
    out.setdefault(created // DAY, []).append(Item(created, rid, decided, pending))
    out.setdefault(decided // DAY, []).append(Item(decided, rid, NEVER, final_body))


class RateFeed:
    name = "plu_rates"

    def __init__(self, rates: PluRates) -> None:
        self.rates = rates

    def day_span(self) -> tuple[int, int]:
        return self.rates.origin // DAY, (self.rates.end - 1) // DAY

    def bucket(self, day: int) -> list[Item]:
        items = []
        for h in range(24):
            ts = day * DAY + h * HOUR
            if self.rates.origin <= ts < self.rates.end:
                body = dumps(
                    {"timestamp": iso(ts), "ticker": "PLU", "currency": "GBP", "price": self.rates.price_at(ts)}
                )
                items.append(Item(ts, "", NEVER, body))
        return items
