"""The fixed population of a synthetic data set: cardholders with profiles, their cards, and merchants.

Built once per (seed, n_cards) from a seeded RNG, so every server process and `cardapi.expected` agree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from cardapi.jsonfmt import dumps, fragment
from cardapi.reference import (
    CATEGORIES,
    CATEGORY_WEIGHTS,
    DAYPART_ORDER,
    HOLDER_AM_SHARE,
    MCC,
    PERK_VALUES,
    PLAN_RATES,
    PLAN_SHARES,
    PROFILE_MULTIPLIERS,
    URBAN_POPULATION,
    luhn_complete,
    reference_data,
)

N_MERCHANTS = 800
SECOND_CARD_SHARE = 0.12
PERK_SHARE = 0.4
# Age bands of the profiles and their share of cardholders (the real set spans ages ~14 to ~95).
AGE_BANDS = ((18, 25, "young", 0.14), (25, 50, "middle", 0.48), (50, 65, "middle", 0.22), (65, 90, "senior", 0.16))
_SUFFIXES = ("Inc", "LLC", "Group", "PLC", "Ltd", "and Sons")
_BIN_PREFIXES = ("4", "51", "52", "53", "2720", "4000")


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    category: int

    @property
    def statement_json(self) -> str:
        """The transaction's description/category fields for this merchant, pre-serialised."""
        category = CATEGORIES[self.category]
        return (
            f'"transactionDescription":{_js(self.name)},"cleanDescription":{_js(self.name.removeprefix("fraud_"))},'
            f'"mcc":"{MCC[category]}","category":"{category}"'
        )

    @property
    def head_json(self) -> str:
        """The merchant object without its per-transaction lat/long, pre-serialised."""
        category = CATEGORIES[self.category]
        return f'{{"id":"{self.id}","name":{_js(self.name)},"category":"{category}","mcc":"{MCC[category]}"'


def _js(value: object) -> str:
    return dumps(value).decode()


@dataclass(frozen=True)
class Universe:
    n_cards: int
    card_numbers: list[str]
    card_holder: np.ndarray  # card -> cardholder index
    card_rate: np.ndarray  # plan reward rate (percent) per card
    card_activity: np.ndarray  # multiplier of the daily transaction rate
    card_perk_day: np.ndarray  # day of month of the card's perk (0 = no perk)
    card_perk_value: np.ndarray
    holder_lat: np.ndarray
    holder_long: np.ndarray
    holder_category_cdf: np.ndarray  # (holders, 14) cumulative category probabilities, in DAYPART_ORDER
    holder_am_share: np.ndarray  # the profile's morning weight (Sparkov's `shopping_time`), see DAYPART_ORDER
    card_fragment: list[Any]
    holder_fragment: list[Any]
    merchants: list[Merchant]
    merchants_by_category: list[list[int]]
    card_json: list[str]  # '"card":{...},"cardholder":{...}' per card, pre-serialised
    # derived in __post_init__: plain lists for the per-transaction hot loop
    _merchant_json: list[tuple[str, str]] = field(init=False, repr=False, compare=False)
    _rates_list: list[float] = field(init=False, repr=False, compare=False)
    _card_holder_fragment: list[Any] = field(init=False, repr=False, compare=False)

    @property
    def merchant_json(self) -> list[tuple[str, str]]:
        return self._merchant_json

    @property
    def card_rate_list(self) -> list[float]:
        return self._rates_list

    @property
    def card_holder_fragment(self) -> list[Any]:
        return self._card_holder_fragment

    def __post_init__(self) -> None:
        # plain lists for the per-transaction hot loop
        object.__setattr__(self, "_rates_list", [float(r) for r in self.card_rate])
        object.__setattr__(self, "_merchant_json", [(m.statement_json, m.head_json) for m in self.merchants])
        object.__setattr__(self, "_card_holder_fragment", [self.holder_fragment[h] for h in self.card_holder])


def _merchant_names(rng: np.random.Generator, ref: dict) -> list[tuple[str, int]]:
    names = [(name, CATEGORIES.index(cat)) for name, cat in ref["merchants"]]
    seen = {n for n, _ in names}
    last = ref["last_names"]
    while len(names) < N_MERCHANTS:
        a, b, c = (last[i] for i in rng.integers(0, len(last), 3))
        form = rng.integers(0, 3)
        body = (f"{a}, {b} and {c}", f"{a}-{b}", f"{a} {_SUFFIXES[rng.integers(0, len(_SUFFIXES))]}")[form]
        name = f"fraud_{body}"
        if name not in seen:
            seen.add(name)
            names.append((name, int(rng.integers(0, len(CATEGORIES)))))
    return names


