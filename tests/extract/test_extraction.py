"""Extraction against the real simulator over HTTP, each fault on: the landing zone ends up holding exactly
what the API holds for the window (ids and content), none lost and none twice."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cardlake.landing import LandingZone, LocalLandingZone
from cardlake.source.extraction import Extractor, advance_watermark, read_landed_records, read_watermark
from contracts.landing import ID_FIELDS, Window, manifest_key, page_prefix, watermark_key

from .conftest import WINDOW, make_client, make_s3_zone, sim_config

pytestmark = pytest.mark.slow
PAGE = 20
_expected_cache: dict[tuple[str, str, str], dict[str, Any]] = {}  # (entity, window, faults)


def expected_records(clean_url: str, entity: str, window: Window, **faults: Any) -> dict[str, Any]:
    """What the API holds for the window as landing records, from the simulator's own account (no HTTP)."""
    from cardapi.expected import landing_records

    key = (entity, window.label, repr(sorted(faults.items())))
    if key not in _expected_cache:
        served = list(landing_records(sim_config(**faults), entity, window.start, window.end))
        by_id = {r[ID_FIELDS[entity]]: r for r in served}
        assert len(by_id) == len(served), "the API holds each record once"
        _expected_cache[key] = by_id
    return _expected_cache[key]


def landed_by_id(zone: LandingZone, manifest: dict[str, Any], entity: str) -> dict[str, Any]:
    by_id: dict[str, Any] = {}
    for record in read_landed_records(zone, manifest):
        rid = record[ID_FIELDS[entity]]
        assert by_id.get(rid, record) == record, f"two different versions of {rid} landed"
        by_id[rid] = record
    return by_id


def run(
    url: str, tmp_path: Path, entity: str = "transactions", page_size: int = PAGE, **client_kwargs: Any
) -> tuple[Any, ...]:
    zone = LocalLandingZone.at(tmp_path / "landing")
    client, session = make_client(url, **client_kwargs)
    window = Window(*WINDOW)
    manifest = Extractor(client, zone, page_size=page_size).extract_window(entity, window)
    return zone, manifest, session, window


def test_clean_extraction_lands_every_record_once_with_a_complete_manifest(clean_url: str, tmp_path: Path) -> None:
    zone, manifest, session, window = run(clean_url, tmp_path)
    expected = expected_records(clean_url, "transactions", window)
    assert len(expected) > 3 * PAGE, "the window should span several pages"
    assert landed_by_id(zone, manifest, "transactions") == expected
    assert manifest["record_count"] == manifest["distinct_ids"] == len(expected)
    assert manifest["window_start"] == "2025-06-01T00:00:00Z" and manifest["watermark"] == "2025-06-04T00:00:00Z"
    assert set(manifest) >= {"source", "entity", "pages", "record_count", "watermark", "run_id", "extracted_at"}
    keys = [p["key"] for p in manifest["pages"]]
    assert keys == zone.list(page_prefix("cardapi", "transactions", window))
    assert keys[0].endswith("/ingest_date=2025-06-01/20250601T000000Z_20250604T000000Z-00001.json.gz")
    # Each page is the body exactly as the API sent it, gzip-compressed.
    first = json.loads(gzip.decompress(zone.read_bytes(keys[0])))
    assert first["page"] == 1 and len(first["data"]) == PAGE
    assert session.count("/auth/login") == 1


@pytest.mark.parametrize(
    ("faults", "fault_seen"),
    [
        ({"fault_429_rate": 0.4, "retry_after_seconds": 0.05}, lambda s: s.count(status=429)),
        ({"fault_5xx_rate": 0.4}, lambda s: sum(1 for *_, st in s.calls if isinstance(st, int) and st >= 500)),
        ({"fault_truncated_rate": 0.4}, None),
        ({"slow_seconds": 0.5, "slow_rate": 0.4}, None),
    ],
    ids=["429", "5xx", "truncated", "slow"],
)
def test_transient_faults_are_retried_and_nothing_is_lost_or_doubled(
    serve: Callable[..., str], clean_url: str, tmp_path: Path, faults: dict, fault_seen: Any
) -> None:
    url = serve(**faults)
    # The slow case gets a read timeout shorter than the delay: the client must time out and retry.
    kwargs = {"read_timeout": 0.25} if "slow_seconds" in faults else {}
    zone, manifest, session, window = run(url, tmp_path, **kwargs)
    expected = expected_records(clean_url, "transactions", window)
    assert landed_by_id(zone, manifest, "transactions") == expected
    assert manifest["record_count"] == manifest["distinct_ids"] == len(expected)
    data_calls = session.count("/v3/statement/list")
    assert data_calls > len(manifest["pages"]), f"the fault never fired: {session.calls}"
    if fault_seen is not None:
        assert fault_seen(session) > 0


