"""Card transactions, produced one *origin day* at a time (the ledger behind /transactions and /v3/rewards).

A ledger day `g` (days since the epoch) holds the transactions dated on `g` plus the refunds of those
transactions (dated up to REFUND_MAX_DAYS later). Everything a day holds is drawn from an RNG seeded with
(seed, g, stream), so any day can be regenerated alone, in any order, byte for byte.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date
from threading import RLock
from typing import NamedTuple, Protocol

import numpy as np

from cardapi.jsonfmt import DAY, HOUR, iso
from cardapi.reference import (
    BOOST_VALUES,
    CATEGORIES,
    DOW_WEIGHTS,
    FRAUD_AM_SHARE,
    FRAUD_DAYPART_CDF,
    FRAUD_EPISODE_WINDOW,
    FRAUD_SHARE,
    MCC,
    MEAN_EPISODE_SIZE,
    MONTH_WEIGHTS,
    REFUND_CATEGORIES,
    TRANSACTIONS_PER_CARD_DAY,
    categories_and_mornings,
    sample_fraud_amounts,
    sample_hours,
    sample_legit_amounts,
)
from cardapi.universe import Universe, build_universe, stable_hex

REFUND_MAX_DAYS = 20
PERK_KINDS = 6  # perks are numbered: referenceType perk_1_reward .. perk_6_reward
REFUND_CATEGORY_INDEX = [CATEGORIES.index(c) for c in sorted(REFUND_CATEGORIES)]
POSTING_MAX_SECONDS = 70 * HOUR


# The v3 statement record (`GET /v3/statement/list`, contracts.plutus_v3), formatted directly (merchant and card
# parts pre-serialised): several times faster than a dict through a JSON encoder, and it runs for every generated
# transaction. Ids are hex, times fixed-format, the amount major units as text ("49.97") as the real API sends it.
_TXN = (
    '{"id":"%s","date":"%s","type":"%s","amount":"%d.%02d","currency":"GBP","isDebit":%s,"status":null,'
    '"totalPluAmount":null,%s,%s,"merchant":%s,'
    '"lat":%r,"long":%r},"isFraud":%s,"originalTransactionId":%s,"createdAt":"%s","updatedAt":"%s"}'
)


class Txn(NamedTuple):
    id: str
    ts: int  # transaction time (the record's `date`)
    updated: int  # when it appears in the statement (createdAt = updatedAt)
    amount: int  # minor units
    rate: float  # the card plan's reward rate, percent
    refund: bool
    fraud: bool
    refunded: bool  # a later refund references this transaction
    card: str  # card key (for perks/boosts and tests)
    body: bytes
    merchant_name: str = ""  # the merchant as the statement names it: the reward's transactionDescription
    mcc: str | None = None


@dataclass
class LedgerDay:
    txns: list[Txn]
    by_update_day: dict[int, list[Txn]] = field(default_factory=dict)

    @classmethod
    def of(cls, txns: list[Txn]) -> LedgerDay:
        groups: dict[int, list[Txn]] = defaultdict(list)
        for t in txns:
            groups[t.updated // DAY].append(t)
        return cls(txns, dict(groups))


class Extra(NamedTuple):
    """A reward with no card transaction behind it: a perk (`referenceType` perk_<n>_reward) or a bonus."""

    id: str
    created: int
    type: str
    fiat: int  # the value rewarded, minor units (the PLU amount follows from it)
    reference_type: str
    fiat_shown: bool  # whether the record carries the value (a bonus's fiatAmountRewarded is null)


class Ledger(Protocol):
    first_day: int  # first ledger day with data
    end_day: int  # exclusive
    update_lag_days: int  # a day's records have updatedAt within [g, g + lag]
    reward_lag_days: int  # a day's rewards are created within [g, g + lag]
    seed: int

    def day(self, g: int) -> LedgerDay: ...

    def extras(self, g: int) -> list[Extra]: ...


class DayCache:
    """Bounded LRU of generated ledger days, shared by the feeds of one server."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[object, object] = OrderedDict()
        self._lock = RLock()

    def get(self, key: object, build) -> object:  # noqa: ANN001
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = build()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)
        return value


