"""Assemble the data behind a simulator from its configuration: ledger (synthetic or replay), rates, feeds."""

from __future__ import annotations

from dataclasses import dataclass

from cardapi.config import SimulatorConfig
from cardapi.faults import MalformedFeed
from cardapi.feeds import Feed, RateFeed, RewardFeed, TransactionFeed
from cardapi.ledger import SyntheticLedger
from cardapi.paging import Pager
from cardapi.rates import PluRates

ENTITIES = ("transactions", "rewards", "plu_rates")


@dataclass
class Simulator:
    config: SimulatorConfig
    feeds: dict[str, Feed]
    pagers: dict[str, Pager]
    rates: PluRates | None  # None: a replayed Plutus export has no rate feed


def _ledger(config: SimulatorConfig):
    if config.replay_kaggle is not None:
        from cardapi.replay_kaggle import KaggleLedger

        return KaggleLedger(config.replay_kaggle, config.seed, cache_size=config.day_cache_size)
    return SyntheticLedger(
        config.seed,
        config.n_cards,
        config.start,
        config.end,
        config.fraud_far_from_home_share,
        cache_size=config.day_cache_size,
    )


def build_simulator(config: SimulatorConfig) -> Simulator:
    if config.replay_plutus is not None:
        from cardapi.replay_plutus import plutus_feeds

        feeds, rates = plutus_feeds(config.replay_plutus, config.seed)
    else:
        ledger = _ledger(config)
        rates = PluRates(config.seed, ledger.first_day, ledger.end_day)
        feeds = {
            "transactions": TransactionFeed(ledger, config.bucket_cache_size),
            "rewards": RewardFeed(ledger, rates, config.bucket_cache_size, config.day_cache_size),
            "plu_rates": RateFeed(rates),
        }
    if config.malformed_rate > 0:
        feeds = {name: MalformedFeed(feed, config) for name, feed in feeds.items()}
    return Simulator(config, feeds, {name: Pager(feed) for name, feed in feeds.items()}, rates)
