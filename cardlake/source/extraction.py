"""Card API -> landing zone: pages streamed as received, a manifest written last, then the watermark.

The layout is `contracts.landing`'s (docs/contracts.md section 2).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from cardlake.landing import LandingZone
from cardlake.source.client import CardApiClient, Page
from cardlake.source.prefetch import prefetched
from contracts.landing import (
    DEFAULT_SOURCE,
    ID_FIELDS,
    Window,
    check_entity,
    iso,
    manifest_key,
    page_key,
    page_prefix,
    parse_iso,
    utc,
    watermark_key,
)

log = logging.getLogger(__name__)

_WATERMARK_LOCK = threading.Lock()
PageHook = Callable[[Page, str], None]  # called with each page and its key once the page has landed


def chunk_windows(start: datetime, end: datetime, chunk: timedelta = timedelta(days=1)) -> list[Window]:
    """Consecutive windows of `chunk` covering [start, end); the last one may be shorter."""
    if chunk <= timedelta(0):
        raise ValueError("chunk must be positive")
    windows, cursor, end = [], utc(start), utc(end)
    while cursor < end:
        windows.append(Window(cursor, min(cursor + chunk, end)))
        cursor += chunk
    return windows


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=False).encode()


def store_page(zone: LandingZone, key: str, body: bytes, records: int) -> dict[str, Any]:
    """Land one page body gzip-compressed; its manifest entry (key, records, bytes, sha256 of the stored bytes)."""
    # mtime=0: the same body always gives the same bytes, so the checksum addresses the content.
    # Level 3: much faster than the default for a few % more bytes.
    stored = gzip.compress(body, compresslevel=3, mtime=0)
    zone.write_bytes(key, stored)
    return {"key": key, "records": records, "bytes": len(stored), "sha256": hashlib.sha256(stored).hexdigest()}


def remove_stale_pages(zone: LandingZone, source: str, entity: str, window: Window, keep: set[str]) -> None:
    """Pages of an earlier landing of this window that the new one does not name."""
    for key in zone.list(page_prefix(source, entity, window)):
        if key not in keep and key.endswith(".json.gz"):
            zone.delete(key)


def window_manifest(
    source: str, entity: str, window: Window, pages: list[dict[str, Any]], distinct_ids: int, run_id: str
) -> dict[str, Any]:
    """The manifest of a landed window (docs/contracts.md section 2)."""
    return {
        "source": source,
        "entity": entity,
        "window_start": iso(window.start),
        "window_end": iso(window.end),
        "pages": pages,
        "record_count": sum(p["records"] for p in pages),
        "distinct_ids": distinct_ids,
        "watermark": iso(window.end),
        "run_id": run_id,
        "extracted_at": iso(datetime.now(UTC)),
    }


def write_manifest(zone: LandingZone, key: str, manifest: dict[str, Any]) -> None:
    zone.write_bytes(key, _json_bytes(manifest))


class Extractor:
    """Extracts windows of one source into one landing zone."""

    def __init__(
        self,
        client: CardApiClient,
        zone: LandingZone,
        *,
        source: str = DEFAULT_SOURCE,
        page_size: int = 1000,
        prefetch: int = 1,
    ) -> None:
        self.client = client
        self.zone = zone
        self.source = source
        self.page_size = page_size
        self.prefetch = prefetch  # pages fetched ahead while the current one lands (0: none)

    def extract_window(
        self, entity: str, window: Window, *, run_id: str | None = None, on_page: PageHook | None = None
    ) -> dict[str, Any]:
        """Land every page of the window, then its manifest; returns the manifest."""
        entity = check_entity(entity)
        run_id = run_id or uuid.uuid4().hex
        mkey = manifest_key(self.source, entity, window)
        # A re-run rewrites the window's pages in place: take the old manifest away first, so no reader
        # follows a manifest to a mix of old and new pages while this run is under way.
        self.zone.delete(mkey)
        id_field = ID_FIELDS[entity]
        pages: list[dict[str, Any]] = []
        ids: set[str] = set()
        pages_in = self.client.iter_pages(entity, window.start, window.end, self.page_size)
        for page in prefetched(pages_in, depth=self.prefetch):
            key = page_key(self.source, entity, window, page.number)
            pages.append(store_page(self.zone, key, page.body, page.record_count))
            # Records are judged in silver; here only well-formed ids are counted.
            ids.update(r[id_field] for r in page.records if isinstance(r, dict) and isinstance(r.get(id_field), str))
            if on_page is not None:
                on_page(page, key)
        remove_stale_pages(self.zone, self.source, entity, window, {p["key"] for p in pages})
        manifest = window_manifest(self.source, entity, window, pages, len(ids), run_id)
        self.zone.write_bytes(mkey, _json_bytes(manifest))
        log.info("landed %s %s: %d pages, %d records", entity, window.label, len(pages), manifest["record_count"])
        return manifest

    def backfill(
        self,
        entity: str,
        start: datetime,
        end: datetime,
        chunk: timedelta = timedelta(days=1),
        *,
        run_id: str | None = None,
        on_page: PageHook | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Each chunk an independent window with its own manifest; the watermark follows each chunk."""
        for window in chunk_windows(start, end, chunk):
            manifest = self.extract_window(entity, window, run_id=run_id, on_page=on_page)
            advance_watermark(self.zone, self.source, entity, window)
            yield manifest


def read_watermark(zone: LandingZone, source: str, entity: str) -> datetime | None:
    key = watermark_key(source, entity)
    if not zone.exists(key):
        return None
    record = json.loads(zone.read_bytes(key))
    return parse_iso(record["watermark"])


def advance_watermark(zone: LandingZone, source: str, entity: str, window: Window) -> datetime:
    """Move the watermark to the window's end once its manifest is in place; it never moves back."""
    mkey = manifest_key(source, entity, window)
    if not zone.exists(mkey):
        raise RuntimeError(f"cannot advance the {entity} watermark: manifest {mkey} is not written")
    # Chunks of a backfill finish concurrently (threads of one process): read-compare-write under a lock so
    # an earlier chunk finishing last cannot move the watermark back.
    with _WATERMARK_LOCK:
        current = read_watermark(zone, source, entity)
        if current is not None and current >= window.end:
            return current
        record = {"watermark": iso(window.end), "manifest": mkey, "updated_at": iso(datetime.now(UTC))}
        zone.write_bytes(watermark_key(source, entity), _json_bytes(record))
    return window.end


def read_landed_records(zone: LandingZone, manifest: dict[str, Any]) -> list[Any]:
    """Every record of the pages a manifest names, in page order (a reader's view of an extraction)."""
    records: list[Any] = []
    for page in manifest["pages"]:
        stored = zone.read_bytes(page["key"])
        if hashlib.sha256(stored).hexdigest() != page["sha256"]:
            raise ValueError(f"landed page {page['key']} does not match its manifest checksum")
        records.extend(json.loads(gzip.decompress(stored))["data"])
    return records
