"""Reference data and calibrated weights of the generator (modelled on the Sparkov / Kaggle fraud data set).

Names, jobs, streets, cities and merchant names come from `data/reference.json`, built from real Kaggle rows
by `cardapi.build_reference`. Legitimate amounts follow the per-category empirical quantile function of the
real rows (log-linear between 41 quantiles); fraud amounts follow the narrow per-category ranges of the real
fraud rows.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from contracts.records import CATEGORY_OF_MCC as CATEGORY_OF_MCC  # re-exported for the replays
from contracts.records import MCC_OF_CATEGORY

CATEGORIES: tuple[str, ...] = (
    "entertainment",
    "food_dining",
    "gas_transport",
    "grocery_net",
    "grocery_pos",
    "health_fitness",
    "home",
    "kids_pets",
    "misc_net",
    "misc_pos",
    "personal_care",
    "shopping_net",
    "shopping_pos",
    "travel",
)
CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORIES)}

# The MCC table is the contract's (the lake maps MCCs back to categories with the same table).
MCC = MCC_OF_CATEGORY

# Share of legitimate transactions per category in the real set (fraudTrain.csv counts, normalised).
CATEGORY_WEIGHTS = np.array(
    [94014, 91461, 131659, 45452, 123638, 85879, 123115, 113035, 63287, 79655, 90758, 97543, 116672, 40507],
    dtype=float,
)
CATEGORY_WEIGHTS /= CATEGORY_WEIGHTS.sum()

# Profile multipliers on category weights (Sparkov's profiles differ by age band, gender and city size).
PROFILE_MULTIPLIERS: dict[str, dict[str, float]] = {
    "young": {"entertainment": 1.3, "food_dining": 1.3, "shopping_net": 1.3, "health_fitness": 1.2, "home": 0.7},
    "middle": {"kids_pets": 1.4, "grocery_pos": 1.15, "home": 1.1},
    "senior": {"travel": 1.3, "health_fitness": 1.2, "home": 1.2, "shopping_net": 0.7, "entertainment": 0.8},
    "F": {"personal_care": 1.3, "shopping_pos": 1.1, "gas_transport": 0.9},
    "M": {"gas_transport": 1.15, "misc_pos": 1.1, "personal_care": 0.8},
    "urban": {"food_dining": 1.2, "entertainment": 1.15, "gas_transport": 0.85},
    "rural": {"gas_transport": 1.2, "grocery_pos": 1.1, "food_dining": 0.85},
}
URBAN_POPULATION = 50_000

# Fraud: category mix of the real fraud rows and the narrow amount ranges (major units) they fall in.
FRAUD_CATEGORY_WEIGHTS = np.array([233, 151, 618, 134, 1743, 133, 198, 239, 915, 250, 220, 1713, 843, 116], dtype=float)
FRAUD_CATEGORY_WEIGHTS /= FRAUD_CATEGORY_WEIGHTS.sum()
FRAUD_AMOUNT_RANGES: dict[str, tuple[float, float]] = {
    "entertainment": (400.0, 600.0),
    "food_dining": (100.0, 140.0),
    "gas_transport": (7.0, 20.0),
    "grocery_net": (9.0, 20.0),
    "grocery_pos": (270.0, 350.0),
    "health_fitness": (10.0, 25.0),
    "home": (200.0, 300.0),
    "kids_pets": (10.0, 25.0),
    "misc_net": (700.0, 1000.0),
    "misc_pos": (150.0, 300.0),
    "personal_care": (20.0, 30.0),
    "shopping_net": (700.0, 1100.0),
    "shopping_pos": (700.0, 1050.0),
    "travel": (4.0, 12.0),
}
FRAUD_LOW = np.array([FRAUD_AMOUNT_RANGES[c][0] for c in CATEGORIES])
FRAUD_HIGH = np.array([FRAUD_AMOUNT_RANGES[c][1] for c in CATEGORIES])

# Hour of day, as Sparkov draws it (its Profile.sample_from / sample_time): ONE uniform draw picks both the
# category (the profile's cumulative category weights, in the profile's category order) and the day part (AM
# when the draw falls below the profile's `shopping_time` AM weight); the hour is then uniform in 00-11 or 12-23.
# So where a category sits in the order decides when it happens: on fraudTrain_head.csv's legitimate rows
# gas_transport, grocery_net, grocery_pos and misc_net occur only at 00-11; health_fitness, home, kids_pets,
# personal_care and travel only at 12-23; misc_pos, shopping_net, shopping_pos, entertainment and food_dining are
# split (60, 46, 42, 20 and 11% AM) because the boundary falls in them for some profiles. The order below is
# the one those shares imply. Fitted on the head: the cardholder's AM weight, uniform in HOLDER_AM_SHARE, gives
# a legitimate AM share of 0.41 (real: ~3.3% per hour 0-11 over the full set, 0.42 on the head) and split
# categories at 70, 56, 40, 20 and 9% AM (misc_net 79% where the head has 84%, grocery_pos 94% for 99%).
DAYPART_ORDER = np.array(
    [
        CATEGORIES.index(c)
        for c in (
            "gas_transport",
            "grocery_net",
            "grocery_pos",
            "misc_net",
            "misc_pos",
            "shopping_net",
            "shopping_pos",
            "entertainment",
            "food_dining",
            "health_fitness",
            "home",
            "kids_pets",
            "personal_care",
            "travel",
        )
    ]
)
HOLDER_AM_SHARE = (0.15, 0.65)
# Fraud: Sparkov moves 80% of fraud hours into the night end of their half (00-03 for AM, 22-23 for PM); the
# rest stay anywhere in the half. A fraud AM weight of 0.40 gives 00-03 ~35% and 22-23 ~50% of fraud rows
# (real set: ~34% and ~51%, with 22:00-04:00 holding ~85%).
FRAUD_AM_SHARE = 0.40
FRAUD_NIGHT_SHARE = 0.80
FRAUD_DAYPART_CDF = np.cumsum(FRAUD_CATEGORY_WEIGHTS[DAYPART_ORDER])


def categories_and_mornings(
    draws: np.ndarray, cdfs: np.ndarray, am_shares: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sparkov's shared draw: each uniform in `draws` picks a category (by `cdfs`, cumulative weights in
    DAYPART_ORDER, one row per draw or one for all) and whether it is a morning (below its `am_shares`)."""
    position = np.minimum((draws[:, None] > np.atleast_2d(cdfs)).sum(axis=1), len(CATEGORIES) - 1)
    return DAYPART_ORDER[position], draws < am_shares