def test_duplicate_records_across_pages_land_as_they_came(
    serve: Callable[..., str], clean_url: str, tmp_path: Path
) -> None:
    url = serve(fault_duplicate_rate=0.5)
    zone, manifest, _, window = run(url, tmp_path)
    expected = expected_records(clean_url, "transactions", window)
    assert landed_by_id(zone, manifest, "transactions") == expected  # deduplicated, nothing lost
    assert manifest["distinct_ids"] == len(expected)
    assert manifest["record_count"] > manifest["distinct_ids"], "duplicates are landed, silver dedups"


def test_token_expiring_mid_extraction_is_refreshed(serve: Callable[..., str], clean_url: str, tmp_path: Path) -> None:
    url = serve(token_ttl_seconds=2, slow_seconds=0.15, slow_rate=1.0)
    zone, manifest, session, window = run(url, tmp_path, "rewards", page_size=10)  # ~21 pages, ~3 s
    assert landed_by_id(zone, manifest, "rewards") == expected_records(clean_url, "rewards", window)
    refreshes = session.count("/auth/refresh-token", 200)
    assert refreshes >= 1
    # Refreshes come before expiry, not after a 401 (a rare 401 can follow a scheduling pause under load).
    assert session.count(status=401) < refreshes / 2


def test_a_401_is_answered_by_one_refresh_and_a_retry(
    serve: Callable[..., str], clean_url: str, tmp_path: Path
) -> None:
    url = serve(token_ttl_seconds=1, slow_seconds=0.3, slow_rate=0.5)
    login, _ = make_client(url)
    login._token()
    refresh_token = login._refresh_token
    # A client whose clock lags an hour believes its tokens are fresh: only the server's 401 tells it.
    from cardlake.source.client import CardApiClient

    from .conftest import FAST_RETRIES, RecordingSession, demo_credentials

    session = RecordingSession()
    creds = demo_credentials(url, email=None, password=None, totp_secret=None, refresh_token=refresh_token)
    client = CardApiClient(creds, session=session, policy=FAST_RETRIES, clock=lambda: time.time() - 3600)
    zone = LocalLandingZone.at(tmp_path / "landing")
    manifest = Extractor(client, zone, page_size=10).extract_window("rewards", Window(*WINDOW))
    assert landed_by_id(zone, manifest, "rewards") == expected_records(clean_url, "rewards", Window(*WINDOW))
    assert session.count(status=401) >= 1 and session.count("/auth/login") == 0
    assert session.count("/auth/refresh-token", 200) >= session.count(status=401)


def test_malformed_records_land_as_they_came(serve: Callable[..., str], clean_url: str, tmp_path: Path) -> None:
    url = serve(malformed_rate=0.2)
    zone, manifest, _, window = run(url, tmp_path)
    landed = landed_by_id(zone, manifest, "transactions")
    expected = expected_records(clean_url, "transactions", window, malformed_rate=0.2)
    assert landed == expected  # nothing judged or dropped here
    assert any(rid.startswith("malformed-") for rid in landed)


