"""The legacy Plutus adapters: every real case lands as the canonical record, field errors name the field."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.plutus_legacy import record_shape, reward_from_pluton, transaction_from_view


def pluton(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "r1", "amount": "0.5", "available": False, "reason": None, "fiat_amount_rewarded": 1000,
        "rebate_rate": 3, "type": "DAILY_REBATE_DISTRIBUTION", "reference_type": "contis_transactions",
        "reference_id": "t1", "createdAt": "2023-03-02T10:15:00.000Z", "updatedAt": "2023-03-02T10:15:00.000Z",
        "contis_transaction": {"description": "TESCO STORES 2345", "mcc": "5411", "currency": "GBP"},
    }  # fmt: skip
    record.update(fields)
    return record


def test_a_transaction_reward_names_its_transaction_merchant_and_mcc() -> None:
    got = reward_from_pluton(pluton())
    assert (got["transactionOriginalId"], got["referenceType"], got["referenceId"], got["parentRewardId"]) == (
        "t1", "contis_transactions", "t1", None)  # fmt: skip
    assert (got["merchantName"], got["mcc"], got["rewardRate"], got["status"]) == ("TESCO STORES 2345", "5411", 3.0,
                                                                                   "pending")  # fmt: skip
    assert got["createdAt"] == got["updatedAt"] == "2023-03-02T10:15:00Z"


def test_a_partial_points_at_its_parent_reward_not_at_a_transaction() -> None:
    got = reward_from_pluton(pluton(reference_type="fiat_partial", reference_id="r0", contis_transaction=None))
    assert (got["transactionOriginalId"], got["parentRewardId"], got["referenceId"]) == (None, "r0", "r0")


def test_a_perk_keeps_its_type_has_no_rate_and_no_transaction() -> None:
    got = reward_from_pluton(pluton(reference_type="perk_3_reward", reference_id="p3", rebate_rate=0,
                                    fiat_amount_rewarded=500, contis_transaction=None))  # fmt: skip
    assert (got["type"], got["rewardRate"], got["transactionOriginalId"], got["fiatAmountRewarded"]) == (
        "DAILY_REBATE_DISTRIBUTION", None, None, 500)  # fmt: skip
    assert got["referenceType"] == "perk_3_reward" and got["merchantName"] is None


def test_pandas_csv_values_read_as_their_meaning() -> None:
    """A pandas CSV writes integer columns holding a null as floats, and flags as floats or text."""
    got = reward_from_pluton(pluton(fiat_amount_rewarded="4997.0", rebate_rate="3.0", available=True,
                                    contis_transaction={"name": "Tesco", "mcc": 5411.0}))  # fmt: skip
    assert (got["fiatAmountRewarded"], got["rewardRate"], got["mcc"], got["merchantName"]) == (4997, 3.0, "5411",
                                                                                               "Tesco")  # fmt: skip
    row = {"id": "t1", "date": "2023-03-01T18:42:11+00:00", "type": "31.0", "amount": "4997.0", "is_debit": "1.0",
           "mcc": "5411.0", "currency": "GBP"}  # fmt: skip
    got = transaction_from_view(row)
    assert (got["type"], got["amount"], got["isDebit"], got["mcc"], got["category"]) == (
        "CARD_SETTLEMENT", 4997, True, "5411", None)  # fmt: skip
    fiat = transaction_from_view({**row, "type": "CARD_SETTLEMENT", "amount": -2599.0, "is_debit": None})
    assert (fiat["amount"], fiat["isDebit"]) == (2599, True)
    assert transaction_from_view(row, {"5411": "grocery_pos"})["category"] == "grocery_pos"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"fiat_amount_rewarded": None}, "fiat_amount_rewarded: missing"),
        ({"createdAt": "yesterday"}, "createdAt: 'yesterday' is not an ISO-8601 time"),
        ({"rebate_rate": "high"}, "rebate_rate: 'high' is not a number"),
        ({"contis_transaction": "TESCO"}, "contis_transaction: .TESCO. is not an object"),
        ({"id": ""}, "id: missing"),
    ],
)
def test_a_bad_reward_field_is_named(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reward_from_pluton(pluton(**fields))


def test_a_bonus_may_have_no_fiat_value() -> None:
    got = reward_from_pluton(pluton(type="REBATE_BONUS", fiat_amount_rewarded=None, reference_type="manual",
                                    reference_id=None, reason="Welcome bonus"))  # fmt: skip
    assert (got["fiatAmountRewarded"], got["status"], got["transactionOriginalId"]) == (None, "approved", None)


def test_shapes_are_told_apart_by_their_fields() -> None:
    assert record_shape(pluton()) == "pluton"
    assert record_shape({"is_debit": None}) == "transactions_view"
    assert record_shape({"fiatAmountRewarded": 1}) == "landing_reward"
    assert record_shape({"isDebit": True}) == "landing_transaction"
    assert record_shape({"hello": 1}) is None
