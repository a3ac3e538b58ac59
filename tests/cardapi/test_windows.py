"""Windows and state changes: consecutive windows see every change once; same seed, same bytes."""

from __future__ import annotations

import itertools
from datetime import date

import requests

from cardapi import expected
from cardapi.server import serve_in_thread
from tests.cardapi.helpers import PATHS, ApiClient, small_config

DAYS = [f"2024-{m:02d}-{d:02d}T00:00:00Z" for m, d in [(1, 1), (1, 20), (2, 3), (2, 10), (3, 1), (3, 20), (4, 30)]]


def test_consecutive_windows_pick_up_each_reward_state_exactly_once() -> None:
    config = small_config()
    seen: list[tuple[str, str, str]] = []
    latest: dict[str, dict] = {}
    for a, b in itertools.pairwise(DAYS):
        for r in expected.records(config, "rewards", a, b):
            assert a <= r["updatedAt"] < b
            seen.append((r["id"], r["status"], r["updatedAt"]))
            latest[r["id"]] = r
    assert len(seen) == len(set(seen))  # no state served twice
    # the same records and final states as one window over the whole range
    whole = {r["id"]: r for r in expected.records(config, "rewards", DAYS[0], DAYS[-1])}
    assert latest == whole
    statuses = [s for _, s, _ in seen]
    assert "pending" in statuses and "approved" in statuses and "rejected" in statuses
    # a reward first seen pending is later seen again, approved, 45 days on
    first_pending = next(i for i, (_, s, _) in enumerate(seen) if s == "pending")
    rid = seen[first_pending][0]
    assert [s for i, s, _ in seen if i == rid] in (["pending", "approved"], ["pending", "rejected"])


def test_a_window_serves_the_latest_state_as_of_its_end() -> None:
    config = small_config()
    # created in early January, approved mid-February: a window ending before approval sees it pending
    early = {r["id"]: r for r in expected.records(config, "rewards", "2024-01-01T00:00:00Z", "2024-01-20T00:00:00Z")}
    assert early and all(r["status"] == "pending" for r in early.values())
    late = {r["id"]: r for r in expected.records(config, "rewards", "2024-01-01T00:00:00Z", "2024-03-20T00:00:00Z")}
    decided = [rid for rid, r in early.items() if rid in late and r != late[rid]]
    assert decided and all(late[rid]["status"] in ("approved", "rejected") for rid in decided)


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    params = {"from": "2024-01-05T00:00:00Z", "to": "2024-01-25T00:00:00Z", "limit": 300, "page": 2}
    bodies = []
    for config in (small_config(), small_config(), small_config(seed=8)):
        with serve_in_thread(config) as url:
            client = ApiClient(url, config)
            headers = {"Authorization": f"Bearer {client.token}"}
            bodies.append([requests.get(f"{url}{p}", params=params, headers=headers, timeout=30).content
                           for p in PATHS.values()])  # fmt: skip
    assert bodies[0] == bodies[1]
    assert all(len(b) > 1000 for b in bodies[0])
    assert bodies[0][0] != bodies[2][0] and bodies[0][1] != bodies[2][1]


def test_expected_records_equal_what_the_api_serves(api: ApiClient, config) -> None:
    for entity in PATHS:
        served = api.extract(entity, "2024-01-28T00:00:00Z", "2024-02-04T00:00:00Z", limit=400)
        assert served == list(expected.records(config, entity, "2024-01-28T00:00:00Z", date(2024, 2, 4)))
        assert served


def test_no_transactions_outside_the_data_range(api: ApiClient) -> None:
    assert api.page("transactions", "2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z") == []
    dates = [t["date"] for t in api.extract("transactions", "2024-02-20T00:00:00Z", "2024-05-01T00:00:00Z", 2000)]
    assert dates and max(dates) < "2024-03-01T00:00:00Z"
