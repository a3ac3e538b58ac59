"""PLU/GBP exchange rate: an hourly, seeded, mean-reverting random walk on the log price."""

from __future__ import annotations

import numpy as np

from cardapi.jsonfmt import DAY, HOUR

START_PRICE_GBP = 6.0
HOURLY_VOLATILITY = 0.008  # ~75% a year
MEAN_REVERSION = 0.002  # per hour, towards the start price
# rewards are created up to a week after a transaction and priced then: cover that tail after the data range
TAIL_DAYS = 60


class PluRates:
    """GBP per PLU for every hour from `first_day` to `end_day + TAIL_DAYS`, rounded to 4 decimals."""

    def __init__(self, seed: int, first_day: int, end_day: int) -> None:
        self.origin = first_day * DAY
        hours = (end_day + TAIL_DAYS - first_day) * 24
        rng = np.random.default_rng([seed, 0x51D])
        shocks = rng.normal(0.0, HOURLY_VOLATILITY, hours)
        mu = np.log(START_PRICE_GBP)
        log_price = np.empty(hours)
        x = mu
        for i in range(hours):
            log_price[i] = x
            x += MEAN_REVERSION * (mu - x) + shocks[i]
        self.prices = np.round(np.exp(log_price), 4)
        self._prices = self.prices.tolist()  # plain floats: price_at runs for every reward
        self.end = self.origin + hours * HOUR

    def price_at(self, ts: int) -> float:
        """The price of the hour containing ts (clamped to the covered range)."""
        i = min(max((ts - self.origin) // HOUR, 0), len(self._prices) - 1)
        return self._prices[i]
