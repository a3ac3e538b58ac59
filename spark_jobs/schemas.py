"""Explicit schemas: the raw API records (as the contract in docs/contracts.md pins them) and the silver tables.

Raw schemas type every field as it should arrive; fields that fail to parse become null and the silver
transforms quarantine the record with a reason instead of guessing.
"""

from __future__ import annotations

from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

MONEY = DecimalType(18, 2)
PLU = DecimalType(28, 8)


def _struct(*fields: tuple[str, DataType]) -> StructType:
    return StructType([StructField(name, dtype, True) for name, dtype in fields])


RAW_ADDRESS = _struct(
    ("street", StringType()),
    ("city", StringType()),
    ("state", StringType()),
    ("zip", StringType()),
    ("lat", DoubleType()),
    ("long", DoubleType()),
    ("cityPopulation", LongType()),
)

RAW_TRANSACTION = _struct(
    ("id", StringType()),
    ("date", StringType()),
    ("type", StringType()),
    (
        "amount",
        StringType(),
    ),  # parsed and range-checked in silver, so "12.5" or "abc" is quarantined, not nulled
    ("currency", StringType()),
    ("isDebit", BooleanType()),
    ("description", StringType()),
    ("cleanDescription", StringType()),
    ("mcc", StringType()),
    ("category", StringType()),
    ("card", _struct(("number", StringType()), ("cardholderId", StringType()))),
    (
        "cardholder",
        _struct(
            ("id", StringType()),
            ("firstName", StringType()),
            ("lastName", StringType()),
            ("gender", StringType()),
            ("dateOfBirth", StringType()),
            ("job", StringType()),
            ("address", RAW_ADDRESS),
        ),
    ),
    (
        "merchant",
        _struct(
            ("id", StringType()),
            ("name", StringType()),
            ("category", StringType()),
            ("mcc", StringType()),
            ("lat", DoubleType()),
            ("long", DoubleType()),
        ),
    ),
    ("isFraud", BooleanType()),
    ("originalTransactionId", StringType()),
    ("createdAt", StringType()),
    ("updatedAt", StringType()),
)

RAW_REWARD = _struct(
    ("id", StringType()),
    ("ticker", StringType()),
    ("amount", StringType()),
    ("fiatAmountRewarded", StringType()),
    ("fiatCurrency", StringType()),
    ("status", StringType()),
    ("type", StringType()),
    ("rewardRate", StringType()),
    ("transactionOriginalId", StringType()),
    # docs/contracts.md section 1: the source's reference verbatim, the parent of a partial, and the merchant
    # of the reward's nested transaction. Pages landed before these fields existed read them as null.
    ("referenceType", StringType()),
    ("referenceId", StringType()),
    ("parentRewardId", StringType()),
    ("merchantName", StringType()),
    ("mcc", StringType()),
    ("createdAt", StringType()),
    ("updatedAt", StringType()),
)

RAW_PLU_RATE = _struct(
    ("timestamp", StringType()),
    ("ticker", StringType()),
    ("currency", StringType()),
    ("price", StringType()),
)

# ---- silver -----------------------------------------------------------------------------------------------

SILVER_TRANSACTIONS = _struct(
    ("transaction_id", StringType()),
    ("transaction_ts", TimestampType()),
    ("transaction_date", DateType()),
    ("transaction_month", StringType()),  # partition, "YYYY-MM"
    ("transaction_type", StringType()),
    ("statement_kind", StringType()),  # contracts.records.StatementKind
    ("amount_minor", LongType()),  # always >= 0; direction is is_debit
    ("amount_gbp", MONEY),  # null unless currency is GBP (no rate to GBP for other currencies)
    ("currency", StringType()),
    ("is_debit", BooleanType()),
    ("is_refund", BooleanType()),
    ("description", StringType()),
    ("clean_description", StringType()),
    ("category", StringType()),
    ("mcc", StringType()),
    ("card_token", StringType()),
    ("card_last4", StringType()),
    ("cardholder_id", StringType()),
    ("address_id", StringType()),
    ("merchant_id", StringType()),
    # Where this purchase happened: merchants report a location per transaction, and the latest one kept in
    # silver/merchants would give a feature that depends on which transactions have arrived so far.
    ("merchant_lat", DoubleType()),
    ("merchant_long", DoubleType()),
    ("is_fraud", BooleanType()),
    ("original_transaction_id", StringType()),
    ("created_at", TimestampType()),
    ("updated_at", TimestampType()),
    ("record_hash", StringType()),
    ("source_file", StringType()),
    ("run_id", StringType()),
)

SILVER_REWARDS = _struct(
    ("reward_id", StringType()),
    ("transaction_id", StringType()),
    ("ticker", StringType()),
    ("plu_amount", PLU),
    ("fiat_amount_minor", LongType()),
    ("fiat_currency", StringType()),
    ("reward_rate_pct", DoubleType()),
    ("reward_type", StringType()),  # the source's type verbatim
    ("reward_kind", StringType()),  # contracts.records.RewardKind
    ("reference_type", StringType()),
    ("reference_id", StringType()),
    ("parent_reward_id", StringType()),  # partials: the reward whose transaction this one belongs to
    ("merchant_name", StringType()),  # from the reward's nested transaction
    ("mcc", StringType()),
    ("status", StringType()),
    ("created_at", TimestampType()),
    ("updated_at", TimestampType()),
    ("created_month", StringType()),  # partition
    ("record_hash", StringType()),
    ("source_file", StringType()),
    ("run_id", StringType()),
)

