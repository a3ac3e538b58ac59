"""Legacy Plutus shapes -> the landing records of docs/contracts.md section 1 (pure functions, stdlib only).

Two real shapes of a Plutus account export:
- rewards of `GET /platform/transactions/pluton` (fields `fiat_amount_rewarded`, `rebate_rate`, `available`,
  `reason`, `reference_type`, `reference_id`, nested `fiat_transaction` / `contis_transaction`, `createdAt`,
  `updatedAt`, ...) -> `reward_from_pluton`;
- statement rows of the Hasura `transactions_view` query (fields `is_debit`, `amount`, `date`, `type`, ...)
  -> `transaction_from_view`.
The simulator's replay (`cardapi/replay_plutus.py`) and `cardlake import` both call these, so a replayed export
and an imported one land the same records. Values may arrive as JSON gives them or as a pandas CSV leaves them
(`"4997.0"` for an integer column holding a null, `"1.0"` for an `is_debit` flag, `"5411.0"` for an MCC): each
field is read by the rule of its meaning, and a value that cannot be read raises ValueError naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.landing import iso, parse_iso
from contracts.records import (
    CARD_TYPE_CODES,
    FIAT_OPTIONAL_REWARD_KINDS,
    minor_units,
    reward_kind,
    reward_status,
    reward_ticker,
    statement_direction,
)

REBATE_TYPES = ("DAILY_REBATE_DISTRIBUTION", "REBATE_BONUS")
DEFAULT_REWARD_TYPE = "DAILY_REBATE_DISTRIBUTION"
DEFAULT_CURRENCY = "GBP"
# `reference_type` values whose `reference_id` is the statement transaction's id.
TRANSACTION_REFERENCE_TYPES = ("contis_transactions", "fiat_transactions")
# `reference_type` values whose `reference_id` is another reward's id (follow it to the transaction).
PARTIAL_REFERENCE_TYPES = ("fiat_partial", "contis_partial")
PERK_REFERENCE_TYPE = re.compile(r"^perk_\d+_reward$")
# Nested transaction objects of a legacy reward, in the order they are looked at.
NESTED_TRANSACTIONS = ("contis_transaction", "fiat_transaction")
# Where a nested transaction keeps the merchant's name, best first.
MERCHANT_NAME_FIELDS = ("merchant_name", "name", "clean_description", "description")

# Field names that tell the shapes apart (`record_shape`).
PLUTON_MARK = "fiat_amount_rewarded"
VIEW_MARK = "is_debit"
LANDING_REWARD_MARK = "fiatAmountRewarded"
LANDING_TRANSACTION_MARK = "isDebit"

_INTEGRAL_TEXT = re.compile(r"^-?\d+\.0*$")


def record_shape(raw: Mapping[str, Any]) -> str | None:
    """`pluton`, `transactions_view`, `landing_reward`, `landing_transaction`, or None for none of them."""
    if PLUTON_MARK in raw:
        return "pluton"
    if VIEW_MARK in raw:
        return "transactions_view"
    if LANDING_REWARD_MARK in raw:
        return "landing_reward"
    if LANDING_TRANSACTION_MARK in raw:
        return "landing_transaction"
    return None


def is_perk(reference_type: object) -> bool:
    return isinstance(reference_type, str) and PERK_REFERENCE_TYPE.match(reference_type) is not None


def _text(value: object) -> str | None:
    """A text field; null stays null, an empty string is null."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _code(value: object) -> str | None:
    """A code that a CSV may have turned into a float (`5411.0`, `31.0`): its integer text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = _text(value)
    if text is not None and _INTEGRAL_TEXT.match(text):
        return text.split(".", 1)[0]
    return text


def _time(raw: Mapping[str, Any], field: str) -> str:
    value = raw.get(field)
    if value is None or value == "":
        raise ValueError(f"{field}: missing")
    try:
        return iso(parse_iso(str(value).strip()))
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not an ISO-8601 time") from None


def _number(value: object, field: str) -> float:
    if value is None or value == "" or isinstance(value, bool):
        raise ValueError(f"{field}: missing")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{field}: {value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{field}: {value!r} is not a number")
    return float(number)


def _flag(value: object) -> object:
    """`is_debit` as a CSV leaves it (`1.0`, `"0"`, `"True"`) -> 1/0/bool; null and anything else unchanged."""
    if isinstance(value, float) and value in (0.0, 1.0):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.casefold() in ("true", "false"):
            return text.casefold() == "true"
        if _INTEGRAL_TEXT.match(text) or text.isdigit():
            number = int(text.split(".", 1)[0])
            return number if number in (0, 1) else value
        if text == "":
            return None
    return value


def _nested(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    for field in NESTED_TRANSACTIONS:
        value = raw.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, Mapping):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
            raise ValueError(f"{field}: {shown} is not an object")
        return value
    return {}


def _fiat_amount(raw: Mapping[str, Any], kind: str, reference_type: str | None) -> int | None:
    """Minor units; null only for the kinds silver lets go without one (`FIAT_OPTIONAL_REWARD_KINDS`: bonus, perk,
    manual, referral), a field-level error otherwise."""
    value = raw.get(PLUTON_MARK)
    if (value is None or value == "") and reward_kind(kind, reference_type) in FIAT_OPTIONAL_REWARD_KINDS:
        return None
    return minor_units(value, PLUTON_MARK)


def reward_from_pluton(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A legacy pluton reward -> the landing reward record (docs/contracts.md section 1).

    `referenceType`/`referenceId` are the source's verbatim; `transactionOriginalId` is set only for the
    transaction reference types, `parentRewardId` only for partials (the reward they are a part of). A perk
    (`reference_type` `perk_<n>_reward`) keeps its type and has no rate. Merchant name and MCC come from the
    nested fiat/contis transaction.
    """
    kind = _text(raw.get("type")) or DEFAULT_REWARD_TYPE
    reference_type = _text(raw.get("reference_type"))
    reference_id = _text(raw.get("reference_id"))
    nested = _nested(raw)
    rate = _number(raw.get("rebate_rate"), "rebate_rate") if raw.get("rebate_rate") not in (None, "") else 0.0
    created = _time(raw, "createdAt")
    updated = _time(raw, "updatedAt") if raw.get("updatedAt") not in (None, "") else created
    merchant = next((_text(nested.get(f)) for f in MERCHANT_NAME_FIELDS if _text(nested.get(f))), None)
    if not _text(raw.get("id")):
        raise ValueError("id: missing")
    return {
        "id": str(raw["id"]).strip(),
        "ticker": reward_ticker(raw.get("ticker")),
        "amount": _number(raw.get("amount"), "amount"),
        "fiatAmountRewarded": _fiat_amount(raw, kind, reference_type),
        "fiatCurrency": _text(nested.get("currency")) or _text(raw.get("currency")) or DEFAULT_CURRENCY,
        "status": reward_status(raw.get("available"), raw.get("reason")),
        "type": kind,
        "rewardRate": rate if kind in REBATE_TYPES and rate > 0 and not is_perk(reference_type) else None,
        "transactionOriginalId": reference_id if reference_type in TRANSACTION_REFERENCE_TYPES else None,
        "referenceType": reference_type,
        "referenceId": reference_id,
        "parentRewardId": reference_id if reference_type in PARTIAL_REFERENCE_TYPES else None,
        "merchantName": merchant,
        "mcc": _code(nested.get("mcc")),
        "createdAt": created,
        "updatedAt": updated,
    }