def sample_hours(rng: np.random.Generator, morning: np.ndarray, fraud: bool) -> np.ndarray:
    """Hour of day per draw: 00-11 in the morning half, 12-23 otherwise; a fraud's hour moves to its half's night
    hours (00-03, 22-23) with probability FRAUD_NIGHT_SHARE."""
    n = len(morning)
    hours = np.where(morning, rng.integers(0, 12, n), rng.integers(12, 24, n))
    if fraud:
        night = np.where(morning, rng.integers(0, 4, n), rng.integers(22, 24, n))
        hours = np.where(rng.random(n) < FRAUD_NIGHT_SHARE, night, hours)
    return hours


NIGHT_HOURS = frozenset({22, 23, 0, 1, 2, 3})

# Day of week (Monday first) and month: the real set is busiest on Sunday/Monday and in December.
DOW_WEIGHTS = np.array([1.35, 0.95, 0.75, 0.8, 0.85, 1.0, 1.3])
DOW_WEIGHTS /= DOW_WEIGHTS.mean()
MONTH_WEIGHTS = np.array([0.7, 0.7, 0.95, 0.9, 1.0, 1.15, 1.15, 1.2, 0.95, 0.92, 0.95, 1.9])
MONTH_WEIGHTS /= MONTH_WEIGHTS.mean()

# 1.85M transactions for 1,000 cards over two years.
TRANSACTIONS_PER_CARD_DAY = 1_852_394 / 1000 / 731
FRAUD_SHARE = 0.0052
MEAN_EPISODE_SIZE = 10.5  # uniform 2..19 transactions
FRAUD_EPISODE_WINDOW = 48 * 3600

# Card plans (reward rate percent) and their share of cards.
PLAN_RATES = np.array([1.0, 2.0, 3.0])
PLAN_SHARES = np.array([0.5, 0.3, 0.2])

# Perks: monthly subscriptions the programme reimburses (minor units); boosts: occasional promotions.
PERK_VALUES = np.array([499, 799, 999, 1099])
BOOST_VALUES = np.array([200, 500, 1000, 2500])

REFUND_CATEGORIES = frozenset({"shopping_net", "shopping_pos", "misc_net", "home", "travel", "entertainment"})


@lru_cache(maxsize=1)
def reference_data() -> dict:
    return json.loads((Path(__file__).parent / "data" / "reference.json").read_text())


@lru_cache(maxsize=1)
def amount_quantiles() -> np.ndarray:
    """log of the 41 quantiles (p0, p2.5, ..., p100) of legitimate amounts per category, shape (14, 41)."""
    table = reference_data()["amount_quantiles"]
    return np.log(np.array([table[c] for c in CATEGORIES], dtype=float))


def sample_legit_amounts(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    """Amounts in minor units drawn from the per-category empirical quantile function (log-linear)."""
    logq = amount_quantiles()
    pos = rng.random(len(categories)) * (logq.shape[1] - 1)
    low = np.floor(pos).astype(np.int64)
    high = np.minimum(low + 1, logq.shape[1] - 1)
    frac = pos - low
    values = np.exp(logq[categories, low] * (1 - frac) + logq[categories, high] * frac)
    return np.maximum(np.round(values * 100), 1).astype(np.int64)


def sample_fraud_amounts(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    low, high = FRAUD_LOW[categories], FRAUD_HIGH[categories]
    return np.round((low + rng.random(len(categories)) * (high - low)) * 100).astype(np.int64)


def luhn_complete(digits: str) -> str:
    """Append the Luhn check digit to `digits`."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return digits + str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_complete(number[:-1]) == number
