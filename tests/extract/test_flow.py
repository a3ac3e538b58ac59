"""The `extract` flow through Prefect: a finished window is cached (no API call), force=True re-extracts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from contracts import names
from contracts.landing import Window, manifest_key
from contracts.results import StageResult, TableCounts

from .conftest import WINDOW

pytestmark = [pytest.mark.slow, pytest.mark.prefect]


@pytest.fixture()
def api_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every HTTP request any requests.Session makes in this process (the task builds its own client)."""
    calls: list[str] = []
    original = requests.Session.request

    def counting(self: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"{method} {url}")
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", counting)
    yield calls


def test_extract_flow_caches_a_finished_window_and_force_reextracts(
    prefect_harness: None,
    cardlake_home: Path,
    clean_url: str,
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.extract import extract

    monkeypatch.setenv("CARDLAKE_API_BASE_URL", clean_url)
    monkeypatch.setenv("CARDLAKE_API_PAGE_SIZE", "200")
    window = Window(*WINDOW)

    state = extract(window, entities=("transactions", "plu_rates"), return_state=True)
    first = state.result()
    assert isinstance(first, StageResult) and first.stage == "extract"
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    assert {r.name for r in runs} == {
        "extract-transactions-20250601T000000Z_20250604T000000Z",
        "extract-plu_rates-20250601T000000Z_20250604T000000Z",
        "advance-watermark-transactions",
        "advance-watermark-plu_rates",
    }
    calls_first = [c for c in api_calls if c.split(" ", 1)[1].startswith(clean_url)]
    assert calls_first, "the first run must call the API"
    assert [t.table for t in first.tables] == ["raw/transactions", "raw/plu_rates"]
    tx = first.table("raw/transactions")
    pages, distinct_ids = _pages_and_distinct_ids(tx)
    assert tx.read == tx.accepted == tx.inserted == distinct_ids > 0 and tx.rejected == 0 and pages >= 2
    assert first.table("raw/plu_rates").read == 72  # hourly prices over three days
    landing = cardlake_home / "landing"
    tx_manifest_key = manifest_key("cardapi", "transactions", window)
    assert tx_manifest_key.endswith("/20250601T000000Z_20250604T000000Z.json")  # the window's label
    manifest = json.loads((landing / tx_manifest_key).read_text())
    assert manifest["record_count"] == tx.read and len(manifest["pages"]) == pages
    assert sum(p["bytes"] for p in manifest["pages"]) > 0
    watermark = json.loads((landing / "raw/cardapi/transactions/_watermark.json").read_text())
    assert watermark == {**watermark, "watermark": "2025-06-04T00:00:00Z", "manifest": tx_manifest_key}

    api_calls.clear()
    second = extract(window, entities=("transactions", "plu_rates"))
    assert second == first
    assert not [c for c in api_calls if clean_url in c], "a cached window must not call the API"

    forced = extract(window, entities=("transactions",), force=True)
    assert any(clean_url in c for c in api_calls), "force=True must extract again"
    assert forced.table("raw/transactions").read == tx.read


def _pages_and_distinct_ids(counts: TableCounts) -> tuple[int, int]:
    """The page and distinct-id counts the extract stage notes as "N page(s), M distinct id(s)"."""
    match = re.fullmatch(r"([\d,]+) page\(s\), ([\d,]+) distinct id\(s\)", counts.note)
    assert match, f"unexpected note {counts.note!r}"
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def test_extract_flow_rejects_unknown_entities(prefect_harness: None, cardlake_home: Path) -> None:
    from flows.extract import extract

    with pytest.raises(ValueError, match="unknown entity 'balances'"):
        extract(Window(*WINDOW), entities=("transactions", "balances"))


def test_for_the_real_api_the_flow_takes_credentials_from_the_block(
    prefect_harness: None, cardlake_home: Path, clean_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import SecretStr

    from blocks.credentials import CardApiCredentials
    from flows.extract import extract

    monkeypatch.setenv("CARDLAKE_SOURCE", "card-api")
    monkeypatch.setenv("CARDLAKE_API_BASE_URL", "http://127.0.0.1:9")  # unused: the block names the API
    monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "test-pan-key")  # the real API refuses the public demo key
    # As production: only a refresh token (the simulator issues one through its demo login).
    refresh_token = _demo_login(clean_url)["refresh_token"]
    CardApiCredentials(base_url=clean_url, client_id="cardlake-local", refresh_token=SecretStr(refresh_token)).save(
        names.CARD_API_CREDENTIALS_BLOCK, overwrite=True
    )
    result = extract(Window(*WINDOW), entities=("transactions", "plu_rates"))
    assert result.table("raw/transactions").read > 0
    assert result.table("raw/plu_rates").read == 0  # the real API has no rate feed: the entity lands empty


def _demo_login(url: str) -> dict[str, str]:
    import requests

    from cardapi.auth import totp_now

    body = {"email": "demo@cardlake.local", "password": "cardlake-demo", "totp": totp_now("JBSWY3DPEHPK3PXP"),
            "clientId": "cardlake-local"}  # fmt: skip
    response = requests.post(f"{url}/auth/login", json=body, timeout=10)
    response.raise_for_status()
    return response.json()
