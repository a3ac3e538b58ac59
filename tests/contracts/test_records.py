"""The meaning of real-shaped records (contracts.records): every case the real Plutus data showed."""

from __future__ import annotations

import pytest

from contracts.records import (
    CARD_KINDS,
    CURRENCIES,
    FIAT_OPTIONAL_REWARD_KINDS,
    REWARD_KINDS,
    REWARD_STATUSES,
    STATEMENT_KIND_LABELS,
    STATEMENT_KINDS,
    category_of_mcc,
    minor_units,
    reward_kind,
    reward_status,
    reward_ticker,
    statement_direction,
    statement_kind,
)


@pytest.mark.parametrize(
    ("available", "reason", "status"),
    [
        (True, "Automated approval. Trx below 500", "approved"),
        (True, "Automated approval after 45 days", "approved"),
        (True, "Accepted by admin", "approved"),
        (True, "Welcome to Plutus! Enjoy your bonus", "approved"),  # promotional text
        (False, "Accepted by admin", "approved"),  # a reason that is not a rejection approves
        (True, None, "approved"),
        (True, "", "approved"),
        (False, "Rejected by admin", "rejected"),
        (True, "Rejected by admin", "rejected"),  # the reason wins over a stale flag
        (False, "  rejected BY admin ", "rejected"),
        (False, None, "pending"),
        (False, "", "pending"),
        (None, None, "pending"),
        (False, "   ", "pending"),
    ],
)
def test_reward_status_rejects_only_on_the_rejection_reason(available: object, reason: object, status: str) -> None:
    assert reward_status(available, reason) == status
    assert status in REWARD_STATUSES


@pytest.mark.parametrize(("ticker", "expected"), [("PLU", "PLU"), ("PLUS", "PLU"), ("plus", "PLU"), (None, "PLU")])
def test_both_tickers_name_the_one_reward_token(ticker: object, expected: str) -> None:
    assert reward_ticker(ticker) == expected


def test_an_unknown_ticker_is_a_field_level_error() -> None:
    with pytest.raises(ValueError, match="ticker: 'BTC'"):
        reward_ticker("BTC")


@pytest.mark.parametrize(
    ("value", "minor"), [(4997, 4997), ("8.00000", 8), ("-800.00000", -800), (12.0, 12), (" 5 ", 5)]
)
def test_minor_units_read_integers_and_whole_decimal_strings(value: object, minor: int) -> None:
    assert minor_units(value, "amount") == minor


@pytest.mark.parametrize(("value", "message"), [(None, "missing"), ("abc", "not a number"), ("8.5", "whole"),
                                                (True, "missing"), ("NaN", "whole")])  # fmt: skip
def test_minor_units_name_the_field_of_a_bad_value(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"fiat_amount_rewarded: .*{message}"):
        minor_units(value, "fiat_amount_rewarded")


@pytest.mark.parametrize(
    ("amount", "is_debit", "expected"),
    [
        (4997, 1, (4997, True)),  # card row: positive amount, is_debit 1
        (1250, 0, (1250, False)),  # card refund: is_debit 0
        (4997, True, (4997, True)),
        (-4997, True, (4997, True)),  # a card row that signs its debit too
        (-2599, None, (2599, True)),  # fiat purchase: signed negative, is_debit null
        ("-800.00000", None, (800, True)),  # amounts as strings
        (10000, None, (10000, False)),  # fiat top-up: positive
        (-5000, None, (5000, True)),  # card load out of the account
    ],
)
def test_statement_direction_of_card_and_fiat_rows(
    amount: object, is_debit: object, expected: tuple[int, bool]
) -> None:
    assert statement_direction(amount, is_debit) == expected


@pytest.mark.parametrize(
    ("amount", "is_debit", "message"),
    [(-1250, 0, "amount: -1250 is negative on a credit"), (100, 2, "is_debit: 2"), (100, "yes", "is_debit"),
     (None, None, "amount: missing")],
)  # fmt: skip
def test_statement_direction_refuses_contradictions_naming_the_field(
    amount: object, is_debit: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        statement_direction(amount, is_debit)


@pytest.mark.parametrize(
    ("type_name", "kind"),
    [
        ("CARD_SETTLEMENT", "card_purchase"),
        ("CARD_REFUND", "card_refund"),
        ("PENDING", "card_authorisation"),
        ("DECLINED_POS_CHARGE", "card_authorisation"),
        ("CARD_DEPOSIT", "card_load"),
        ("DEPOSIT_FUNDS_RECEIVED", "top_up"),
        ("PAYIN", "top_up"),
        ("PAYOUT", "withdrawal"),
        ("LOAD_PLUTUS_CARD_FROM_CJ_WALLET", "card_load"),
        ("LOAD_PLUTUS_CARD_FROM_WALLET", "card_load"),
        ("SUBSCRIPTION_FEE", "fee"),
        ("ATM_WITHDRAWAL_FEE", "fee"),
        ("WITHDRAW_FUNDS", "withdrawal"),
        ("INTERNAL_TRANSFER", "transfer"),
        ("card_settlement", "card_purchase"),
        ("SOMETHING_NEW", "other"),
    ],
)
def test_statement_kind_of_every_type_seen(type_name: str, kind: str) -> None:
    assert statement_kind(type_name) == kind
    assert kind in STATEMENT_KINDS


def test_accounts_are_gbp_or_eur() -> None:
    assert CURRENCIES == ("GBP", "EUR")


@pytest.mark.parametrize(
    ("type_name", "reference_type", "kind"),
    [
        ("DAILY_REBATE_DISTRIBUTION", "contis_transactions", "rebate"),
        ("DAILY_REBATE_DISTRIBUTION", "fiat_transactions", "rebate"),
        ("DAILY_REBATE_DISTRIBUTION", None, "rebate"),
        ("REBATE_BONUS", None, "bonus"),
        (" rebate_bonus ", "", "bonus"),
        ("DAILY_REBATE_DISTRIBUTION", "perk_12_reward", "perk"),
        ("REBATE_BONUS", "PERK_3_REWARD", "perk"),  # the reference decides before the type
        ("DAILY_REBATE_DISTRIBUTION", "perk_reward", "rebate"),  # not perk_<n>_reward
        ("DAILY_REBATE_DISTRIBUTION", "fiat_partial", "partial"),
        ("DAILY_REBATE_DISTRIBUTION", "contis_partial", "partial"),
        ("REBATE_BONUS", "manual", "manual"),
        ("REBATE_BONUS", "referring", "referral"),
        (None, None, "rebate"),
    ],
)
def test_reward_kind_of_every_reference_type_seen(type_name: object, reference_type: object, kind: str) -> None:
    assert reward_kind(type_name, reference_type) == kind
    assert kind in REWARD_KINDS


def test_fiat_optional_kinds_are_those_of_no_transaction_amount() -> None:
    assert set(FIAT_OPTIONAL_REWARD_KINDS) == set(REWARD_KINDS) - {"rebate", "partial"}


def test_mcc_maps_back_to_its_category_and_an_unlisted_one_to_none() -> None:
    assert category_of_mcc("5411") == "grocery_pos"
    assert category_of_mcc(" 7832 ") == "entertainment"
    assert category_of_mcc("0000") is None and category_of_mcc(None) is None


def test_card_kinds_are_the_card_rows_and_every_kind_has_a_label() -> None:
    assert set(CARD_KINDS) == {"card_purchase", "card_refund", "card_authorisation"}
    assert set(STATEMENT_KIND_LABELS) == set(STATEMENT_KINDS)