class SyntheticLedger:
    """Sparkov-like transactions for `n_cards` cards between `start` and `end` (exclusive)."""

    update_lag_days = REFUND_MAX_DAYS + POSTING_MAX_SECONDS // DAY + 1
    reward_lag_days = 7

    def __init__(self, seed: int, n_cards: int, start: date, end: date, far_share: float, cache_size: int = 64) -> None:
        self.seed = seed
        self.first_day = start.toordinal() - date(1970, 1, 1).toordinal()
        self.end_day = end.toordinal() - date(1970, 1, 1).toordinal()
        self.far_share = far_share
        self.universe: Universe = build_universe(seed, n_cards, start)
        self._cache = DayCache(cache_size)
        # episodes per card-day so that fraud is ~FRAUD_SHARE of all transactions
        self._episode_p = FRAUD_SHARE * TRANSACTIONS_PER_CARD_DAY / MEAN_EPISODE_SIZE / (1 - FRAUD_SHARE)

    def day(self, g: int) -> LedgerDay:
        return self._cache.get(("day", g), lambda: self._build_day(g))  # type: ignore[return-value]

    # ---- generation ------------------------------------------------------------------------------------

    def _build_day(self, g: int) -> LedgerDay:
        if not self.first_day <= g < self.end_day:
            return LedgerDay.of([])
        u = self.universe
        rng = np.random.default_rng([self.seed, g, 1])
        d = date.fromordinal(date(1970, 1, 1).toordinal() + g)
        lam = TRANSACTIONS_PER_CARD_DAY * DOW_WEIGHTS[d.weekday()] * MONTH_WEIGHTS[d.month - 1] * u.card_activity
        cards = np.repeat(np.arange(u.n_cards), rng.poisson(lam))
        n = len(cards)
        holders = u.card_holder[cards]
        cats, mornings = categories_and_mornings(
            rng.random(n), u.holder_category_cdf[holders], u.holder_am_share[holders]
        )
        ts = g * DAY + sample_hours(rng, mornings, fraud=False) * HOUR + rng.integers(0, HOUR, n)
        amounts = sample_legit_amounts(rng, cats)
        lat = u.holder_lat[holders] + rng.uniform(-1, 1, n)
        long = u.holder_long[holders] + rng.uniform(-1, 1, n)
        picks = rng.random(n)
        ids = rng.bytes(16 * n).hex()
        posting = self._posting_delays(rng, n)
        refund_draw = rng.random(n)
        refund_delay = rng.integers(DAY, REFUND_MAX_DAYS * DAY, n)
        refund_posting = self._posting_delays(rng, n)

        txns: list[Txn] = []
        end_ts = self.end_day * DAY
        refund_p = np.where(np.isin(cats, REFUND_CATEGORY_INDEX), 0.02, 0.004)
        refund_ts = ts + refund_delay
        refunded = (refund_draw < refund_p) & (refund_ts < end_ts)
        # plain Python lists: indexing numpy scalars in the loop costs more than the loop body
        rows = zip(
            cards.tolist(),
            cats.tolist(),
            np.round(lat, 6).tolist(),
            np.round(long, 6).tolist(),
            picks.tolist(),
            amounts.tolist(),
            ts.tolist(),
            (ts + posting).tolist(),
            refunded.tolist(),
            refund_ts.tolist(),
            (refund_ts + refund_posting).tolist(),
            strict=True,
        )
        for i, (card, cat, la, lo, pick, amount, t, posted, was_refunded, r_ts, r_posted) in enumerate(rows):
            tid = ids[32 * i : 32 * i + 32]
            args = (card, cat, la, lo, pick, amount, False)
            txns.append(self._txn(tid, t, posted, *args, refunded=was_refunded))
            if was_refunded:
                rid = stable_hex(self.seed, "refund", tid)
                txns.append(self._txn(rid, r_ts, r_posted, *args, refund_of=tid, refunded=False))
        for episode_day in (g - 2, g - 1, g):
            txns.extend(t for t in self._episode(episode_day) if t.ts // DAY == g)
        return LedgerDay.of(txns)

    @staticmethod
    def _posting_delays(rng: np.random.Generator, n: int) -> np.ndarray:
        """Statement posting delay: minutes to ~3 days, median ~10 hours."""
        return np.clip(rng.lognormal(np.log(10 * HOUR), 1.0, n), 60, POSTING_MAX_SECONDS).astype(np.int64)

    def _episode(self, g: int) -> list[Txn]:
        """Fraud bursts that start on day g: 2-19 transactions on one card within 48 hours, mostly at night."""
        if not self.first_day <= g < self.end_day:
            return []
        return self._cache.get(("fraud", g), lambda: self._build_episode(g))  # type: ignore[return-value]

    def _build_episode(self, g: int) -> list[Txn]:
        u = self.universe
        rng = np.random.default_rng([self.seed, g, 2])
        n_episodes = rng.binomial(u.n_cards, self._episode_p)
        cards = rng.choice(u.n_cards, n_episodes, replace=False)
        end_ts = self.end_day * DAY
        out: list[Txn] = []
        for card in cards:
            k = int(rng.integers(2, 20))
            cats, mornings = categories_and_mornings(rng.random(k), FRAUD_DAYPART_CDF, np.full(k, FRAUD_AM_SHARE))
            hours = sample_hours(rng, mornings, fraud=True)
            # the first one starts the burst on day g; each other is on one of the next days, within the window
            times = [g * DAY + int(hours[0]) * HOUR + int(rng.integers(0, HOUR))]
            for hour in hours[1:].tolist():
                while True:
                    cand = (g + int(rng.integers(0, 3))) * DAY + hour * HOUR + int(rng.integers(0, HOUR))
                    if times[0] < cand < times[0] + FRAUD_EPISODE_WINDOW:
                        times.append(cand)
                        break
            order = np.argsort(times, kind="stable")
            times = [times[i] for i in order]
            cats = cats[order]
            amounts = sample_fraud_amounts(rng, cats)
            holder = u.card_holder[card]
            far = rng.random() < self.far_share
            # far from home: a merchant region 3-10 degrees away from the cardholder (the burst stays there)
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(3, 10)
            base_lat = u.holder_lat[holder] + (np.clip(dist * np.sin(angle), -20, 20) if far else 0.0)
            base_long = u.holder_long[holder] + (dist * np.cos(angle) if far else 0.0)
            for j in range(k):
                if times[j] >= end_ts:
                    continue
                lat = round(float(np.clip(base_lat + rng.uniform(-1, 1), -89, 89)), 6)
                long = round(float(base_long + rng.uniform(-1, 1)), 6)
                tid = rng.bytes(16).hex()
                posting = int(self._posting_delays(rng, 1)[0])
                args = (int(card), int(cats[j]), lat, long, float(rng.random()), int(amounts[j]), True)
                out.append(self._txn(tid, times[j], times[j] + posting, *args, refunded=False))
        return out

    def _txn(
        self,
        tid: str,
        ts: int,
        updated: int,
        card: int,
        cat: int,
        lat: float,
        long: float,
        pick: float,
        amount: int,
        fraud: bool,
        *,
        refunded: bool,
        refund_of: str | None = None,
    ) -> Txn:
        u = self.universe
        pool = u.merchants_by_category[cat]
        merchant = u.merchant_json[pool[int(pick * len(pool))]]
        posted = iso(updated)
        body = _TXN % (
            tid,
            iso(ts),
            "CARD_REFUND" if refund_of else "CARD_SETTLEMENT",
            *divmod(amount, 100),
            "false" if refund_of else "true",
            merchant[0],
            u.card_json[card],
            merchant[1],
            lat,
            long,
            "true" if fraud else "false",
            f'"{refund_of}"' if refund_of else "null",
            posted,
            posted,
        )
        rate = u.card_rate_list[card]
        m = u.merchants[pool[int(pick * len(pool))]]
        return Txn(
            tid,
            ts,
            updated,
            amount,
            rate,
            refund_of is not None,
            fraud,
            refunded,
            str(card),
            body.encode(),
            m.name,
            MCC[CATEGORIES[m.category]],
        )

    # ---- rewards without a transaction ---------------------------------------------------------------

    def extras(self, g: int) -> list[Extra]:
        """Perk rewards (monthly, on the card's perk day; rate 0) and occasional bonuses created on day g."""
        if not self.first_day <= g < self.end_day:
            return []
        u = self.universe
        rng = np.random.default_rng([self.seed, g, 3])
        dom = date.fromordinal(date(1970, 1, 1).toordinal() + g).day
        out = []
        for card in np.flatnonzero(u.card_perk_day == dom):
            created = g * DAY + int(rng.integers(6 * HOUR, 20 * HOUR))
            out.append(
                Extra(
                    f"rw_{stable_hex(self.seed, 'perk', card, g, size=12)}",
                    created,
                    "DAILY_REBATE_DISTRIBUTION",
                    int(u.card_perk_value[card]),
                    f"perk_{1 + int(card) % PERK_KINDS}_reward",
                    True,
                )
            )
        for card in np.flatnonzero(rng.random(u.n_cards) < 0.001):
            created = g * DAY + int(rng.integers(0, DAY))
            value = int(BOOST_VALUES[int(rng.integers(0, len(BOOST_VALUES)))])
            rid = f"rw_{stable_hex(self.seed, 'boost', card, g, size=12)}"
            out.append(Extra(rid, created, "REBATE_BONUS", value, "manual", False))
        return out
