"""Hand-made silver rows for the fraud tests: a transaction is (card, time, amount, ...), everything else defaulted."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from spark_jobs.schemas import SILVER_ADDRESSES, SILVER_CARDHOLDERS, SILVER_MERCHANTS, SILVER_TRANSACTIONS

T0 = datetime(2025, 6, 10, 12, 0, 0)  # a Tuesday; naive datetimes are UTC (the session time zone is UTC)


def token(card: str) -> str:
    return hashlib.sha256(card.encode()).hexdigest()


def txn(
    transaction_id: str,
    ts: datetime,
    amount: float | str = "10.00",
    *,
    card: str = "card-a",
    merchant: str = "m1",
    merchant_at: tuple[float, float] | None = None,
    category: str = "grocery_pos",
    refund: bool = False,
    fraud: bool | None = False,
    cardholder: str = "ch1",
    address: str = "addr1",
    updated: datetime | None = None,
    run_id: str = "run-1",
) -> dict[str, Any]:
    amount_gbp = Decimal(str(amount)).quantize(Decimal("0.01"))
    return {
        "transaction_id": transaction_id,
        "transaction_ts": ts,
        "transaction_date": ts.date(),
        "transaction_month": ts.strftime("%Y-%m"),
        "transaction_type": "CARD_REFUND" if refund else "CARD_SETTLEMENT",
        "amount_minor": int(amount_gbp * 100),
        "amount_gbp": amount_gbp,
        "currency": "GBP",
        "is_debit": not refund,
        "is_refund": refund,
        "description": f"fraud_{merchant}",
        "clean_description": merchant,
        "category": category,
        "mcc": "5411",
        "card_token": token(card),
        "card_last4": card[-4:],
        "cardholder_id": cardholder,
        "address_id": address,
        "merchant_id": merchant,
        "merchant_lat": merchant_at[0] if merchant_at else None,
        "merchant_long": merchant_at[1] if merchant_at else None,
        "is_fraud": fraud,
        "original_transaction_id": None,
        "created_at": ts,
        "updated_at": updated or ts,
        "record_hash": hashlib.md5(f"{transaction_id}{amount}{updated}".encode()).hexdigest(),
        "source_file": "test",
        "run_id": run_id,
    }


def transactions_df(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame(_rows(SILVER_TRANSACTIONS, rows), SILVER_TRANSACTIONS)


def _rows(schema, rows: list[dict[str, Any]]) -> list[tuple]:
    return [tuple(r.get(n) for n in schema.fieldNames()) for r in rows]


def cardholders_df(spark: SparkSession, dobs: dict[str, date], run_id: str = "run-1") -> DataFrame:
    rows = [
        {
            "cardholder_id": ch,
            "first_name": "Ann",
            "gender": "F",
            "date_of_birth": dob,
            "address_id": "addr1",
            "updated_at": T0,
            "record_hash": "h",
            "run_id": run_id,
        }
        for ch, dob in dobs.items()
    ]
    return spark.createDataFrame(_rows(SILVER_CARDHOLDERS, rows), SILVER_CARDHOLDERS)


def addresses_df(spark: SparkSession, places: dict[str, tuple[float, float]], run_id: str = "run-1") -> DataFrame:
    rows = [
        {
            "address_id": a,
            "city": "Town",
            "state": "NC",
            "lat": lat,
            "long": lon,
            "city_population": 3000,
            "updated_at": T0,
            "record_hash": "h",
            "run_id": run_id,
        }
        for a, (lat, lon) in places.items()
    ]
    return spark.createDataFrame(_rows(SILVER_ADDRESSES, rows), SILVER_ADDRESSES)


def merchants_df(
    spark: SparkSession, places: dict[str, tuple[float, float]], category: str = "grocery_pos", run_id: str = "run-1"
) -> DataFrame:
    rows = [
        {
            "merchant_id": m,
            "merchant_name": f"fraud_{m}",
            "category": category,
            "mcc": "5411",
            "merchant_lat": lat,
            "merchant_long": lon,
            "updated_at": T0,
            "record_hash": "h",
            "run_id": run_id,
        }
        for m, (lat, lon) in places.items()
    ]
    return spark.createDataFrame(_rows(SILVER_MERCHANTS, rows), SILVER_MERCHANTS)


def at(seconds: int, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def random_history(
    seed: int = 7, cards: int = 5, days: int = 8, per_day: int = 4, start: datetime = datetime(2025, 3, 1)
) -> list[dict[str, Any]]:
    """A reproducible multi-card history with same-second pairs, refunds, two categories and four merchants."""
    import random

    rnd = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for card in range(cards):
        for day in range(days):
            for n in range(rnd.randint(1, per_day * 2 - 1)):
                ts = start + timedelta(days=day, seconds=rnd.randrange(DAY_SECONDS))
                tid = f"c{card}d{day}n{n}"
                rows.append(
                    txn(
                        tid,
                        ts,
                        f"{rnd.uniform(2, 300):.2f}",
                        card=f"card-{card}",
                        merchant=f"m{rnd.randrange(4)}",
                        category=rnd.choice(["grocery_pos", "shopping_net"]),
                        refund=rnd.random() < 0.05,
                        fraud=rnd.random() < 0.1,
                        cardholder=f"ch{card % 3}",
                        address=f"addr{card % 3}",
                    )
                )
                if rnd.random() < 0.1:  # a second purchase in the very same second
                    rows.append(txn(tid + "s", ts, "12.34", card=f"card-{card}", merchant="m0"))
    return rows


DAY_SECONDS = 86_400


def labelled_history(seed: int = 11, cards: int = 6, months: int = 4, per_month: int = 12) -> list[dict[str, Any]]:
    """Four months of ordinary daytime grocery spend, with a late-night burst of big online purchases (the fraud)
    on two cards each month: enough for a tiny model to learn and for alerts to fire."""
    import random

    rnd = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for month in range(months):
        first = datetime(2025, 1 + month, 1)
        for card in range(cards):
            for n in range(per_month):
                ts = first + timedelta(days=rnd.randrange(27), hours=rnd.randrange(8, 20), seconds=rnd.randrange(3600))
                rows.append(
                    txn(
                        f"ok-{month}-{card}-{n}",
                        ts,
                        f"{rnd.uniform(5, 80):.2f}",
                        card=f"card-{card}",
                        merchant=f"m{rnd.randrange(3)}",
                        cardholder=f"ch{card % 3}",
                        address=f"addr{card % 3}",
                    )
                )
            if card in ((month * 2) % cards, (month * 2 + 1) % cards):
                start = first + timedelta(days=27, hours=23)
                for n in range(3):
                    rows.append(
                        txn(
                            f"fraud-{month}-{card}-{n}",
                            start + timedelta(minutes=7 * n),
                            f"{rnd.uniform(400, 900):.2f}",
                            card=f"card-{card}",
                            merchant="m3",
                            category="shopping_net",
                            fraud=True,
                            cardholder=f"ch{card % 3}",
                            address=f"addr{card % 3}",
                        )
                    )
    return rows
