"""What the source's records mean (docs/contracts.md section 1): reward status, statement direction and kind.

The real card API speaks two generations of shapes (legacy `pluton` rewards with `available` and a free-text
`reason`; statement rows of two models, card and fiat, that sign their amounts differently). Every rule that
turns a real-shaped field into the contract's meaning is written here once, as a pure function over plain
values or as data that a Spark expression reads (`STATEMENT_KIND_RULES`), so the adapters (the Plutus replay)
and silver cannot disagree.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

# ---- rewards -----------------------------------------------------------------------------------------------

RewardStatus = Literal["pending", "approved", "rejected"]
REWARD_STATUSES: tuple[RewardStatus, ...] = get_args(RewardStatus)
# The only `reason` texts that reject a legacy reward. Approvals carry reasons too ("Automated approval. Trx
# below 500", "Automated approval after 45 days", "Accepted by admin", promotional texts).
REJECTION_REASONS = ("Rejected by admin",)
# Reward types whose fiat value may be null: a bonus rewards no transaction amount.
FIAT_OPTIONAL_REWARD_TYPES = ("REBATE_BONUS",)
# The reward token is named PLU by the v3 API and PLUS by some legacy records: one token.
REWARD_TICKER = "PLU"
REWARD_TICKER_ALIASES = ("PLU", "PLUS")


def reward_status(available: object, reason: object) -> RewardStatus:
    """The status of a legacy reward from its `available` flag and free-text `reason`.

    Only a rejection reason (`REJECTION_REASONS`, compared without case and surrounding space) rejects. Any
    other reason is an approval's ("Automated approval after 45 days", promotional texts), as is
    `available=true`. A reward with neither a reason nor `available` is pending.
    """
    text = reason.strip() if isinstance(reason, str) else ""
    if text.casefold() in {r.casefold() for r in REJECTION_REASONS}:
        return "rejected"
    if text or available is True:
        return "approved"
    return "pending"


def reward_ticker(ticker: object) -> str:
    """`PLU` for every alias of the reward token (missing means PLU); anything else is a defect."""
    if ticker is None or ticker == "":
        return REWARD_TICKER
    if not isinstance(ticker, str) or ticker.strip().upper() not in REWARD_TICKER_ALIASES:
        raise ValueError(f"ticker: {ticker!r} is not one of {', '.join(REWARD_TICKER_ALIASES)}")
    return REWARD_TICKER


# ---- money -------------------------------------------------------------------------------------------------

# Accounts are held in these currencies. Money stays in minor units with its currency; a GBP value exists
# only where a rate to GBP does (today: GBP itself), and its column says so (`_gbp`).
CURRENCIES = ("GBP", "EUR")
GBP = "GBP"
MINOR_UNITS_PER_MAJOR = 100  # both currencies have two decimals


def minor_units(value: object, field: str) -> int:
    """A whole number of minor units from an int, a float with no fraction or a decimal string ("8.00000").

    Raises ValueError naming `field` for a missing, non-numeric or fractional value.
    """
    if value is None or isinstance(value, bool) or value == "":
        raise ValueError(f"{field}: missing")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{field}: {value!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"{field}: {value!r} is not a whole number of minor units")
    return int(number)


# ---- statement rows ----------------------------------------------------------------------------------------

StatementKind = Literal[
    "card_purchase",  # a card payment that settled: spend
    "card_refund",  # a merchant gave a card payment back
    "card_authorisation",  # pending or declined card payments: not (yet) money moved
    "top_up",  # money paid into the account (DEPOSIT_FUNDS_RECEIVED, PAYIN)
    "card_load",  # money moved from the account onto the card (LOAD_PLUTUS_CARD_FROM_*)
    "withdrawal",  # money paid out of the account (PAYOUT, WITHDRAW*)
    "transfer",  # other movements between the customer's own balances
    "fee",  # a charge of the programme: spend
    "other",  # a type name the rules below do not know: kept, never counted as spend
]
STATEMENT_KINDS: tuple[StatementKind, ...] = get_args(StatementKind)
# The kinds the spend views count as spend (refunds are shown beside them and netted off).
SPEND_KINDS: tuple[StatementKind, ...] = ("card_purchase", "fee")

# The contract's type names of card rows. The card model (ContisTransaction) sends numeric codes; the replay
# maps the codes seen in public clients to these names.
CARD_SETTLEMENT, CARD_REFUND = "CARD_SETTLEMENT", "CARD_REFUND"
CARD_TYPE_CODES = {
    "31": CARD_SETTLEMENT,
    "PURCHASE": CARD_SETTLEMENT,
    "35": CARD_REFUND,
    "45": CARD_REFUND,
    "REFUND": CARD_REFUND,
    "29": "CARD_DEPOSIT",
    "0": "PENDING",
    "5": "DECLINED_POS_CHARGE",
}

# (match, pattern, kind), the first that matches a type name wins: "exact", "prefix" or "contains".
STATEMENT_KIND_RULES: tuple[tuple[Literal["exact", "prefix", "contains"], str, StatementKind], ...] = (
    ("exact", CARD_SETTLEMENT, "card_purchase"),
    ("exact", CARD_REFUND, "card_refund"),
    ("exact", "PENDING", "card_authorisation"),
    ("exact", "DECLINED_POS_CHARGE", "card_authorisation"),
    ("exact", "CARD_DEPOSIT", "card_load"),
    ("exact", "DEPOSIT_FUNDS_RECEIVED", "top_up"),
    ("exact", "PAYIN", "top_up"),
    ("exact", "PAYOUT", "withdrawal"),
    ("prefix", "LOAD_PLUTUS_CARD_FROM_", "card_load"),
    ("contains", "FEE", "fee"),
    ("contains", "WITHDRAW", "withdrawal"),
    ("contains", "TRANSFER", "transfer"),
)


def statement_kind(type_name: str) -> StatementKind:
    """The kind of a statement row from its contract `type` (upper case), by `STATEMENT_KIND_RULES`."""
    name = type_name.strip().upper()
    for match, pattern, kind in STATEMENT_KIND_RULES:
        if (
            (match == "exact" and name == pattern)
            or (match == "prefix" and name.startswith(pattern))
            or (match == "contains" and pattern in name)
        ):
            return kind
    return "other"


def statement_direction(amount: object, is_debit: object) -> tuple[int, bool]:
    """(amount in minor units, always >= 0; is_debit) of a real statement row.

    Card rows (ContisTransaction) carry a positive amount and `is_debit` 1/0 (or true/false): the flag decides,
    and a negative amount may only accompany a debit. Fiat rows (FiatTransaction) carry a signed amount
    (purchases, loads, fees and withdrawals negative) and `is_debit` null: the sign decides.
    Raises ValueError naming the field for a contradiction or an unreadable value.
    """
    minor = minor_units(amount, "amount")
    if is_debit is None:
        return abs(minor), minor < 0
    if isinstance(is_debit, bool):
        debit = is_debit
    elif isinstance(is_debit, int) and is_debit in (0, 1):
        debit = bool(is_debit)
    else:
        raise ValueError(f"is_debit: {is_debit!r} is not 1, 0, true, false or null")
    if minor < 0 and not debit:
        raise ValueError(f"amount: {minor} is negative on a credit (is_debit={is_debit!r})")
    return abs(minor), debit