def test_run_killed_between_pages_leaves_nothing_visible_and_a_rerun_completes(clean_url: str, tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    client, _ = make_client(clean_url)
    window = Window(*WINDOW)
    earlier = Window(window.start - timedelta(days=1), window.start)
    extractor = Extractor(client, zone, page_size=PAGE)
    extractor.extract_window("transactions", earlier)
    advance_watermark(zone, "cardapi", "transactions", earlier)
    watermark_before = zone.read_bytes(watermark_key("cardapi", "transactions"))

    class Killed(Exception):
        pass

    def kill_after_page_2(page: Any, key: str) -> None:
        if page.number == 2:
            raise Killed

    def backfill_once(hook: Any) -> None:
        for _ in extractor.backfill("transactions", window.start, window.end, timedelta(days=3), on_page=hook):
            pass

    with pytest.raises(Killed):
        backfill_once(kill_after_page_2)
    assert len(zone.list(page_prefix("cardapi", "transactions", window))) == 2  # pages landed, but...
    assert not zone.exists(manifest_key("cardapi", "transactions", window))  # ...no manifest names them
    assert zone.read_bytes(watermark_key("cardapi", "transactions")) == watermark_before

    backfill_once(None)
    manifest = json.loads(zone.read_bytes(manifest_key("cardapi", "transactions", window)))
    expected = expected_records(clean_url, "transactions", window)
    assert landed_by_id(zone, manifest, "transactions") == expected
    assert read_watermark(zone, "cardapi", "transactions") == window.end

    # Killing a re-run of a finished window takes its manifest away too: no reader sees mixed pages.
    with pytest.raises(Killed):
        backfill_once(kill_after_page_2)
    assert not zone.exists(manifest_key("cardapi", "transactions", window))
    assert read_watermark(zone, "cardapi", "transactions") == window.end  # never moves back


def test_rerun_with_fewer_pages_removes_stale_pages_before_the_manifest(clean_url: str, tmp_path: Path) -> None:
    zone = LocalLandingZone.at(tmp_path / "landing")
    client, _ = make_client(clean_url)
    window = Window(*WINDOW)
    small = Extractor(client, zone, page_size=PAGE).extract_window("transactions", window)
    big = Extractor(client, zone, page_size=PAGE * 4).extract_window("transactions", window)
    assert len(big["pages"]) < len(small["pages"])
    assert zone.list(page_prefix("cardapi", "transactions", window)) == [p["key"] for p in big["pages"]]
    assert landed_by_id(zone, big, "transactions") == expected_records(clean_url, "transactions", window)


def test_extraction_into_s3_lands_the_same_records(clean_url: str, moto_endpoint: str) -> None:
    zone = make_s3_zone(moto_endpoint, "extract-s3-test", folder="landing")
    client, _ = make_client(clean_url)
    window = Window(*WINDOW)
    extractor = Extractor(client, zone, page_size=PAGE * 5)
    manifest = extractor.extract_window("rewards", window)
    advance_watermark(zone, "cardapi", "rewards", window)
    assert landed_by_id(zone, manifest, "rewards") == expected_records(clean_url, "rewards", window)
    assert zone.uri_of(manifest["pages"][0]["key"]).startswith("s3://extract-s3-test/landing/raw/cardapi/rewards/")
    assert read_watermark(zone, "cardapi", "rewards") == window.end


def test_landed_pages_are_the_served_pages_adapted_field_by_field(clean_url: str, tmp_path: Path) -> None:
    """The fast client path (one-pass adapter, collector paused while parsing) lands byte for byte what the
    careful field-by-field adapter makes of each served page, and leaves the garbage collector as it was."""
    import gc

    import orjson

    from contracts import plutus_v3
    from contracts.api import ENTITY_PATHS
    from contracts.landing import iso

    assert gc.isenabled()
    zone, manifest, _, window = run(clean_url, tmp_path)
    assert gc.isenabled()
    client, _ = make_client(clean_url)
    low, high = iso(window.start), iso(window.end)
    for page in manifest["pages"]:
        number = len([p for p in manifest["pages"] if p["key"] <= page["key"]])
        params = {"from": low, "to": high, "limit": PAGE, "page": number}
        _, served = client._send("GET", ENTITY_PATHS["transactions"], params=params)
        careful = [plutus_v3._statement_to_landing(r) for r in served["data"]]
        kept = [r for r in careful if low <= r["updatedAt"] < high]
        body = orjson.dumps({"data": kept, "page": number, "limit": PAGE})
        assert zone.read_bytes(page["key"]) == gzip.compress(body, compresslevel=3, mtime=0)
