"""What the source's records mean (docs/contracts.md section 1): reward status, statement direction and kind.

The real card API speaks two generations of shapes (legacy `pluton` rewards with `available` and a free-text
`reason`; statement rows of two models, card and fiat, that sign their amounts differently). Every rule that
turns a real-shaped field into the contract's meaning is written here once, as a pure function over plain
values or as data that a Spark expression reads (`STATEMENT_KIND_RULES`), so the adapters (the Plutus replay)
and silver cannot disagree.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

# ---- rewards -----------------------------------------------------------------------------------------------

RewardStatus = Literal["pending", "approved", "rejected"]
REWARD_STATUSES: tuple[RewardStatus, ...] = get_args(RewardStatus)
# The only `reason` texts that reject a legacy reward. Approvals carry reasons too ("Automated approval. Trx
# below 500", "Automated approval after 45 days", "Accepted by admin", promotional texts).
REJECTION_REASONS = ("Rejected by admin",)
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


RewardKind = Literal["rebate", "bonus", "perk", "partial", "manual", "referral"]
REWARD_KINDS: tuple[RewardKind, ...] = get_args(RewardKind)
# The source's `reference_type` values that name what a reward refers to. A partial reward references another
# reward (`parentRewardId`), which leads to the transaction; a perk's reference type is `perk_<n>_reward`.
PARTIAL_REFERENCE_TYPES = ("fiat_partial", "contis_partial")
TRANSACTION_REFERENCE_TYPES = ("contis_transactions", "fiat_transactions")
MANUAL_REFERENCE_TYPE = "manual"
REFERRAL_REFERENCE_TYPE = "referring"
PERK_REFERENCE_PATTERN = r"^perk_[0-9]+_reward$"  # a regular expression both Python and Spark read
BONUS_REWARD_TYPES = ("REBATE_BONUS",)
# (field, match, pattern, kind), the first that matches wins; `reference_type` is compared in lower case and
# `type` in upper case, both without surrounding space; no match is a "rebate".
REWARD_KIND_RULES: tuple[tuple[Literal["reference_type", "type"], Literal["exact", "regex"], str, RewardKind], ...] = (
    ("reference_type", "regex", PERK_REFERENCE_PATTERN, "perk"),
    *(("reference_type", "exact", name, "partial") for name in PARTIAL_REFERENCE_TYPES),
    ("reference_type", "exact", REFERRAL_REFERENCE_TYPE, "referral"),
    ("reference_type", "exact", MANUAL_REFERENCE_TYPE, "manual"),
    *(("type", "exact", name, "bonus") for name in BONUS_REWARD_TYPES),
)
REWARD_KIND_DEFAULT: RewardKind = "rebate"
# Kinds whose fiat value may be null: they reward no transaction amount (a rebate and a partial do).
FIAT_OPTIONAL_REWARD_KINDS: tuple[RewardKind, ...] = ("bonus", "perk", "manual", "referral")
# Kinds that are earned on a transaction: a reward of another kind has none and is not "unmatched".
TRANSACTION_REWARD_KINDS: tuple[RewardKind, ...] = ("rebate", "partial")
# Kinds whose value is `fiatAmountRewarded` x `rewardRate` %; the other kinds' value is `fiatAmountRewarded`.
RATE_VALUED_REWARD_KINDS: tuple[RewardKind, ...] = ("rebate", "partial", "bonus")
# A partial is followed through at most this many parents (a longer chain, or a cycle, stays unresolved).
MAX_PARTIAL_HOPS = 4


def reward_kind(type_name: object, reference_type: object) -> RewardKind:
    """What a reward is, from its source `type` (verbatim) and `reference_type` (verbatim, may be null).

    Perks are not a type: a reward whose reference type is `perk_<n>_reward` is a perk. Partials reference
    another reward (`fiat_partial`, `contis_partial`); `referring` is a referral, `manual` an admin's reward;
    a `REBATE_BONUS` is a bonus; every other reward (`DAILY_REBATE_DISTRIBUTION` on a transaction) a rebate.
    """
    values = {
        "reference_type": reference_type.strip().lower() if isinstance(reference_type, str) else "",
        "type": type_name.strip().upper() if isinstance(type_name, str) else "",
    }
    for field, match, pattern, kind in REWARD_KIND_RULES:
        value = values[field]
        if (match == "exact" and value == pattern) or (match == "regex" and re.fullmatch(pattern, value)):
            return kind
    return REWARD_KIND_DEFAULT


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
# Rows of the card itself (payments, refunds, authorisations): what fraud is measured on. Top-ups, loads, fees
# and transfers are account movements that no card fraud can touch, so they would dilute a fraud rate.
CARD_KINDS: tuple[StatementKind, ...] = ("card_purchase", "card_refund", "card_authorisation")
# A label of each kind for the star's statement-kind dimension.
STATEMENT_KIND_LABELS: dict[StatementKind, str] = {
    "card_purchase": "Card purchase",
    "card_refund": "Card refund",
    "card_authorisation": "Card authorisation (pending or declined)",
    "top_up": "Top-up",
    "card_load": "Card load",
    "withdrawal": "Withdrawal",
    "transfer": "Transfer",
    "fee": "Fee",
    "other": "Other",
}

# Merchant category codes of the spending categories (the categories of the Sparkov / Kaggle data set). A
# statement row or reward that carries an MCC but no category gets the category of its MCC; an MCC not
# listed here leaves the category unknown (null).
MCC_OF_CATEGORY: dict[str, str] = {
    "entertainment": "7832",  # motion picture theatres
    "food_dining": "5812",  # eating places, restaurants
    "gas_transport": "5541",  # service stations
    "grocery_net": "5499",  # misc. food stores (online grocery)
    "grocery_pos": "5411",  # grocery stores, supermarkets
    "health_fitness": "7997",  # clubs, fitness
    "home": "5200",  # home supply warehouse
    "kids_pets": "5995",  # pet shops, pet food
    "misc_net": "5969",  # direct marketing, other
    "misc_pos": "5999",  # misc. and speciality retail
    "personal_care": "7230",  # beauty and barber shops
    "shopping_net": "5964",  # direct marketing, catalogue merchant
    "shopping_pos": "5311",  # department stores
    "travel": "4722",  # travel agencies
}
CATEGORY_OF_MCC: dict[str, str] = {mcc: category for category, mcc in MCC_OF_CATEGORY.items()}


def category_of_mcc(mcc: object) -> str | None:
    """The spending category of an MCC (`CATEGORY_OF_MCC`, surrounding space ignored), None when unknown."""
    return CATEGORY_OF_MCC.get(mcc.strip()) if isinstance(mcc, str) else None


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
