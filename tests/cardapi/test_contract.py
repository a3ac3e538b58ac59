"""Every data endpoint follows docs/contracts.md section 1: envelope, record shape, order, paging, window."""

from __future__ import annotations

import re

import pytest
import requests

from cardapi.reference import luhn_valid
from contracts.plutus_v3 import (
    ADAPTER_ERROR,
    major_to_minor,
    reward_from_landing,
    reward_to_landing,
    statement_from_landing,
    statement_to_landing,
)
from tests.cardapi.helpers import ApiClient

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
WINDOW = ("2024-01-10T00:00:00Z", "2024-01-13T00:00:00Z")
TXN_KEYS = {
    "id", "date", "type", "amount", "currency", "isDebit", "status", "totalPluAmount", "transactionDescription",
    "cleanDescription", "mcc", "category", "card", "cardholder", "merchant", "isFraud", "originalTransactionId",
    "createdAt", "updatedAt",
}  # fmt: skip
REWARD_KEYS = {
    "id", "ticker", "amount", "fiatAmountRewarded", "fiatCurrency", "status", "type", "rewardRate",
    "transactionOriginalId", "referenceType", "referenceId", "transactionDescription", "mcc", "createdAt",
    "updatedAt",
}  # fmt: skip
MAJOR = re.compile(r"^[0-9]+\.[0-9]{2}$")
PLU = re.compile(r"^[0-9]+\.[0-9]{8}$")


def test_envelope_and_v3_statement_record(api: ApiClient) -> None:
    response = api.get("transactions", **{"from": WINDOW[0], "to": WINDOW[1], "limit": 50, "page": 2})
    assert response.status_code == 200
    assert response.request.path_url.startswith("/v3/statement/list?")
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"data", "page", "limit"} and body["page"] == 2 and body["limit"] == 50
    assert len(body["data"]) == 50
    for r in body["data"]:
        assert set(r) == TXN_KEYS
        assert re.fullmatch(r"[0-9a-f]{32}", r["id"])
        assert ISO.match(r["date"]) and ISO.match(r["createdAt"]) and ISO.match(r["updatedAt"])
        assert MAJOR.match(r["amount"]) and r["amount"] != "0.00"  # major units as text, as the real API
        assert r["currency"] == "GBP" and r["status"] is None and r["totalPluAmount"] is None
        assert r["type"] in ("CARD_SETTLEMENT", "CARD_REFUND")
        assert r["isDebit"] is (r["type"] == "CARD_SETTLEMENT")
        description = r["transactionDescription"]
        assert description.startswith("fraud_") and r["cleanDescription"] == description[6:]
        # the issuer extension (Sparkov fields)
        assert r["merchant"]["mcc"] == r["mcc"] and r["merchant"]["category"] == r["category"]
        assert len(r["card"]["number"]) == 16 and luhn_valid(r["card"]["number"])
        assert r["card"]["cardholderId"] == r["cardholder"]["id"]
        assert set(r["cardholder"]["address"]) == {"street", "city", "state", "zip", "lat", "long", "cityPopulation"}
        assert r["cardholder"]["gender"] in ("F", "M")
        landing = statement_to_landing(r)
        assert ADAPTER_ERROR not in landing and landing["amount"] == major_to_minor(r["amount"])
        assert statement_from_landing(landing) == r  # the simulator serves what the adapter reads


def test_v3_reward_records_cover_rebates_partials_perks_and_bonuses(api: ApiClient) -> None:
    response = api.get("rewards", **{"from": "2024-01-01T00:00:00Z", "to": "2024-03-01T00:00:00Z", "limit": 5000})
    assert response.request.path_url.startswith("/v3/rewards/list?")
    rewards = response.json()["data"]
    kinds: dict[str, list[dict]] = {"rebate": [], "partial": [], "perk": [], "bonus": []}
    for r in rewards:
        assert set(r) == REWARD_KEYS
        assert r["ticker"] == "PLU" and r["fiatCurrency"] == "GBP" and PLU.match(r["amount"])
        assert r["status"] in ("pending", "approved", "rejected")
        reference = r["referenceType"]
        if reference == "contis_transactions":
            kinds["rebate"].append(r)
            assert r["type"] == "DAILY_REBATE_DISTRIBUTION" and r["rewardRate"] in (1.0, 2.0, 3.0)
            assert r["transactionOriginalId"] == r["referenceId"] and isinstance(r["fiatAmountRewarded"], int)
            assert r["transactionDescription"] and r["mcc"]
        elif reference == "fiat_partial":
            kinds["partial"].append(r)
            assert r["transactionOriginalId"] is None and r["referenceId"].startswith("rw_")
        elif re.fullmatch(r"perk_[0-9]+_reward", reference):
            kinds["perk"].append(r)
            assert r["type"] == "DAILY_REBATE_DISTRIBUTION" and r["rewardRate"] == 0.0
            assert r["fiatAmountRewarded"] > 0 and r["transactionOriginalId"] is None
        else:
            kinds["bonus"].append(r)
            assert (r["type"], reference, r["fiatAmountRewarded"], r["rewardRate"]) == (
                "REBATE_BONUS",
                "manual",
                None,
                None,
            )
        landing = reward_to_landing(r)
        assert ADAPTER_ERROR not in landing and reward_from_landing(landing) == r
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}
    parents = {r["id"] for r in kinds["rebate"]}
    assert {r["referenceId"] for r in kinds["partial"]} <= parents  # a partial points at its parent reward


def test_rate_records(api: ApiClient) -> None:
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
    paths = {"/auth/login", "/auth/refresh-token", "/v3/statement/list", "/v3/rewards/list", "/rates/plu"}
    assert paths <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert set(schemas["Transaction"]["properties"]) == TXN_KEYS
    assert set(schemas["Reward"]["properties"]) == REWARD_KEYS
    assert set(schemas["PluRate"]["properties"]) == {"timestamp", "ticker", "currency", "price"}
    page_ref = spec["paths"]["/v3/statement/list"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page_ref["$ref"].endswith("/TransactionPage")
    params = {p["name"] for p in spec["paths"]["/v3/rewards/list"]["get"]["parameters"]}
    assert {"limit", "page", "from", "to"} <= params
    assert "401" in spec["paths"]["/rates/plu"]["get"]["responses"]
