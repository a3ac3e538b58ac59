"""A landing zone of the simulator's records for the lake benchmark, built without HTTP (docs/contracts.md §2).

Pages are the records the extraction would land (`cardapi.expected.landing_raw_records` inside the page
envelope), 5,000 records each, gzip level 3 as the extractor stores them, one manifest per month window. The
last day of the range is landed as its own one-day window, so it can be run as a daily batch.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing as mp
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

PAGE_SIZE = 5_000
ENTITIES = ("transactions", "rewards", "plu_rates")
SOURCE = "cardapi"


@dataclass(frozen=True)
class LandingSpec:
    cards: int
    start: date
    end: date
    malformed_rate: float
    seed: int = 42

    @property
    def daily_start(self) -> datetime:
        return _utc(self.end) - timedelta(days=1)

    def windows(self) -> list[tuple[datetime, datetime]]:
        """Month windows over [start, end - 1 day), then the last day alone."""
        out, cursor, stop = [], _utc(self.start), self.daily_start
        while cursor < stop:
            nxt = datetime(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1, tzinfo=UTC)
            out.append((cursor, min(nxt, stop)))
            cursor = min(nxt, stop)
        out.append((stop, _utc(self.end)))
        return out

    def as_dict(self) -> dict:
        return {
            "cards": self.cards,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "malformed_rate": self.malformed_rate,
            "seed": self.seed,
            "page_size": PAGE_SIZE,
        }


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def window_name(start: datetime, end: datetime) -> str:
    return f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"


def _config(spec: LandingSpec) -> Any:  # cardapi is imported lazily, in the worker processes
    from cardapi.config import SimulatorConfig

    return SimulatorConfig(
        seed=spec.seed, start=spec.start, end=spec.end, n_cards=spec.cards, malformed_rate=spec.malformed_rate
    )


def _land_window(args: tuple[str, LandingSpec, str, datetime, datetime]) -> tuple[str, str, int, int]:
    """Write one window's pages, then its manifest (last, as the extractor does)."""
    from cardapi.expected import landing_raw_records

    root, spec, entity, start, end = args
    window = window_name(start, end)
    base = Path(root) / "raw" / SOURCE / entity
    folder = base / f"ingest_date={start:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    pages: list[dict] = []

    def flush(items: list[bytes]) -> None:
        number = len(pages) + 1
        body = b'{"data":[' + b",".join(items) + b'],"page":%d,"limit":%d}' % (number, PAGE_SIZE)
        stored = gzip.compress(body, compresslevel=3, mtime=0)
        key = f"raw/{SOURCE}/{entity}/ingest_date={start:%Y-%m-%d}/{window}-{number:05d}.json.gz"
        (Path(root) / key).write_bytes(stored)
        pages.append(
            {"key": key, "records": len(items), "bytes": len(stored), "sha256": hashlib.sha256(stored).hexdigest()}
        )

    batch: list[bytes] = []
    for body in landing_raw_records(_config(spec), entity, start, end):
        batch.append(body)
        if len(batch) == PAGE_SIZE:
            flush(batch)
            batch = []
    # The API's last page is the first one shorter than the limit, possibly empty.
    flush(batch)
    records = sum(p["records"] for p in pages)
    manifest = {
        "source": SOURCE,
        "entity": entity,
        "window_start": _iso(start),
        "window_end": _iso(end),
        "pages": pages,
        "record_count": records,
        "watermark": _iso(end),
        "run_id": f"bench-{window}",
        "extracted_at": _iso(datetime.now(UTC)),
    }
    (base / "_manifests").mkdir(parents=True, exist_ok=True)
    (base / "_manifests" / f"{window}.json").write_text(json.dumps(manifest))
    return entity, window, records, len(pages)


def build_landing(root: Path, spec: LandingSpec, processes: int = 2) -> dict:
    """Build the landing zone once; a marker with the spec makes later runs reuse it."""
    marker = root / "_bench_landing.json"
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("spec") == spec.as_dict():
            return saved
    tasks = [(str(root), spec, entity, a, b) for entity in ENTITIES for a, b in spec.windows()]
    with mp.get_context("fork").Pool(processes) as pool:
        results = pool.map(_land_window, tasks, chunksize=1)
    counts: dict[str, dict[str, int]] = {e: {"records": 0, "pages": 0, "daily_records": 0} for e in ENTITIES}
    daily = window_name(spec.daily_start, _utc(spec.end))
    for entity, window, records, pages in results:
        counts[entity]["records"] += records
        counts[entity]["pages"] += pages
        if window == daily:
            counts[entity]["daily_records"] = records
    summary = {"spec": spec.as_dict(), "counts": counts}
    marker.write_text(json.dumps(summary, indent=2))
    return summary
