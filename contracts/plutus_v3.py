"""The real v3 card API's records <-> the pipeline's landing records (docs/contracts.md section 1).

`GET /v3/rewards/list` and `GET /v3/statement/list` (shapes in docs/source-api.md, taken from public clients)
are turned into the landing records that silver reads by `reward_to_landing` and `statement_to_landing`;
`reward_from_landing` and `statement_from_landing` go the other way, so the simulator serves exactly the
shapes the client adapts. Pure functions over plain dicts, standard library only.

A record that cannot be mapped is never dropped and never stops an extraction: each field that fails keeps
its value as received (or null when it is absent), so silver's own check of that field quarantines the record
with its reason, and the adapter's message rides along in `adapterError` (visible in the quarantined raw
text). Records in = accepted + quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.landing import Entity
from contracts.records import (
    CARD_TYPE_CODES,
    REWARD_STATUSES,
    minor_units,
    reward_status,
    reward_ticker,
    statement_direction,
)

ADAPTER_ERROR = "adapterError"
# Fields only the v3 records have (the landing records call them `merchantName` / `description`): how an export of
# v3 API responses is told apart from landing records.
V3_MARKS = ("transactionDescription", "totalPluAmount")
# Reference types whose `referenceId` is the statement transaction's id, and those that point at another reward.
TRANSACTION_REFERENCE_TYPES = ("contis_transactions", "fiat_transactions")
PARTIAL_REFERENCE_TYPES = ("fiat_partial", "contis_partial")
_CENT = Decimal(100)

Record = dict[str, Any]


# ---- shared pieces -----------------------------------------------------------------------------------------


class _Errors:
    """Field errors of one record: `take` returns the converted value, or the raw one after noting why."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def take(self, convert: Callable[[Any], Any], raw: Any, field: str, *, keep_raw: bool = True) -> Any:
        try:
            return convert(raw)
        except (ValueError, TypeError, InvalidOperation) as exc:
            text = str(exc)
            self.messages.append(text if text.startswith(f"{field}:") else f"{field}: {text}")
            return raw if keep_raw else None

    def stamp(self, record: Record) -> Record:
        if self.messages:
            record[ADAPTER_ERROR] = "; ".join(self.messages)
        return record


def _text(value: Any) -> str | None:
    """A string field: null and "" stay null, numbers (an MCC sent as 5411) become their text."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value)


_LANDING_TIME = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ")


_DAYS_SEEN: set[str] = set()  # valid YYYY-MM-DD prefixes met so far (a page holds a few days)


def _day_exists(day: str) -> bool:
    try:
        datetime(int(day[:4]), int(day[5:7]), int(day[8:10]))
    except ValueError:
        return False
    if len(_DAYS_SEEN) < 100_000:
        _DAYS_SEEN.add(day)
    return True


def _time(value: Any) -> str:
    """An ISO-8601 time (any offset, fractions allowed) as the landing's UTC `YYYY-MM-DDTHH:MM:SSZ`."""
    if isinstance(value, str) and len(value) == 20 and _LANDING_TIME.fullmatch(value):
        # already in the landing's form (the simulator's, most real records): only check that the day exists
        if value[:10] in _DAYS_SEEN or _day_exists(value[:10]):
            return value
        raise ValueError(f"{value!r} is not an ISO-8601 time")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing" if value in (None, "") else f"{value!r} is not an ISO-8601 time")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 time") from None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal(value: Any) -> Decimal:
    if value is None or value == "" or isinstance(value, bool):
        raise ValueError("missing")
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return number


_MAJOR = re.compile(r"(-?)([0-9]{1,15})\.([0-9]{2})")
_WHOLE = re.compile(r"[0-9]{1,18}")
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")


def major_to_minor(value: Any) -> int:
    """Major units (`"49.97"`, 49.97, -12) -> minor units (4997); a fraction of a minor unit is refused."""
    if type(value) is str and (parts := _MAJOR.fullmatch(value)):  # the API's usual form: exact, no Decimal
        minor = int(parts[2]) * 100 + int(parts[3])
        return -minor if parts[1] else minor
    if type(value) is int:
        return value * 100
    try:
        number = _decimal(value) * _CENT
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of minor units")
    return int(number)


def minor_to_major(value: int) -> str:
    """Minor units -> the API's major-unit text with two decimals (4997 -> "49.97", -50 -> "-0.50")."""
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(value), 100)
    return f"{sign}{whole}.{cents:02d}"


