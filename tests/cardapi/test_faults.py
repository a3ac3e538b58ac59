"""Injected faults are observable, deterministic per fault_seed, and never change the good records."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from cardapi import expected
from cardapi.config import SimulatorConfig
from cardapi.server import serve_in_thread
from tests.cardapi.helpers import ApiClient, small_config

WINDOW = ("2024-01-05T00:00:00Z", "2024-01-20T00:00:00Z")


@pytest.fixture()
def faulty(request: pytest.FixtureRequest) -> Iterator[tuple[ApiClient, SimulatorConfig]]:
    """A server started with the fault settings given as the test's indirect parameter."""
    config = small_config(**request.param)
    with serve_in_thread(config) as url:
        yield ApiClient(url, config), config


def _statuses(api: ApiClient, n: int = 30) -> list[int]:
    return [api.get("transactions", **{"from": WINDOW[0], "to": WINDOW[1], "page": p}).status_code for p in range(1, n)]


@pytest.mark.parametrize("faulty", [{"fault_429_rate": 0.5, "retry_after_seconds": 2}], indirect=True)
def test_429_with_retry_after(faulty: tuple[ApiClient, SimulatorConfig]) -> None:
    api, _ = faulty
    statuses = _statuses(api)
    assert 429 in statuses and 200 in statuses and set(statuses) <= {200, 429}
    page = statuses.index(429) + 1
    params = {"from": WINDOW[0], "to": WINDOW[1], "page": page}
    limited = api.get("transactions", **params)
    for _ in range(20):  # the same request, retried, eventually succeeds
        if limited.status_code == 200:
            break
        assert limited.headers["Retry-After"] == "2" and limited.json()["detail"]
        limited = api.get("transactions", **params)
    assert limited.status_code == 200


@pytest.mark.parametrize("faulty", [{"fault_5xx_rate": 0.4}], indirect=True)
def test_server_errors(faulty: tuple[ApiClient, SimulatorConfig]) -> None:
    api, _ = faulty
    statuses = _statuses(api)
    assert 503 in statuses and 200 in statuses and set(statuses) <= {200, 503}


@pytest.mark.parametrize("faulty", [{"slow_seconds": 0.4, "slow_rate": 0.5}], indirect=True)
def test_slow_responses(faulty: tuple[ApiClient, SimulatorConfig]) -> None:
    api, _ = faulty
    durations = []
    for p in range(1, 9):
        started = time.monotonic()
        assert api.get("plu_rates", page=p, limit=10).status_code == 200
        durations.append(time.monotonic() - started)
    assert any(d >= 0.4 for d in durations) and any(d < 0.3 for d in durations)


@pytest.mark.parametrize("faulty", [{"fault_truncated_rate": 0.5}], indirect=True)
def test_truncated_bodies_are_invalid_json(faulty: tuple[ApiClient, SimulatorConfig]) -> None:
    api, _ = faulty
    broken = 0
    for p in range(1, 15):
        response = api.get("transactions", **{"from": WINDOW[0], "to": WINDOW[1], "page": p, "limit": 50})
        assert response.status_code == 200
        try:
            response.json()
        except requests.JSONDecodeError:
            broken += 1
    assert 0 < broken < 14


@pytest.mark.parametrize("faulty", [{"fault_duplicate_rate": 0.5}], indirect=True)
def test_duplicates_repeat_the_previous_pages_last_record(faulty: tuple[ApiClient, SimulatorConfig]) -> None:
    api, config = faulty
    pages = [api.page("transactions", *WINDOW, page=p, limit=40) for p in range(1, 12)]
    repeats = [p for p in range(1, len(pages)) if pages[p] and pages[p][0] == pages[p - 1][-1]]
    assert repeats
    for p in repeats:
        assert len(pages[p]) == 41  # the good records of the page are all still there
    good = list(expected.records(config, "transactions", *WINDOW))[: 11 * 40]
    deduplicated = list({r["id"]: r for page in pages for r in page}.values())
    assert deduplicated == good


@pytest.mark.parametrize("faulty", [{"malformed_rate": 0.05}], indirect=True)
def test_malformed_records_are_extra_and_countable(faulty: tuple[ApiClient, SimulatorConfig]) -> None:
    api, config = faulty
    served = api.extract("transactions", *WINDOW, limit=1000)
    bad = [r for r in served if expected.is_malformed(r)]
    good = [r for r in served if not expected.is_malformed(r)]
    assert good == list(expected.records(small_config(), "transactions", *WINDOW))
    assert 0.02 < len(bad) / len(good) < 0.09
    assert served == list(expected.records(config, "transactions", *WINDOW))

    def broken(r: dict) -> bool:
        return (
            "amount" not in r or not isinstance(r["amount"], int) or not 0 < r["amount"] < 10**9
            or r.get("currency") != "GBP" or "card" not in r or not isinstance(r.get("isDebit"), bool)
            or not str(r.get("date", "")).startswith("2024-0")
        )  # fmt: skip

    assert all(broken(r) for r in bad)
    rewards = api.extract("rewards", *WINDOW, limit=1000)
    assert any(expected.is_malformed(r) for r in rewards)


@pytest.mark.slow
def test_retried_faulty_extraction_equals_fault_free_one() -> None:
    faults = {
        "fault_429_rate": 0.2, "retry_after_seconds": 0, "fault_5xx_rate": 0.2, "fault_truncated_rate": 0.2,
        "fault_duplicate_rate": 0.3, "fault_seed": 3,
    }  # fmt: skip
    results = []
    for config in (small_config(), small_config(**faults), small_config(**faults)):
        with serve_in_thread(config) as url:
            api = ApiClient(url, config)
            results.append({e: api.extract(e, *WINDOW, limit=150, retry=True) for e in ("transactions", "rewards")})
    for entity in ("transactions", "rewards"):
        clean = results[0][entity]
        for faulty_run in results[1:]:
            assert list({r["id"]: r for r in faulty_run[entity]}.values()) == clean
        assert results[1][entity] == results[2][entity]  # deterministic per fault_seed