def transaction_from_view(raw: Mapping[str, Any], category_of_mcc: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A `transactions_view` statement row (card or fiat model) -> the landing transaction record.

    The record's amount is positive with the direction in `isDebit`: `statement_direction` reads it from
    `is_debit` on card rows and from the sign on fiat rows (is_debit null). A personal statement has no card,
    cardholder, merchant object or fraud label. `category_of_mcc` names a category for known MCCs (the
    simulator's table); without it the category is null.
    """
    if not _text(raw.get("id")):
        raise ValueError("id: missing")
    when = _time(raw, "date")
    type_code = _code(raw.get("type"))
    if type_code is None:
        raise ValueError("type: missing")
    mcc = _code(raw.get("mcc"))
    amount, is_debit = statement_direction(raw.get("amount"), _flag(raw.get(VIEW_MARK)))
    description = _text(raw.get("description"))
    return {
        "id": str(raw["id"]).strip(),
        "date": when,
        "type": CARD_TYPE_CODES.get(type_code, type_code),
        "amount": amount,
        "currency": _text(raw.get("currency")) or DEFAULT_CURRENCY,
        "isDebit": is_debit,
        "description": description,
        "cleanDescription": _text(raw.get("clean_description")) or description,
        "mcc": mcc,
        "category": (category_of_mcc or {}).get(mcc) if mcc else None,
        "card": None,
        "cardholder": None,
        "merchant": None,
        "isFraud": None,  # a personal statement carries no fraud label
        "originalTransactionId": _text(raw.get("original_transaction_id")),
        "createdAt": when,
        "updatedAt": when,
    }
