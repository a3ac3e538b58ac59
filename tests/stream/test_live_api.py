"""Live mode of the simulator: records appear as the clock passes, createdAt is when each became visible, and the
v3 paging and the watermark semantics the extraction client relies on still hold (served over real HTTP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cardapi.config import SimulatorConfig
from cardapi.live import LiveTransactions, live_transactions
from cardapi.server import serve_in_thread
from cardapi.source import Simulator
from cardlake.landing import LocalLandingZone
from cardlake.source.client import CardApiClient
from cardlake.source.extraction import Extractor, advance_watermark, read_landed_records, read_watermark
from contracts.landing import Window, parse_iso
from tests.extract.conftest import demo_credentials

RATE = 20.0
T0 = 1_780_000_000.25  # the first record appears a quarter of a second into this second


class ManualClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock(T0 - 1)


@pytest.fixture()
def live_url(clock: ManualClock) -> Iterator[tuple[str, list[LiveTransactions]]]:
    built: list[LiveTransactions] = []

    def hook(sim: Simulator) -> LiveTransactions:
        built.append(live_transactions(sim, RATE, started_at=T0, clock=clock))
        return built[-1]

    with serve_in_thread(SimulatorConfig(seed=7, n_cards=30), live=hook) as url:
        yield url, built


def _records(url: str, start: float, end: float, limit: int = 500) -> list[dict]:
    client = CardApiClient(demo_credentials(url))
    with client:
        window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
        return [r for page in client.iter_pages("transactions", *window, limit=limit) for r in page.records]


def test_records_appear_as_the_clock_passes_with_created_at_when_they_became_visible(
    live_url: tuple[str, list[LiveTransactions]], clock: ManualClock
) -> None:
    url, _ = live_url
    assert _records(url, T0 - 60, T0 + 60) == []  # nothing before the start

    clock.now = T0 + 2.5  # records 0..50 are visible (T0 + k/20 <= T0 + 2.5)
    seen = _records(url, T0 - 60, T0 + 60)
    assert len(seen) == 51
    for record in seen:
        created = parse_iso(record["createdAt"]).timestamp()
        assert record["updatedAt"] == record["createdAt"] == record["date"]
        assert created <= clock.now  # never before it became visible...
        assert created >= T0 - 1  # ...and stamped with the second it did
    assert len({r["id"] for r in seen}) == len(seen)

    clock.now = T0 + 5.0
    later = _records(url, T0 - 60, T0 + 60)
    assert len(later) == 101
    assert {r["id"] for r in seen} <= {r["id"] for r in later}


def test_a_window_that_has_passed_pages_the_same_on_every_request(
    live_url: tuple[str, list[LiveTransactions]], clock: ManualClock
) -> None:
    url, built = live_url
    clock.now = T0 + 10
    start, end = int(T0) + 2, int(T0) + 7  # a closed window: it ended before now
    small_pages = _records(url, start, end, limit=7)  # many pages
    one_page = _records(url, start, end, limit=5000)
    assert small_pages == one_page
    assert len(one_page) == 5 * RATE
    keys = [(r["updatedAt"], r["id"]) for r in one_page]
    assert keys == sorted(keys)  # ordered by (updatedAt, id), as the historical statement
    assert [r["id"] for r in one_page] == [item.id for item in built[0].iterate(start, end)]

    clock.now = T0 + 3600  # an hour later the passed window still holds exactly the same records
    assert _records(url, start, end, limit=7) == one_page


def test_the_extractor_lands_live_windows_and_moves_the_watermark_without_gaps(
    live_url: tuple[str, list[LiveTransactions]], clock: ManualClock, tmp_path: Path
) -> None:
    url, _ = live_url
    zone = LocalLandingZone.at(tmp_path / "landing")
    landed: list[str] = []
    with CardApiClient(demo_credentials(url)) as client:
        extractor = Extractor(client, zone, page_size=16)
        cursor = int(T0)
        for step in (3, 4, 2):  # polls at irregular times, each from the watermark up to the last whole second
            clock.now += step
            window = Window(datetime.fromtimestamp(cursor, UTC), datetime.fromtimestamp(int(clock.now), UTC))
            manifest = extractor.extract_window("transactions", window)
            advance_watermark(zone, "cardapi", "transactions", window)
            landed.extend(r["id"] for r in read_landed_records(zone, manifest))
            watermark = read_watermark(zone, "cardapi", "transactions")
            assert watermark is not None
            cursor = int(watermark.timestamp())
    everything = _records(url, T0 - 1, cursor)
    assert landed == [r["id"] for r in everything]  # every record once, none skipped between polls
    assert len(landed) == len(set(landed))


def test_a_kaggle_file_replays_in_its_own_order_compressed_to_the_rate(clock: ManualClock) -> None:
    from cardapi.source import build_simulator
    from tests.cardapi.helpers import KAGGLE_HEAD

    if not KAGGLE_HEAD.exists():
        pytest.skip(f"the Kaggle head file is not in shared/: {KAGGLE_HEAD}")
    sim = build_simulator(SimulatorConfig(replay_kaggle=KAGGLE_HEAD))
    live = live_transactions(sim, 100.0, started_at=T0, clock=clock)
    clock.now = T0 + 2
    served = [item for item in live.iterate(int(T0), int(T0) + 3)]
    assert len(served) == 201
    originals = sorted(
        (t for g in range(live.ledger.first_day, live.ledger.end_day) for t in live.ledger.day(g).txns),
        key=lambda t: (t.ts, t.id),
    )[:201]
    ids = {live.live_id(0, t.id) for t in originals}
    assert {item.id for item in served} == ids  # the file's first 201 rows, two seconds at 100/s


def test_cli_live_mode_serves_transactions_at_the_wall_clock_rate() -> None:
    port = 18751
    command = [sys.executable, "-m", "cardlake.cli", "api", "serve", "--live", "--rate", "50", "--port", str(port),
               "--cards", "30"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert "live: 50 transactions/s" in banner
        started = time.time()
        time.sleep(2.2)
        now = time.time()
        seen = _records(f"http://127.0.0.1:{port}", started - 30, int(now))
        created = [parse_iso(r["createdAt"]).timestamp() for r in seen]
        assert created and max(created) <= now
        elapsed = now - started
        assert 0.8 * 50 * (int(now) - started) <= len(seen) <= 50 * (elapsed + 5)  # ~50 a second since it started
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
