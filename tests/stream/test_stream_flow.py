"""The stream's poller as a Prefect flow, through Prefect's test harness, against the live simulator over HTTP."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from cardapi.config import SimulatorConfig
from cardapi.live import live_transactions
from cardapi.server import serve_in_thread

pytestmark = pytest.mark.prefect


def test_the_flow_lands_each_poll_as_pages_then_a_manifest_and_moves_the_watermark(
    prefect_harness: None, cardlake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.stream import stream_poll

    with serve_in_thread(SimulatorConfig(seed=3, n_cards=20), live=lambda sim: live_transactions(sim, 40.0)) as url:
        monkeypatch.setenv("CARDLAKE_API_BASE_URL", url)
        landed = stream_poll(poll_seconds=1.0, settle_seconds=0.0, max_polls=4)
    base = cardlake_home / "landing" / "raw" / "cardapi" / "transactions"
    manifests = [json.loads(p.read_text()) for p in sorted((base / "_manifests").glob("*.json"))]
    assert landed > 0 and landed == sum(m["record_count"] for m in manifests)
    for manifest in manifests:  # every page a manifest names is there
        assert all((cardlake_home / "landing" / page["key"]).exists() for page in manifest["pages"])
    for earlier, later in itertools.pairwise(manifests):  # consecutive, no gap, no overlap
        assert earlier["window_end"] == later["window_start"]
    watermark = json.loads((base / "_watermark.json").read_text())["watermark"]
    assert watermark == manifests[-1]["window_end"]