def _profile_cdf(age: int, gender: str, population: int) -> np.ndarray:
    band = "young" if age < 25 else "senior" if age >= 65 else "middle"
    weights = CATEGORY_WEIGHTS.copy()
    for profile in (band, gender, "urban" if population >= URBAN_POPULATION else "rural"):
        for cat, mult in PROFILE_MULTIPLIERS.get(profile, {}).items():
            weights[CATEGORIES.index(cat)] *= mult
    return np.cumsum((weights / weights.sum())[DAYPART_ORDER])


def _pan(rng: np.random.Generator, seen: set[str]) -> str:
    while True:
        prefix = _BIN_PREFIXES[rng.integers(0, len(_BIN_PREFIXES))]
        body = prefix + "".join(str(d) for d in rng.integers(0, 10, 15 - len(prefix)))
        pan = luhn_complete(body)
        if pan not in seen:
            seen.add(pan)
            return pan


@lru_cache(maxsize=4)
def build_universe(seed: int, n_cards: int, reference_day: date) -> Universe:
    rng = np.random.default_rng([seed, 0xC0FFEE])
    ref = reference_data()
    cities, streets, jobs = ref["cities"], ref["streets"], ref["jobs"]

    # cards -> cardholders: most cardholders hold one card, some a second
    holder_of_card = np.zeros(n_cards, dtype=np.int64)
    holder = -1
    for card in range(n_cards):
        if holder < 0 or card == 0 or rng.random() >= SECOND_CARD_SHARE or holder_of_card[card - 1] != holder:
            holder += 1
        holder_of_card[card] = holder
    n_holders = holder + 1

    holder_frag, cdfs, lats, longs = [], [], [], []
    band_p = np.array([b[3] for b in AGE_BANDS])
    for h in range(n_holders):
        gender = "F" if rng.random() < 0.55 else "M"
        lo, hi, _, _ = AGE_BANDS[rng.choice(len(AGE_BANDS), p=band_p / band_p.sum())]
        dob = reference_day - timedelta(days=int(rng.integers(lo * 365, hi * 365)))
        city, state, zip_code, lat, long, population = cities[rng.integers(0, len(cities))]
        age = (reference_day - dob).days // 365
        cdfs.append(_profile_cdf(age, gender, population))
        lats.append(lat)
        longs.append(long)
        names = ref["first_names"][gender]
        holder_frag.append(
            fragment(
                {
                    "id": f"ch_{h:06d}",
                    "firstName": names[rng.integers(0, len(names))],
                    "lastName": ref["last_names"][rng.integers(0, len(ref["last_names"]))],
                    "gender": gender,
                    "dateOfBirth": dob.isoformat(),
                    "job": jobs[rng.integers(0, len(jobs))],
                    "address": {
                        "street": f"{int(rng.integers(1, 99999))} {streets[rng.integers(0, len(streets))]}",
                        "city": city,
                        "state": state,
                        "zip": zip_code,
                        "lat": lat,
                        "long": long,
                        "cityPopulation": population,
                    },
                }
            )
        )

    seen: set[str] = set()
    numbers = [_pan(rng, seen) for _ in range(n_cards)]
    rates = rng.choice(PLAN_RATES, n_cards, p=PLAN_SHARES)
    activity = rng.lognormal(0.0, 0.45, n_cards)
    activity /= activity.mean()
    perk_day = np.where(rng.random(n_cards) < PERK_SHARE, rng.integers(1, 29, n_cards), 0)
    perk_value = rng.choice(PERK_VALUES, n_cards)
    card_frag = [
        fragment({"number": numbers[c], "cardholderId": f"ch_{holder_of_card[c]:06d}"}) for c in range(n_cards)
    ]
    card_json = [
        f'"card":{_js(card_frag[c])},"cardholder":{_js(holder_frag[holder_of_card[c]])}' for c in range(n_cards)
    ]

    merchants = []
    for i, (name, cat) in enumerate(_merchant_names(rng, ref)):
        mid = f"m_{i:05d}"
        merchants.append(Merchant(mid, name, cat))
    by_cat = [[i for i, m in enumerate(merchants) if m.category == c] for c in range(len(CATEGORIES))]
    return Universe(
        n_cards=n_cards,
        card_numbers=numbers,
        card_holder=holder_of_card,
        card_rate=rates,
        card_activity=activity,
        card_perk_day=perk_day,
        card_perk_value=perk_value,
        holder_lat=np.array(lats),
        holder_long=np.array(longs),
        holder_category_cdf=np.array(cdfs),
        # its own stream: the rest of the universe (names, cards, merchants) stays what the seed always gave
        holder_am_share=np.random.default_rng([seed, 0xA11]).uniform(*HOLDER_AM_SHARE, n_holders),
        card_fragment=card_frag,
        holder_fragment=holder_frag,
        merchants=merchants,
        merchants_by_category=by_cat,
        card_json=card_json,
    )


def stable_hex(*parts: object, size: int = 16) -> str:
    """A deterministic hex id from its parts (blake2b)."""
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=size).hexdigest()
