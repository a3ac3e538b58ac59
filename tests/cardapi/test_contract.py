"""Every data endpoint follows docs/contracts.md section 1: envelope, record shape, order, paging, window."""

from __future__ import annotations

import re

import pytest
import requests

from cardapi.reference import luhn_valid
from tests.cardapi.helpers import ApiClient

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
WINDOW = ("2024-01-10T00:00:00Z", "2024-01-13T00:00:00Z")
TXN_KEYS = {
    "id", "date", "type", "amount", "currency", "isDebit", "description", "cleanDescription", "mcc", "category",
    "card", "cardholder", "merchant", "isFraud", "originalTransactionId", "createdAt", "updatedAt",
}  # fmt: skip
REWARD_KEYS = {
    "id", "ticker", "amount", "fiatAmountRewarded", "fiatCurrency", "status", "type", "rewardRate",
    "transactionOriginalId", "createdAt", "updatedAt",
}  # fmt: skip


def test_envelope_and_transaction_record(api: ApiClient) -> None:
    response = api.get("transactions", **{"from": WINDOW[0], "to": WINDOW[1], "limit": 50, "page": 2})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"data", "page", "limit"} and body["page"] == 2 and body["limit"] == 50
    assert len(body["data"]) == 50
    for r in body["data"]:
        assert set(r) == TXN_KEYS
        assert re.fullmatch(r"[0-9a-f]{32}", r["id"])
        assert ISO.match(r["date"]) and ISO.match(r["createdAt"]) and ISO.match(r["updatedAt"])
        assert isinstance(r["amount"], int) and r["amount"] > 0
        assert r["currency"] == "GBP"
        assert r["type"] in ("CARD_SETTLEMENT", "CARD_REFUND")
        assert r["isDebit"] is (r["type"] == "CARD_SETTLEMENT")
        assert r["description"].startswith("fraud_") and r["cleanDescription"] == r["description"][6:]
        assert r["merchant"]["mcc"] == r["mcc"] and r["merchant"]["category"] == r["category"]
        assert len(r["card"]["number"]) == 16 and luhn_valid(r["card"]["number"])
        assert r["card"]["cardholderId"] == r["cardholder"]["id"]
        assert set(r["cardholder"]["address"]) == {"street", "city", "state", "zip", "lat", "long", "cityPopulation"}
        assert r["cardholder"]["gender"] in ("F", "M")


def test_reward_and_rate_records(api: ApiClient) -> None:
    rewards = api.page("rewards", "2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z", limit=2000)
    assert rewards
    for r in rewards:
        assert set(r) == REWARD_KEYS
        assert r["ticker"] == "PLU" and r["fiatCurrency"] == "GBP" and isinstance(r["fiatAmountRewarded"], int)
        assert r["status"] in ("pending", "approved", "rejected")
        if r["type"] == "DAILY_REBATE_DISTRIBUTION":
            assert r["rewardRate"] in (1.0, 2.0, 3.0) and r["transactionOriginalId"]
        else:
            assert r["type"] in ("PERK_REWARD", "BOOST_REWARD")
            assert r["rewardRate"] is None and r["transactionOriginalId"] is None
    rates = api.page("plu_rates", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    assert len(rates) == 24
    assert rates[0] == {"timestamp": "2024-01-01T00:00:00Z", "ticker": "PLU", "currency": "GBP",
                        "price": rates[0]["price"]}  # fmt: skip
    assert all(r["price"] > 0 for r in rates)


@pytest.mark.parametrize("entity", ["transactions", "rewards", "plu_rates"])
def test_paging_is_ordered_complete_and_ends_with_a_short_page(api: ApiClient, entity: str) -> None:
    everything = api.page(entity, *WINDOW, limit=5000)
    assert 0 < len(everything) < 5000
    paged = api.extract(entity, *WINDOW, limit=97)
    assert paged == everything
    key = "timestamp" if entity == "plu_rates" else "updatedAt"
    keys = [(r[key], r.get("id", "")) for r in everything]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(WINDOW[0] <= k[0] < WINDOW[1] for k in keys)
    beyond = api.page(entity, *WINDOW, page=len(everything) // 97 + 2, limit=97)
    assert beyond == []


def test_window_is_half_open_on_updated_at(api: ApiClient) -> None:
    whole = api.extract("transactions", "2024-01-10T00:00:00Z", "2024-01-12T00:00:00Z", limit=1000)
    first = api.extract("transactions", "2024-01-10T00:00:00Z", "2024-01-11T00:00:00Z", limit=1000)
    second = api.extract("transactions", "2024-01-11T00:00:00Z", "2024-01-12T00:00:00Z", limit=1000)
    assert first + second == whole
    # a window starting exactly at a record's updatedAt includes it; one ending there excludes it
    t = whole[10]["updatedAt"]
    assert whole[10] in api.extract("transactions", t, "2024-01-12T00:00:00Z", limit=1000)
    assert whole[10] not in api.extract("transactions", "2024-01-10T00:00:00Z", t, limit=1000)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 5001}, "limit"),
        ({"page": 0}, "page"),
        ({"from": "yesterday"}, "ISO-8601"),
        ({"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"}, "before"),
    ],
)
def test_bad_queries_get_a_clear_422(api: ApiClient, params: dict, fragment: str) -> None:
    response = api.get("transactions", **params)
    assert response.status_code == 422
    assert fragment in response.text


def test_openapi_documents_endpoints_and_records(server: str) -> None:
    spec = requests.get(f"{server}/openapi.json", timeout=10).json()
    assert {"/auth/login", "/auth/refresh-token", "/transactions", "/v3/rewards", "/rates/plu"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert set(schemas["Transaction"]["properties"]) == TXN_KEYS
    assert set(schemas["Reward"]["properties"]) == REWARD_KEYS
    assert set(schemas["PluRate"]["properties"]) == {"timestamp", "ticker", "currency", "price"}
    page_ref = spec["paths"]["/transactions"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page_ref["$ref"].endswith("/TransactionPage")
    params = {p["name"] for p in spec["paths"]["/v3/rewards"]["get"]["parameters"]}
    assert {"limit", "page", "from", "to"} <= params
    assert "401" in spec["paths"]["/rates/plu"]["get"]["responses"]
