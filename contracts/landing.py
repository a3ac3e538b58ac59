"""The landing zone's layout (docs/contracts.md section 2): keys relative to the landing root.

raw/<source>/<entity>/ingest_date=<YYYY-MM-DD of window start>/<window>-<page:05d>.json.gz
raw/<source>/<entity>/_manifests/<window>.json     written last; readers use only pages it names
raw/<source>/<entity>/_watermark.json              advanced only after the manifest is written
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

Entity = Literal["transactions", "rewards", "plu_rates"]
ENTITIES: tuple[Entity, ...] = get_args(Entity)
# The field that identifies a record of each entity (rates have no id: one price per timestamp).
ID_FIELDS: dict[Entity, str] = {"transactions": "id", "rewards": "id", "plu_rates": "timestamp"}
# One source name for the simulator and the real card API alike: they serve one contract.
DEFAULT_SOURCE = "cardapi"
# The source name of exports landed by `cardlake import` (one day window per entity and updatedAt day).
IMPORT_SOURCE = "import"

RAW = "raw"
PAGE_SUFFIX = ".json.gz"
MANIFESTS = "_manifests"
WATERMARK = "_watermark.json"
_LABEL = re.compile(r"^(\d{8}T\d{6}Z)_(\d{8}T\d{6}Z)$")
_LABEL_TIME = "%Y%m%dT%H%M%SZ"


def utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime (naive values are taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime) -> str:
    """The API's and the manifests' time format: UTC, second precision, `Z` suffix."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def check_entity(entity: str) -> Entity:
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
    return entity


@dataclass(frozen=True)
class Window:
    """A half-open window [start, end) in UTC, second precision; its label names every file it lands."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start).replace(microsecond=0))
        object.__setattr__(self, "end", utc(self.end).replace(microsecond=0))
        if self.end <= self.start:
            raise ValueError(f"window end {iso(self.end)} must be after its start {iso(self.start)}")

    @property
    def label(self) -> str:
        return f"{self.start:{_LABEL_TIME}}_{self.end:{_LABEL_TIME}}"

    @classmethod
    def from_label(cls, label: str) -> Window:
        match = _LABEL.match(label)
        if not match:
            raise ValueError(f"{label!r} is not a window label (YYYYMMDDTHHMMSSZ_YYYYMMDDTHHMMSSZ)")
        start, end = (datetime.strptime(part, _LABEL_TIME).replace(tzinfo=UTC) for part in match.groups())
        return cls(start, end)

    def covers(self, other: Window) -> bool:
        """`other` lies inside this window: the rule by which a run reads the manifests landed for it."""
        return self.start <= other.start and other.end <= self.end

    @classmethod
    def day_of(cls, when: datetime) -> Window:
        """The UTC day holding `when`, midnight to midnight."""
        start = utc(when).replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(start, start + timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} -> {self.end:%Y-%m-%d %H:%M} UTC"


def entity_prefix(source: str, entity: str) -> str:
    return f"{RAW}/{source}/{entity}"


def page_prefix(source: str, entity: str, window: Window) -> str:
    return f"{entity_prefix(source, entity)}/ingest_date={window.start:%Y-%m-%d}/{window.label}-"


def page_key(source: str, entity: str, window: Window, number: int) -> str:
    return f"{page_prefix(source, entity, window)}{number:05d}{PAGE_SUFFIX}"


def manifest_key(source: str, entity: str, window: Window) -> str:
    return f"{entity_prefix(source, entity)}/{MANIFESTS}/{window.label}.json"


def manifest_prefix(source: str, entity: str) -> str:
    """The folder of an entity's manifests, with its trailing slash (a prefix for listing)."""
    return f"{entity_prefix(source, entity)}/{MANIFESTS}/"


def manifest_glob(source: str, entity: str) -> str:
    """Every manifest of an entity, as a glob relative to the landing root."""
    return f"{entity_prefix(source, entity)}/{MANIFESTS}/*.json"


def watermark_key(source: str, entity: str) -> str:
    return f"{entity_prefix(source, entity)}/{WATERMARK}"


def landed_table(entity: str) -> str:
    """How run reports name an entity's landed records, e.g. `raw/transactions`."""
    return f"{RAW}/{entity}"
