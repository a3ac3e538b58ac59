"""The stream's poller under a failing API: a failed poll leaves the watermark, the next asks again, and what
lands over many failures is every transaction once, with no gap (the live simulator over HTTP)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cardapi.config import SimulatorConfig
from cardapi.live import live_transactions
from cardapi.server import serve_in_thread
from cardlake.config import resolve_config
from cardlake.landing import LocalLandingZone
from cardlake.source.client import CardApiClient
from cardlake.source.extraction import read_landed_records
from cardlake.source.retry import RetryPolicy
from cardlake.stream_poller import Poll, poll_until
from tests.extract.conftest import demo_credentials

RATE = 40.0


def test_polls_that_fail_are_asked_again_and_nothing_is_lost_or_landed_twice(
    cardlake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.time()
    faulty = SimulatorConfig(seed=3, n_cards=20, fault_5xx_rate=0.5, fault_429_rate=0.2)
    clean = SimulatorConfig(seed=3, n_cards=20)
    polls: list[Poll] = []
    with serve_in_thread(faulty, live=lambda sim: live_transactions(sim, RATE, started_at=started)) as url:
        monkeypatch.setenv("CARDLAKE_API_BASE_URL", url)
        config = resolve_config(with_pan_key=False)
        # one try per request: most polls fail, as when the API has a bad minute
        poll_until(config, threading.Event(), poll_seconds=0.3, settle_seconds=0.0, max_polls=25,
                   on_poll=polls.append, retry_policy=RetryPolicy(max_attempts=1))  # fmt: skip
    failed = [p for p in polls if p.failure is not None]
    assert failed and len(failed) < len(polls), [p.failure for p in polls]
    assert all("HTTP" in (p.failure or "") for p in failed)  # says why, in one line

    zone = LocalLandingZone.at(cardlake_home / "landing")
    base = cardlake_home / "landing" / "raw" / "cardapi" / "transactions"
    manifests = [json.loads(p.read_text()) for p in sorted((base / "_manifests").glob("*.json"))]
    for earlier, later in itertools.pairwise(manifests):  # a failed poll left no hole between windows
        assert earlier["window_end"] == later["window_start"]
    landed = [r["id"] for m in manifests for r in read_landed_records(zone, m)]

    # The same live ledger without faults: everything up to the watermark, once.
    first = datetime.fromisoformat(manifests[0]["window_start"])
    last = datetime.fromisoformat(manifests[-1]["window_end"])
    with serve_in_thread(clean, live=lambda sim: live_transactions(sim, RATE, started_at=started)) as clean_url:
        client = CardApiClient(demo_credentials(clean_url))
        with client:
            served = [r["id"] for page in client.iter_pages("transactions", first, last) for r in page.records]
    assert served and sorted(landed) == sorted(served)
    assert len(landed) == len(set(landed))
    assert last <= datetime.now(UTC)
