"""JSON encoding and UTC time helpers shared by the simulator (orjson when installed, stdlib otherwise)."""

from __future__ import annotations

import calendar
import json
import time
from datetime import UTC, datetime
from typing import Any

DAY = 86_400
HOUR = 3_600

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        # orjson's result keeps its over-allocated write buffer (~8 KiB even for a 1 KiB record): copy it to
        # an exact-size object, or caching 100k records costs gigabytes
        return memoryview(orjson.dumps(obj)).tobytes()

    def loads(raw: bytes | str) -> Any:
        return orjson.loads(raw)

    def fragment(obj: Any) -> Any:
        """Pre-serialised JSON reused inside many records (cardholder, card), encoded once."""
        return orjson.Fragment(orjson.dumps(obj))

except ImportError:  # pragma: no cover - orjson ships with prefect, the fallback keeps the module usable

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(raw: bytes | str) -> Any:
        return json.loads(raw)

    def fragment(obj: Any) -> Any:
        return obj


_DAY_PREFIX: dict[int, str] = {}
_TIME_OF_DAY = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)]


def iso(ts: int) -> str:
    """Epoch seconds -> `2025-06-01T13:22:01Z` (table lookups: this runs for every record state)."""
    day, rest = divmod(ts, DAY)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))
    return prefix + _TIME_OF_DAY[rest]


def parse_iso(text: str) -> int:
    """ISO-8601 (with `Z`, an offset, or naive = UTC) -> epoch seconds; ValueError with the text otherwise."""
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T") if "T" not in text else text.strip())
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 time: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def epoch_of_date(year: int, month: int, day: int) -> int:
    return calendar.timegm((year, month, day, 0, 0, 0))