def _plu(value: Any) -> float:
    if type(value) is str and _PLAIN_NUMBER.fullmatch(value):
        return float(value)  # a decimal string: float() rounds it exactly as float(Decimal(...)) does
    try:
        return float(_decimal(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def _plu_text(value: Any) -> str:
    """PLU as the API writes it: a decimal string with eight places."""
    return f"{Decimal(str(value)):.8f}"


def _rate(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if type(value) is float or type(value) is int:
        return float(value)
    if type(value) is str and _PLAIN_NUMBER.fullmatch(value):
        return float(value)
    try:
        return float(_decimal(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def _optional_minor(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str and _WHOLE.fullmatch(value):
        return int(value)
    return None if value is None or value == "" else minor_units(value, "fiatAmountRewarded")


def _currency(value: Any) -> str | None:
    return value.strip().upper() if isinstance(value, str) and value.strip() else None


def _required_id(value: Any) -> str:
    text = _text(value)
    if text is None or not text.strip():
        raise ValueError("missing")
    return text


# ---- rewards -----------------------------------------------------------------------------------------------


def _status(record: Record) -> str:
    raw = record.get("status")
    if raw is None and ("available" in record or "reason" in record):
        return reward_status(record.get("available"), record.get("reason"))
    text = raw.strip().casefold() if isinstance(raw, str) else None
    if text not in REWARD_STATUSES:
        raise ValueError(f"{raw!r} is not one of {', '.join(REWARD_STATUSES)}")
    return text


def _landing_time_or_none(value: Any) -> str | None:
    """`value` when it already is a valid landing time, else None (the careful path then decides)."""
    landing_form = type(value) is str and len(value) == 20 and _LANDING_TIME.fullmatch(value)
    if landing_form and (value[:10] in _DAYS_SEEN or _day_exists(value[:10])):
        return value
    return None


def _fast_reward(record: Record) -> Record | None:
    """The usual well-formed v3 reward in one pass, or None to take the careful path (same result)."""
    get = record.get
    rid, ticker, amount, fiat = get("id"), get("ticker"), get("amount"), get("fiatAmountRewarded")
    status, rate, kind = get("status"), get("rewardRate"), get("type")
    created = _landing_time_or_none(get("createdAt"))
    updated = _landing_time_or_none(get("updatedAt"))
    if (
        type(rid) is not str
        or not rid.strip()
        or ticker != "PLU"
        or type(amount) is not str
        or not _PLAIN_NUMBER.fullmatch(amount)
        or not (fiat is None or type(fiat) is int)
        or status not in REWARD_STATUSES
        or not (rate is None or type(rate) is float or type(rate) is int)
        or not (kind is None or type(kind) is str)
        or created is None
        or updated is None
    ):
        return None
    reference_type, reference_id = _text(get("referenceType")), _text(get("referenceId"))
    transaction_id = _text(get("transactionOriginalId"))
    if transaction_id is None and reference_type in TRANSACTION_REFERENCE_TYPES:
        transaction_id = reference_id
    return {
        "id": rid,
        "ticker": "PLU",
        "amount": float(amount),
        "fiatAmountRewarded": fiat,
        "fiatCurrency": _currency(get("fiatCurrency") or get("currency")),
        "status": status,
        "type": kind or None,
        "rewardRate": None if rate is None else float(rate),
        "transactionOriginalId": transaction_id,
        "referenceType": reference_type,
        "referenceId": reference_id,
        "parentRewardId": reference_id if reference_type in PARTIAL_REFERENCE_TYPES else None,
        "merchantName": _text(get("transactionDescription") or get("merchantName")),
        "mcc": _text(get("mcc")),
        "createdAt": created,
        "updatedAt": updated,
    }


def reward_to_landing(record: Any) -> Any:
    """A `GET /v3/rewards/list` record -> the landing reward record (anything but an object passes as is)."""
    if not isinstance(record, dict):
        return record
    return _fast_reward(record) or _reward_to_landing(record)


def _reward_to_landing(record: Record) -> Record:
    """The careful path: every field on its own, failures kept for silver (module docstring)."""
    errors = _Errors()
    reference_type = _text(record.get("referenceType"))
    reference_id = _text(record.get("referenceId"))
    transaction_id = _text(record.get("transactionOriginalId"))
    if transaction_id is None and reference_type in TRANSACTION_REFERENCE_TYPES:
        transaction_id = reference_id
    created = errors.take(_time, record.get("createdAt"), "createdAt")
    updated_raw = record.get("updatedAt") if record.get("updatedAt") not in (None, "") else record.get("createdAt")
    landing: Record = {
        "id": errors.take(_required_id, record.get("id"), "id", keep_raw=False),
        "ticker": errors.take(reward_ticker, record.get("ticker"), "ticker"),
        "amount": errors.take(_plu, record.get("amount"), "amount"),
        "fiatAmountRewarded": errors.take(_optional_minor, record.get("fiatAmountRewarded"), "fiatAmountRewarded"),
        "fiatCurrency": _currency(record.get("fiatCurrency") or record.get("currency")),
        "status": errors.take(lambda _: _status(record), record.get("status"), "status"),
        "type": _text(record.get("type")),
        "rewardRate": errors.take(_rate, record.get("rewardRate"), "rewardRate"),
        "transactionOriginalId": transaction_id,
        "referenceType": reference_type,
        "referenceId": reference_id,
        "parentRewardId": reference_id if reference_type in PARTIAL_REFERENCE_TYPES else None,
        "merchantName": _text(record.get("transactionDescription") or record.get("merchantName")),
        "mcc": _text(record.get("mcc")),
        "createdAt": created,
        "updatedAt": errors.take(_time, updated_raw, "updatedAt"),
    }
    return errors.stamp(landing)


def reward_from_landing(landing: Record) -> Record:
    """A landing reward record -> the `GET /v3/rewards/list` record that adapts back to it."""
    fiat = landing.get("fiatAmountRewarded")
    rate = landing.get("rewardRate")
    return {
        "id": landing["id"],
        "ticker": landing.get("ticker") or "PLU",
        "amount": _plu_text(landing["amount"]),
        "fiatAmountRewarded": None if fiat is None else int(fiat),
        "fiatCurrency": landing.get("fiatCurrency"),
        "status": landing["status"],
        "type": landing.get("type"),
        "rewardRate": None if rate is None else float(rate),
        "transactionOriginalId": landing.get("transactionOriginalId"),
        "referenceType": landing.get("referenceType"),
        "referenceId": landing.get("referenceId"),
        "transactionDescription": landing.get("merchantName"),
        "mcc": landing.get("mcc"),
        "createdAt": landing["createdAt"],
        "updatedAt": landing.get("updatedAt") or landing["createdAt"],
    }


# ---- statement ---------------------------------------------------------------------------------------------

# The issuer extension of the statement record (Sparkov fields; null on a personal statement): passed through.
ISSUER_FIELDS = ("card", "cardholder", "merchant", "isFraud", "category")


def _is_debit(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError(f"{value!r} is not true, false, 1, 0 or null")


def statement_to_landing(record: Any) -> Any:
    """A `GET /v3/statement/list` record -> the landing transaction record (non-objects pass as is).

    `amount` arrives in major units (a string or a number); the landing holds a positive number of minor
    units with the direction in `isDebit`. Card rows carry `isDebit`; rows with `isDebit` null are signed
    (purchases, loads, fees and withdrawals negative), as `contracts.records.statement_direction` reads them.
    """
    if not isinstance(record, dict):
        return record
    return _fast_statement(record) or _statement_to_landing(record)


def _fast_statement(record: Record) -> Record | None:
    """The usual well-formed v3 statement row in one pass, or None to take the careful path (same result)."""
    get = record.get
    rid, amount, is_debit, raw_type = get("id"), get("amount"), get("isDebit"), get("type")
    date = _landing_time_or_none(get("date"))
    created = _landing_time_or_none(get("createdAt") or get("date"))
    updated = _landing_time_or_none(get("updatedAt") or get("createdAt") or get("date"))
    parts = _MAJOR.fullmatch(amount) if type(amount) is str else None
    if (
        type(rid) is not str
        or not rid.strip()
        or parts is None
        or parts[1]  # signed rows take the careful path (statement_direction)
        or type(is_debit) is not bool
        or type(raw_type) is not str
        or not raw_type
        or date is None
        or created is None
        or updated is None
    ):
        return None
    return {
        "id": rid,
        "date": date,
        "type": CARD_TYPE_CODES.get(raw_type, raw_type),
        "amount": int(parts[2]) * 100 + int(parts[3]),
        "currency": _currency(get("currency")),
        "isDebit": is_debit,
        "description": _text(get("transactionDescription") or get("description")),
        "cleanDescription": _text(get("cleanDescription")),
        "mcc": _text(get("mcc")),
        "category": _text(get("category")),
        "card": get("card"),
        "cardholder": get("cardholder"),
        "merchant": get("merchant"),
        "isFraud": get("isFraud"),
        "originalTransactionId": _text(get("originalTransactionId")),
        "createdAt": created,
        "updatedAt": updated,
    }


def _statement_to_landing(record: Record) -> Record:
    """The careful path: every field on its own, failures kept for silver (module docstring)."""
    errors = _Errors()
    raw_amount = record.get("amount")
    minor = errors.take(major_to_minor, raw_amount, "amount")
    flag_errors = len(errors.messages)
    is_debit = errors.take(_is_debit, record.get("isDebit"), "isDebit", keep_raw=False)
    amount: Any = minor
    # An unreadable isDebit lands null (silver: missing_field:isDebit); the sign must not stand in for it.
    if isinstance(minor, int) and len(errors.messages) == flag_errors:
        try:
            amount, is_debit = statement_direction(minor, is_debit)
        except ValueError as exc:
            errors.messages.append(str(exc))
            amount = raw_amount  # as received: silver refuses it (not a positive whole number of minor units)
    raw_type = _text(record.get("type"))
    date = errors.take(_time, record.get("date"), "date")
    created_raw = record.get("createdAt") or record.get("date")
    updated_raw = record.get("updatedAt") or created_raw
    landing: Record = {
        "id": errors.take(_required_id, record.get("id"), "id", keep_raw=False),
        "date": date,
        "type": CARD_TYPE_CODES.get(raw_type, raw_type) if raw_type else None,
        "amount": amount,
        "currency": _currency(record.get("currency")),
        "isDebit": is_debit,
        "description": _text(record.get("transactionDescription") or record.get("description")),
        "cleanDescription": _text(record.get("cleanDescription")),
        "mcc": _text(record.get("mcc")),
        "category": _text(record.get("category")),
        "card": record.get("card"),
        "cardholder": record.get("cardholder"),
        "merchant": record.get("merchant"),
        "isFraud": record.get("isFraud"),
        "originalTransactionId": _text(record.get("originalTransactionId")),
        "createdAt": errors.take(_time, created_raw, "createdAt"),
        "updatedAt": errors.take(_time, updated_raw, "updatedAt"),
    }
    return errors.stamp(landing)


def statement_from_landing(landing: Record) -> Record:
    """A landing transaction record -> the `GET /v3/statement/list` record that adapts back to it.

    Served with a positive major-unit amount and `isDebit` set; `status` and `totalPluAmount` are part of
    the real shape but not of the landing record, so they are served null (the lake takes PLU from rewards).
    """
    return {
        "id": landing["id"],
        "date": landing["date"],
        "type": landing["type"],
        "amount": minor_to_major(int(landing["amount"])),
        "currency": landing["currency"],
        "isDebit": landing["isDebit"],
        "status": None,
        "totalPluAmount": None,
        "transactionDescription": landing.get("description"),
        "cleanDescription": landing.get("cleanDescription"),
        "mcc": landing.get("mcc"),
        "category": landing.get("category"),
        "card": landing.get("card"),
        "cardholder": landing.get("cardholder"),
        "merchant": landing.get("merchant"),
        "isFraud": landing.get("isFraud"),
        "originalTransactionId": landing.get("originalTransactionId"),
        "createdAt": landing.get("createdAt") or landing["date"],
        "updatedAt": landing.get("updatedAt") or landing.get("createdAt") or landing["date"],
    }


# ---- by entity ---------------------------------------------------------------------------------------------

_TO_LANDING: dict[Entity, Callable[[Any], Any]] = {
    "transactions": statement_to_landing,
    "rewards": reward_to_landing,
    "plu_rates": lambda record: record,  # the simulator's own feed: already in landing shape
}


def to_landing(entity: Entity, records: list[Any]) -> list[Any]:
    """Every record of a page as the landing holds it, in order; none is dropped."""
    adapt = _TO_LANDING[entity]
    return [adapt(record) for record in records]


# The landing field a window [from, to) is cut on, per entity.
WINDOW_FIELDS: dict[Entity, str] = {"transactions": "updatedAt", "rewards": "updatedAt", "plu_rates": "timestamp"}


def window_time(entity: Entity, record: Any) -> str | None:
    """The landing record's window time (`WINDOW_FIELDS`) as UTC ISO text, or None when it has no readable one."""
    value = record.get(WINDOW_FIELDS[entity]) if isinstance(record, dict) else None
    landing = _landing_time_or_none(value)
    if landing is not None:
        return landing
    if not isinstance(value, str):
        return None
    try:
        return _time(value)
    except ValueError:
        return None
