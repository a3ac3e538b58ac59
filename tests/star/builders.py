"""Small hand-made silver and gold rows for the star-schema tests: every field has a sensible default, a test
overrides only what it is about."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from spark_jobs import schemas

T0 = datetime(2025, 6, 1, 13, 22, 1, tzinfo=UTC)


def frame(spark: SparkSession, schema: StructType, rows: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema.fields) for r in rows], schema)


def transaction(transaction_id: str, **overrides: Any) -> dict[str, Any]:
    ts = overrides.pop("transaction_ts", T0)
    row = {
        "transaction_id": transaction_id,
        "transaction_ts": ts,
        "transaction_date": ts.date(),
        "transaction_month": ts.strftime("%Y-%m"),
        "transaction_type": "CARD_SETTLEMENT",
        "statement_kind": "card_purchase",
        "amount_minor": 4997,
        "amount_gbp": Decimal("49.97"),
        "currency": "GBP",
        "is_debit": True,
        "is_refund": False,
        "description": "fraud_Rippin, Kub and Mann",
        "clean_description": "Rippin, Kub and Mann",
        "category": "misc_net",
        "mcc": "5969",
        "card_token": "tok_a",
        "card_last4": "2095",
        "cardholder_id": "ch_1",
        "address_id": "addr_1",
        "merchant_id": "m_1",
        "is_fraud": False,
        "original_transaction_id": None,
        "created_at": ts,
        "updated_at": ts,
        "record_hash": f"h_{transaction_id}",
        "source_file": "raw/x.json.gz",
        "run_id": "run-1",
    }
    row.update(overrides)
    return row


def refund(transaction_id: str, original: str, **overrides: Any) -> dict[str, Any]:
    return transaction(
        transaction_id,
        transaction_type="CARD_REFUND",
        statement_kind="card_refund",
        is_debit=False,
        is_refund=True,
        original_transaction_id=original,
        **overrides,
    )


def reward_transaction(reward_id: str, transaction_id: str | None, **overrides: Any) -> dict[str, Any]:
    """A gold/reward_transactions row, shaped as the gold job writes it."""
    found = overrides.pop("transaction_found", transaction_id is not None)
    status = overrides.pop("reward_status", "pending")
    row = {
        "reward_id": reward_id,
        "transaction_id": transaction_id,
        "reward_type": "DAILY_REBATE_DISTRIBUTION",
        "reward_kind": "rebate" if transaction_id else "perk",
        "reference_type": "contis_transactions" if transaction_id else "perk_1_reward",
        "transaction_link": "direct" if transaction_id else "no_transaction",
        "reward_status": status,
        "is_available": status == "approved",
        "reward_created_at": datetime(2025, 6, 2, 1, 0, tzinfo=UTC),
        "reward_updated_at": datetime(2025, 6, 2, 1, 0, tzinfo=UTC),
        "plu_amount": Decimal("0.25000000"),
        "fiat_amount_minor": 4997,
        "reward_rate_pct": 3.0 if transaction_id else None,
        "reward_currency": "GBP",
        "reward_amount_minor": Decimal("149.9100"),
        "reward_amount_gbp": Decimal("1.4991"),
        "plu_price_gbp": 5.9964,
        "plu_price_source": "derived_from_reward",
        "transaction_found": found,
        "transaction_ts": T0 if found else None,
        "transaction_amount_minor": 4997 if found else None,
        "transaction_currency": "GBP" if found else None,
        "transaction_amount_gbp": Decimal("49.97") if found else None,
        "transaction_type": "CARD_SETTLEMENT" if found else None,
        "statement_kind": "card_purchase" if found else None,
        "category": "misc_net" if found else None,
        "merchant_name": "Rippin, Kub and Mann" if found else None,
        "mcc": "5969" if found else None,
        "merchant_id": "m_1" if found else None,
        "card_token": "tok_a" if found else None,
        "card_last4": "2095" if found else None,
        "row_hash": None,
        "run_id": "run-1",
    }
    row.update(overrides)
    return row


def silver_reward(reward_id: str, transaction_id: str | None, **overrides: Any) -> dict[str, Any]:
    row = {
        "reward_id": reward_id,
        "transaction_id": transaction_id,
        "ticker": "PLU",
        "plu_amount": Decimal("0.25000000"),
        "fiat_amount_minor": 4997,
        "fiat_currency": "GBP",
        "reward_rate_pct": 3.0,
        "reward_type": "DAILY_REBATE_DISTRIBUTION",
        "reward_kind": "rebate",
        "status": "pending",
        "created_at": datetime(2025, 6, 2, 1, 0, tzinfo=UTC),
        "updated_at": datetime(2025, 6, 2, 1, 0, tzinfo=UTC),
        "created_month": "2025-06",
        "record_hash": f"h_{reward_id}",
        "source_file": "raw/r.json.gz",
        "run_id": "run-1",
    }
    row.update(overrides)
    return row


def cardholder(cardholder_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "cardholder_id": cardholder_id,
        "first_name": "Jennifer",
        "last_name": "Banks",
        "gender": "F",
        "date_of_birth": date(1988, 3, 9),
        "job": "Psychologist, counselling",
        "address_id": "addr_1",
        "updated_at": T0,
        "record_hash": f"h_{cardholder_id}",
    }
    row.update(overrides)
    return row


def card(card_token: str, cardholder_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "card_token": card_token,
        "card_last4": "2095",
        "cardholder_id": cardholder_id,
        "updated_at": T0,
        "record_hash": f"h_{card_token}",
    }
    row.update(overrides)
    return row


def address(address_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "address_id": address_id,
        "street": "561 Perry Cove",
        "city": "Moravian Falls",
        "state": "NC",
        "zip": "28654",
        "lat": 36.0788,
        "long": -81.1781,
        "city_population": 3495,
        "updated_at": T0,
        "record_hash": f"h_{address_id}",
    }
    row.update(overrides)
    return row


def merchant(merchant_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "merchant_id": merchant_id,
        "merchant_name": "fraud_Rippin, Kub and Mann",
        "category": "misc_net",
        "mcc": "5969",
        "merchant_lat": 36.011293,
        "merchant_long": -82.048315,
        "updated_at": T0,
        "record_hash": f"h_{merchant_id}",
    }
    row.update(overrides)
    return row


def transactions_df(spark: SparkSession, *rows: dict[str, Any]) -> DataFrame:
    return frame(spark, schemas.SILVER_TRANSACTIONS, list(rows))


def reward_transactions_df(spark: SparkSession, *rows: dict[str, Any]) -> DataFrame:
    return frame(spark, schemas.GOLD_REWARD_TRANSACTIONS, list(rows))


def xxhash64(spark: SparkSession, value: str) -> int:
    """Spark's own xxhash64 of a string, the surrogate key the star tables must carry."""
    return spark.range(1).select(F.xxhash64(F.lit(value)).alias("k")).first()["k"]