SILVER_CARDHOLDERS = _struct(
    ("cardholder_id", StringType()),
    ("first_name", StringType()),
    ("last_name", StringType()),
    ("gender", StringType()),
    ("date_of_birth", DateType()),
    ("job", StringType()),
    ("address_id", StringType()),
    ("updated_at", TimestampType()),
    ("record_hash", StringType()),
    ("run_id", StringType()),
)

SILVER_ADDRESSES = _struct(
    ("address_id", StringType()),
    ("street", StringType()),
    ("city", StringType()),
    ("state", StringType()),
    ("zip", StringType()),
    ("lat", DoubleType()),
    ("long", DoubleType()),
    ("city_population", LongType()),
    ("updated_at", TimestampType()),
    ("record_hash", StringType()),
    ("run_id", StringType()),
)

SILVER_MERCHANTS = _struct(
    ("merchant_id", StringType()),
    ("merchant_name", StringType()),
    ("category", StringType()),
    ("mcc", StringType()),
    ("merchant_lat", DoubleType()),
    ("merchant_long", DoubleType()),
    ("updated_at", TimestampType()),
    ("record_hash", StringType()),
    ("run_id", StringType()),
)

SILVER_CARDS = _struct(
    ("card_token", StringType()),
    ("card_last4", StringType()),
    ("cardholder_id", StringType()),
    ("updated_at", TimestampType()),
    ("record_hash", StringType()),
    ("run_id", StringType()),
)

SILVER_PLU_RATES = _struct(
    ("rate_ts", TimestampType()),
    ("ticker", StringType()),
    ("currency", StringType()),
    ("price_gbp", DoubleType()),
    ("updated_at", TimestampType()),
    ("record_hash", StringType()),
    ("run_id", StringType()),
)

SILVER_QUARANTINE = _struct(
    ("quarantine_id", StringType()),
    ("entity", StringType()),
    ("source_file", StringType()),
    ("raw_record", StringType()),
    ("reason", StringType()),
    ("run_id", StringType()),
    ("quarantined_at", TimestampType()),
)

RUN_METRICS = _struct(
    ("run_id", StringType()),
    ("job", StringType()),
    ("entity", StringType()),
    ("records_read", LongType()),
    ("accepted", LongType()),
    ("quarantined", LongType()),
    ("duplicates", LongType()),
    ("rows_written", LongType()),
    ("recorded_at", TimestampType()),
)

# ---- gold ------------------------------------------------------------------------------------------------

REWARD_VALUE_MINOR = DecimalType(18, 4)  # minor units of the reward's currency; a rebate's can hold fractions

GOLD_REWARD_TRANSACTIONS = _struct(
    ("reward_id", StringType()),
    # The transaction the reward belongs to: its own transactionOriginalId, or, for a partial, its parent's
    # (through every partial of a chain). Null for rewards of no transaction and while unresolved.
    ("transaction_id", StringType()),
    ("reward_type", StringType()),
    ("reward_kind", StringType()),
    ("reference_type", StringType()),
    ("reference_id", StringType()),
    ("parent_reward_id", StringType()),
    # direct / via_parent / no_transaction (bonus, perk, manual, referral without one) / unresolved
    ("transaction_link", StringType()),
    ("unresolved_reason", StringType()),  # why a reward of a transaction has none (yet); null otherwise
    ("reward_status", StringType()),
    ("is_available", BooleanType()),
    ("reward_created_at", TimestampType()),
    ("reward_updated_at", TimestampType()),
    ("plu_amount", PLU),
    ("fiat_amount_minor", LongType()),
    ("reward_currency", StringType()),
    ("reward_rate_pct", DoubleType()),
    ("reward_amount_minor", REWARD_VALUE_MINOR),
    ("reward_amount_gbp", DecimalType(18, 4)),  # null unless the reward is in GBP
    ("plu_price_gbp", DoubleType()),
    ("plu_price_source", StringType()),  # rate_feed / derived_from_reward, null when neither exists
    ("transaction_found", BooleanType()),
    ("transaction_ts", TimestampType()),
    ("transaction_amount_minor", LongType()),
    ("transaction_currency", StringType()),
    ("transaction_amount_gbp", MONEY),  # null unless the transaction is in GBP
    ("transaction_type", StringType()),
    ("statement_kind", StringType()),
    ("category", StringType()),  # the statement row's, else the category of the MCC below
    ("merchant_name", StringType()),  # the statement row's clean description, else the reward's nested merchant
    ("mcc", StringType()),  # the statement row's, else the reward's nested MCC
    ("merchant_id", StringType()),
    ("card_token", StringType()),
    ("card_last4", StringType()),
    ("row_hash", StringType()),
    ("run_id", StringType()),
)
