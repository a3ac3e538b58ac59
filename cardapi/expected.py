"""What the API serves, without HTTP: for tests that compare what landed with what the simulator holds.

`records(config, entity, start, end)` yields, in serving order, exactly the records that paging through
`[start, end)` of `entity` returns from a server started with `config` (malformed records included when
`malformed_rate > 0`; their ids start with `malformed-`). Transport faults and duplicates are not data.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from cardapi.config import SimulatorConfig
from cardapi.faults import MALFORMED_PREFIX
from cardapi.jsonfmt import dumps, loads, parse_iso
from cardapi.source import ENTITIES, Simulator, build_simulator
from contracts.plutus_v3 import reward_to_landing, statement_to_landing

LANDING_ADAPTERS = {"transactions": statement_to_landing, "rewards": reward_to_landing, "plu_rates": lambda r: r}
ENTITY_ALIASES = {"transactions": "transactions", "rewards": "rewards", "plu_rates": "plu_rates", "rates": "plu_rates"}


@lru_cache(maxsize=4)
def _simulator(config: SimulatorConfig) -> Simulator:
    return build_simulator(config)


def _epoch(value: datetime | date | str) -> int:
    if isinstance(value, str):
        return parse_iso(value)
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())


def raw_records(
    config: SimulatorConfig, entity: str, start: datetime | date | str, end: datetime | date | str
) -> Iterator[bytes]:
    """The serialised records, byte for byte as they appear in a page's `data` array."""
    name = ENTITY_ALIASES.get(entity)
    if name is None:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
    for item in _simulator(config).pagers[name].iterate(_epoch(start), _epoch(end)):
        yield item.body


def records(
    config: SimulatorConfig, entity: str, start: datetime | date | str, end: datetime | date | str
) -> Iterator[dict]:
    """The records the API serves for `entity` in window [start, end), in (updatedAt, id) order."""
    for body in raw_records(config, entity, start, end):
        yield loads(body)


def is_malformed(record: dict) -> bool:
    return str(record.get("id", "")).startswith(MALFORMED_PREFIX)


def landing_records(
    config: SimulatorConfig, entity: str, start: datetime | date | str, end: datetime | date | str
) -> Iterator[Any]:
    """The records as the extraction lands them: `records` through the v3 adapter (contracts.plutus_v3)."""
    adapt = LANDING_ADAPTERS[ENTITY_ALIASES.get(entity, entity)]
    for record in records(config, entity, start, end):
        yield adapt(record)


def landing_raw_records(
    config: SimulatorConfig, entity: str, start: datetime | date | str, end: datetime | date | str
) -> Iterator[bytes]:
    """`landing_records`, serialised: the bytes of each record in a landed page's `data` array."""
    for record in landing_records(config, entity, start, end):
        yield dumps(record)
