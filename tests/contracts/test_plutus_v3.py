"""contracts.plutus_v3 on hand-built records that follow the documented real v3 shapes (docs/source-api.md).

One record per case of issue 16; each test names what the landing record must say about it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from contracts.plutus_v3 import (
    ADAPTER_ERROR,
    major_to_minor,
    minor_to_major,
    reward_from_landing,
    reward_to_landing,
    statement_from_landing,
    statement_to_landing,
    to_landing,
    window_time,
)


def v3_reward(**fields: Any) -> dict[str, Any]:
    """A `GET /v3/rewards/list` record as public clients read it (a rebate on a card payment)."""
    record: dict[str, Any] = {
        "id": "rw_1", "ticker": "PLU", "amount": "0.84912345", "fiatAmountRewarded": 4997, "fiatCurrency": "GBP",
        "status": "approved", "type": "DAILY_REBATE_DISTRIBUTION", "rewardRate": 3,
        "transactionOriginalId": "tx_1", "referenceType": "contis_transactions", "referenceId": "tx_1",
        "transactionDescription": "TESCO STORES 1234", "mcc": "5411",
        "createdAt": "2023-03-02T10:15:00.000Z", "updatedAt": "2023-04-16T10:15:00.000Z",
    }  # fmt: skip
    record.update(fields)
    return record


def v3_statement(**fields: Any) -> dict[str, Any]:
    """A `GET /v3/statement/list` record: a card purchase, amount in major units as text."""
    record: dict[str, Any] = {
        "id": "tx_1", "date": "2023-03-02T09:00:00.000Z", "type": "CARD_SETTLEMENT", "amount": "49.97",
        "currency": "GBP", "isDebit": True, "status": "SETTLED", "totalPluAmount": "0.84912345",
        "transactionDescription": "TESCO STORES 1234", "cleanDescription": "Tesco", "mcc": "5411",
        "originalTransactionId": None,
    }  # fmt: skip
    record.update(fields)
    return record


# ---- rewards -------------------------------------------------------------------------------------------------


def test_an_approved_rebate_lands_with_its_transaction_merchant_and_mcc() -> None:
    landing = reward_to_landing(v3_reward())
    assert landing == {
        "id": "rw_1", "ticker": "PLU", "amount": 0.84912345, "fiatAmountRewarded": 4997, "fiatCurrency": "GBP",
        "status": "approved", "type": "DAILY_REBATE_DISTRIBUTION", "rewardRate": 3.0,
        "transactionOriginalId": "tx_1", "referenceType": "contis_transactions", "referenceId": "tx_1",
        "parentRewardId": None, "merchantName": "TESCO STORES 1234", "mcc": "5411",
        "createdAt": "2023-03-02T10:15:00Z", "updatedAt": "2023-04-16T10:15:00Z",
    }  # fmt: skip


def test_an_approval_with_a_reason_is_approved_not_rejected() -> None:
    """A record that carries the legacy `available`/`reason` pair instead of a status."""
    record = v3_reward(status=None, available=False, reason="Automated approval. Trx below 500")
    assert reward_to_landing(record)["status"] == "approved"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"status": "pending"}, "pending"),
        ({"status": "PENDING"}, "pending"),  # public clients lower-case the status before comparing
        ({"status": None, "available": False, "reason": None}, "pending"),
        ({"status": "rejected"}, "rejected"),
        ({"status": None, "available": False, "reason": "Rejected by admin"}, "rejected"),
    ],
)
def test_pending_and_rejected_rewards_keep_their_status(fields: dict[str, Any], status: str) -> None:
    landing = reward_to_landing(v3_reward(**fields))
    assert landing["status"] == status and ADAPTER_ERROR not in landing


def test_a_bonus_lands_with_a_null_fiat_value_and_no_error() -> None:
    bonus = v3_reward(
        id="rw_b", type="REBATE_BONUS", fiatAmountRewarded=None, rewardRate=None, transactionOriginalId=None,
        referenceType="manual", referenceId=None, transactionDescription=None, mcc=None,
    )  # fmt: skip
    landing = reward_to_landing(bonus)
    assert (landing["fiatAmountRewarded"], landing["rewardRate"], landing["transactionOriginalId"]) == (None,) * 3
    assert landing["referenceType"] == "manual" and ADAPTER_ERROR not in landing


def test_a_perk_is_a_rate_zero_reward_of_a_perk_reference_type() -> None:
    perk = v3_reward(
        id="rw_p", fiatAmountRewarded="800.00000", rewardRate="0", transactionOriginalId=None,
        referenceType="perk_3_reward", referenceId=None, transactionDescription=None, mcc=None,
    )  # fmt: skip
    landing = reward_to_landing(perk)
    assert landing["type"] == "DAILY_REBATE_DISTRIBUTION"  # perks are not a type
    assert (landing["referenceType"], landing["rewardRate"], landing["fiatAmountRewarded"]) == (
        "perk_3_reward", 0.0, 800)  # fmt: skip
    assert landing["transactionOriginalId"] is None and landing["parentRewardId"] is None


@pytest.mark.parametrize("reference_type", ["fiat_partial", "contis_partial"])
def test_a_partial_points_at_its_parent_reward_not_at_a_transaction(reference_type: str) -> None:
    partial = v3_reward(id="rw_2", transactionOriginalId=None, referenceType=reference_type, referenceId="rw_1")
    landing = reward_to_landing(partial)
    assert landing["parentRewardId"] == "rw_1" and landing["referenceId"] == "rw_1"
    assert landing["transactionOriginalId"] is None


def test_the_transaction_comes_from_the_reference_when_the_v3_field_is_absent() -> None:
    record = v3_reward(referenceType="fiat_transactions", referenceId="ftx_9")
    del record["transactionOriginalId"]
    assert reward_to_landing(record)["transactionOriginalId"] == "ftx_9"


def test_an_eur_reward_with_string_amounts_and_the_plus_ticker() -> None:
    record = v3_reward(ticker="PLUS", amount="1.50000000", fiatAmountRewarded="800", fiatCurrency="eur",
                       rewardRate="2.0")  # fmt: skip
    landing = reward_to_landing(record)
    assert (landing["ticker"], landing["amount"], landing["fiatAmountRewarded"], landing["fiatCurrency"]) == (
        "PLU", 1.5, 800, "EUR")  # fmt: skip
    assert landing["rewardRate"] == 2.0 and ADAPTER_ERROR not in landing


def test_a_reward_without_updated_at_is_windowed_on_its_creation() -> None:
    record = v3_reward()
    del record["updatedAt"]
    landing = reward_to_landing(record)
    assert landing["updatedAt"] == landing["createdAt"] == "2023-03-02T10:15:00Z"


# ---- statement ---------------------------------------------------------------------------------------------


def test_a_card_row_lands_in_minor_units_with_its_direction() -> None:
    landing = statement_to_landing(v3_statement())
    assert landing == {
        "id": "tx_1", "date": "2023-03-02T09:00:00Z", "type": "CARD_SETTLEMENT", "amount": 4997, "currency": "GBP",
        "isDebit": True, "description": "TESCO STORES 1234", "cleanDescription": "Tesco", "mcc": "5411",
        "category": None, "card": None, "cardholder": None, "merchant": None, "isFraud": None,
        "originalTransactionId": None, "createdAt": "2023-03-02T09:00:00Z", "updatedAt": "2023-03-02T09:00:00Z",
    }  # fmt: skip


def test_a_card_refund_is_a_credit_pointing_at_its_purchase() -> None:
    refund = v3_statement(id="tx_2", type="CARD_REFUND", isDebit=False, originalTransactionId="tx_1")
    landing = statement_to_landing(refund)
    assert (landing["amount"], landing["isDebit"], landing["originalTransactionId"]) == (4997, False, "tx_1")


def test_card_type_codes_become_type_names() -> None:
    assert statement_to_landing(v3_statement(type="31", isDebit=1))["type"] == "CARD_SETTLEMENT"


@pytest.mark.parametrize(
    ("type_name", "amount", "debit", "minor"),
    [
        ("CARD_SETTLEMENT", "-25.99", True, 2599),  # a fiat purchase: signed, isDebit null
        ("DEPOSIT_FUNDS_RECEIVED", "100.00", False, 10000),  # a top-up
        ("LOAD_PLUTUS_CARD_FROM_CJ_WALLET", "-50", True, 5000),  # a card load
        ("SUBSCRIPTION_FEE", -4.99, True, 499),  # a fee, sent as a number
        ("PAYOUT", "-20.00", True, 2000),  # a withdrawal
        ("PAYIN", "15.00", False, 1500),
    ],
)
def test_signed_fiat_rows_take_their_direction_from_the_sign(
    type_name: str, amount: Any, debit: bool, minor: int
) -> None:
    landing = statement_to_landing(v3_statement(type=type_name, amount=amount, isDebit=None, mcc=None))
    assert (landing["type"], landing["amount"], landing["isDebit"]) == (type_name, minor, debit)
    assert ADAPTER_ERROR not in landing and landing["mcc"] is None


def test_an_eur_row_keeps_its_currency_and_exact_amount() -> None:
    landing = statement_to_landing(v3_statement(amount="8.00000", currency="EUR"))
    assert (landing["amount"], landing["currency"]) == (800, "EUR")


def test_the_issuer_extension_passes_through() -> None:
    card = {"number": "4539578763621486", "cardholderId": "ch_1"}
    merchant = {"id": "m_1", "name": "fraud_Kub", "category": "misc_net", "mcc": "5969", "lat": 1.0, "long": 2.0}
    landing = statement_to_landing(v3_statement(card=card, merchant=merchant, isFraud=True, category="misc_net"))
    assert (landing["card"], landing["merchant"], landing["isFraud"], landing["category"]) == (
        card, merchant, True, "misc_net")  # fmt: skip


# ---- records the adapter cannot map: kept, with what silver needs to quarantine them ------------------------


@pytest.mark.parametrize(
    ("fields", "field", "landed"),
    [
        ({"amount": "12.345"}, "amount", "12.345"),  # a fraction of a minor unit
        ({"amount": "abc"}, "amount", "abc"),
        ({"amount": "-5.00", "isDebit": False}, "amount", "-5.00"),  # negative on a credit
        ({"isDebit": "maybe"}, "isDebit", None),  # never guessed from the sign
        ({"date": "yesterday"}, "date", "yesterday"),
        ({"id": None}, "id", None),
    ],
)
def test_an_unmappable_statement_row_lands_with_the_bad_field_for_silver_to_refuse(
    fields: dict[str, Any], field: str, landed: Any
) -> None:
    landing = statement_to_landing(v3_statement(**fields))
    assert landing[field] == landed
    assert landing[ADAPTER_ERROR].startswith(f"{field}:")


@pytest.mark.parametrize(
    ("fields", "field", "landed"),
    [
        ({"amount": "lots"}, "amount", "lots"),
        ({"fiatAmountRewarded": "12.5"}, "fiatAmountRewarded", "12.5"),
        ({"status": "frozen"}, "status", "frozen"),
        ({"ticker": "BTC"}, "ticker", "BTC"),
        ({"createdAt": "not-a-date", "updatedAt": None}, "createdAt", "not-a-date"),
        ({"rewardRate": "high"}, "rewardRate", "high"),
    ],
)
def test_an_unmappable_reward_lands_with_the_bad_field_for_silver_to_refuse(
    fields: dict[str, Any], field: str, landed: Any
) -> None:
    landing = reward_to_landing(v3_reward(**fields))
    assert landing[field] == landed
    assert landing[ADAPTER_ERROR].startswith(f"{field}:")


def test_a_page_keeps_every_record_in_order_even_non_objects() -> None:
    page = [v3_statement(id="a"), "garbage", None, v3_statement(id="b", amount="x")]
    landed = to_landing("transactions", page)
    assert [r["id"] if isinstance(r, dict) else r for r in landed] == ["a", "garbage", None, "b"]


# ---- the other direction (what the simulator serves) ----------------------------------------------------------


def test_landing_records_round_trip_through_the_v3_shapes() -> None:
    for record in (v3_reward(), v3_reward(fiatAmountRewarded=None, rewardRate=None, type="REBATE_BONUS")):
        landing = reward_to_landing(record)
        assert reward_to_landing(reward_from_landing(landing)) == landing
    for record in (v3_statement(), v3_statement(type="PAYOUT", amount="-20.00", isDebit=None, currency="EUR")):
        landing = statement_to_landing(record)
        served = statement_from_landing(landing)
        assert isinstance(served["amount"], str) and not served["amount"].startswith("-")
        assert statement_to_landing(served) == landing


@pytest.mark.parametrize(("minor", "major"), [(4997, "49.97"), (5, "0.05"), (-50, "-0.50"), (100000, "1000.00")])
def test_minor_and_major_units(minor: int, major: str) -> None:
    assert minor_to_major(minor) == major and major_to_minor(major) == minor


def test_window_time_reads_each_entity_s_window_field() -> None:
    assert window_time("rewards", {"updatedAt": "2023-04-16T11:15:00+01:00"}) == "2023-04-16T10:15:00Z"
    assert window_time("plu_rates", {"timestamp": "2023-04-16T10:00:00Z"}) == "2023-04-16T10:00:00Z"
    assert window_time("transactions", {"updatedAt": "soon"}) is None and window_time("transactions", "x") is None


def test_the_fast_path_gives_what_the_careful_path_gives() -> None:
    """Well-formed records take a one-pass path; it must agree with the field-by-field one everywhere."""
    from cardapi import expected
    from cardapi.config import SimulatorConfig
    from contracts import plutus_v3

    config = SimulatorConfig(seed=3, n_cards=10, start=date(2024, 1, 1), end=date(2024, 2, 1))
    rewards = list(expected.records(config, "rewards", "2024-01-01", "2024-04-01"))
    statements = list(expected.records(config, "transactions", "2024-01-01", "2024-03-01"))
    fast = [plutus_v3._fast_reward(r) for r in rewards] + [plutus_v3._fast_statement(t) for t in statements]
    careful = [plutus_v3._reward_to_landing(r) for r in rewards] + [
        plutus_v3._statement_to_landing(t) for t in statements
    ]
    assert len(fast) > 500 and all(f is not None for f in fast)  # the simulator's records take the fast path
    assert fast == careful
    hand_built = [v3_reward(createdAt="2023-03-02T10:15:00Z", updatedAt="2023-04-16T10:15:00Z"),
                  v3_reward(fiatAmountRewarded=None, rewardRate=None, createdAt="2023-03-02T10:15:00Z",
                            updatedAt="2023-03-02T10:15:00Z")]  # fmt: skip
    for record in hand_built:
        assert plutus_v3._fast_reward(record) == plutus_v3._reward_to_landing(record) is not None
