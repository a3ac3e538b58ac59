"""A hand-made star schema small enough to check every view figure by hand (see the expectations in tests)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cardlake.warehouse.export import arrow_schema
from contracts.lake import export_manifest_uri
from contracts.records import CARD_KINDS, SPEND_KINDS, STATEMENT_KIND_LABELS, STATEMENT_KINDS
from contracts.tables import TABLES_BY_NAME

MON, SAT = date(2025, 6, 2), date(2025, 6, 7)
T0 = datetime(2025, 6, 8, tzinfo=UTC)


def _ts(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 15, tzinfo=UTC)


def dim_date() -> list[dict[str, Any]]:
    return [
        {"date_key": int(d.strftime("%Y%m%d")), "full_date": d, "year": d.year, "quarter": 2, "month": d.month,
         "month_name": "June", "day_of_month": d.day, "day_of_week": d.isoweekday(), "day_name": d.strftime("%A"),
         "is_weekend": d.isoweekday() >= 6}
        for d in (MON, SAT)
    ]  # fmt: skip


def dim_time() -> list[dict[str, Any]]:
    return [
        {"time_key": h, "hour_of_day": h, "hour_label": f"{h:02d}:00-{h:02d}:59",
         "day_part": "night" if h >= 22 or h < 4 else "day", "is_night": h >= 22 or h < 4}
        for h in range(24)
    ]  # fmt: skip


def dim_statement_kind() -> list[dict[str, Any]]:
    return [
        {"statement_kind_key": i, "statement_kind": k, "label": STATEMENT_KIND_LABELS[k], "is_spend": k in SPEND_KINDS,
         "is_card_row": k in CARD_KINDS, "is_refund": k == "card_refund"}
        for i, k in enumerate(STATEMENT_KINDS)
    ]  # fmt: skip


def dim_address() -> list[dict[str, Any]]:
    return [
        {"address_key": 1, "address_id": "a1", "street": "1 High St", "city": "London", "state": "LND",
         "zip": "E1", "latitude": 51.5, "longitude": -0.1, "city_population": 9_000_000, "city_size": "urban",
         "updated_at": T0},
        {"address_key": 2, "address_id": "a2", "street": "2 Low Rd", "city": "Leeds", "state": "WYK",
         "zip": "LS1", "latitude": 53.8, "longitude": -1.5, "city_population": 800_000, "city_size": "urban",
         "updated_at": T0},
    ]  # fmt: skip


def dim_customer() -> list[dict[str, Any]]:
    return [
        {"customer_key": k, "card_token": f"tok{k}", "card_last4": f"000{k}", "cardholder_id": f"ch_{k}",
         "first_name": "Ann" if k == 1 else "Bob", "last_name": "Smith", "gender": "F" if k == 1 else "M",
         "job": "Engineer", "date_of_birth": date(1990, 1, k), "age_band": "35-44", "address_key": k,
         "updated_at": T0}
        for k in (1, 2)
    ]  # fmt: skip


def dim_merchant() -> list[dict[str, Any]]:
    return [
        {"merchant_key": 1, "merchant_id": "m1", "merchant_name": "Tesco", "category": "grocery_pos",
         "mcc": "5411", "merchant_latitude": 51.0, "merchant_longitude": 0.0, "updated_at": T0},
        {"merchant_key": 2, "merchant_id": "m2", "merchant_name": "Amazon", "category": "shopping_net",
         "mcc": "5969", "merchant_latitude": 52.0, "merchant_longitude": 0.0, "updated_at": T0},
    ]  # fmt: skip


def _txn(key: int, customer: int, merchant: int, day: date, hour: int, amount: str, *, refund: bool = False,
         fraud: bool = False, score: float | None = None, kind: str | None = None,
         currency: str = "GBP") -> dict[str, Any]:  # fmt: skip
    value = Decimal(amount)
    kind = kind or ("card_refund" if refund else "card_purchase")
    gbp = value if currency == "GBP" else None
    credit = kind in ("card_refund", "top_up")
    signed = None if gbp is None else (-gbp if credit else gbp)
    minor = int(value * 100)
    return {
        "transaction_key": key, "transaction_id": f"t{key}", "customer_key": customer, "address_key": customer,
        "merchant_key": merchant, "date_key": int(day.strftime("%Y%m%d")), "time_key": hour,
        "transaction_ts": _ts(day, hour), "transaction_date": day,
        "transaction_type": "CARD_REFUND" if refund else "CARD_SETTLEMENT", "statement_kind": kind,
        "statement_kind_key": STATEMENT_KINDS.index(kind), "merchant_name": None, "mcc": None,
        "category": "grocery_pos" if merchant == 1 else "shopping_net", "amount_minor": minor,
        "signed_amount_minor": -minor if credit else minor, "currency": currency, "amount_gbp": gbp,
        "signed_amount_gbp": signed, "is_refund": refund, "is_fraud": fraud,
        "fraud_score": score, "reward_amount_minor": None, "reward_currency": None, "reward_amount_gbp": None,
        "reward_plu_amount": None, "updated_at": T0,
    }  # fmt: skip


def fact_transaction() -> list[dict[str, Any]]:
    return [
        _txn(1, 1, 1, MON, 10, "10.00", score=0.1),
        _txn(2, 1, 2, MON, 23, "200.00", fraud=True, score=0.9),
        _txn(3, 2, 1, SAT, 10, "5.50", refund=True),
        _txn(4, 2, 2, SAT, 10, "20.00", score=0.2),
        _txn(5, 2, 1, SAT, 10, "100.00", kind="top_up"),  # money in: not spend
        _txn(6, 2, 1, SAT, 10, "2.99", kind="fee"),  # a fee is spend
        _txn(7, 2, 2, SAT, 10, "8.00", currency="EUR"),  # no GBP value: counted, adds no GBP
    ]


def reward(key: int, status: str, plu: str, value: str, day: date, transaction: int | None,
           currency: str = "GBP") -> dict[str, Any]:  # fmt: skip
    gbp = Decimal(value) if currency == "GBP" else None
    return {
        "reward_key": key, "reward_id": f"rw_{key}", "transaction_key": transaction, "customer_key": 1,
        "date_key": int(day.strftime("%Y%m%d")), "reward_type": "DAILY_REBATE_DISTRIBUTION",
        "reward_kind": "rebate", "transaction_link": "direct" if transaction else "unresolved",
        "unresolved_reason": None if transaction else "transaction_not_found",
        "reward_status": status, "is_available": status == "approved", "plu_amount": Decimal(plu),
        "reward_amount_minor": Decimal(value) * 100, "reward_currency": currency, "reward_amount_gbp": gbp,
        "plu_price_gbp": None if gbp is None else float(gbp / Decimal(plu)),
        "plu_price_source": None if gbp is None else "derived_from_reward", "category": None,
        "merchant_name": None, "mcc": None,
        "reward_created_at": _ts(day, 12), "reward_updated_at": _ts(day, 12),
    }  # fmt: skip


def fact_reward() -> list[dict[str, Any]]:
    return [
        reward(1, "pending", "0.5", "0.30", MON, 1),
        reward(2, "approved", "1.0", "0.60", SAT, 4),
        reward(3, "rejected", "2.0", "1.00", SAT, None),
        reward(9, "approved", "0.2", "0.16", SAT, 7, currency="EUR"),  # apart from GBP, no GBP value
    ]


def fraud_alerts() -> list[dict[str, Any]]:
    return [
        {"alert_key": k, "transaction_id": f"t{t}", "customer_key": c, "card_token": f"tok{c}",
         "card_last4": f"000{c}", "merchant_name": "Amazon", "category": "shopping_net",
         "amount_minor": int(Decimal(amount) * 100), "currency": "GBP",
         "amount_gbp": Decimal(amount), "fraud_score": score, "top_features": "amount_zscore,hour_of_day",
         "model_version": "v1", "transaction_ts": _ts(day, h), "first_seen_at": _ts(day, h), "alert_status": status}
        for k, t, c, amount, score, day, h, status in (
            (1, 2, 1, "200.00", 0.9, MON, 23, "open"),
            (2, 4, 2, "20.00", 0.6, SAT, 10, "closed"),
        )
    ]  # fmt: skip


def star() -> dict[str, list[dict[str, Any]]]:
    return {
        "dim_date": dim_date(), "dim_time": dim_time(), "dim_statement_kind": dim_statement_kind(),
        "dim_address": dim_address(),
        "dim_customer": dim_customer(), "dim_merchant": dim_merchant(), "fact_transaction": fact_transaction(),
        "fact_reward": fact_reward(), "fraud_alerts": fraud_alerts(),
    }  # fmt: skip


def to_arrow(rows_by_table: dict[str, list[dict[str, Any]]]) -> dict[str, pa.Table]:
    return {
        name: pa.Table.from_pylist(rows, schema=arrow_schema(TABLES_BY_NAME[name]))
        for name, rows in rows_by_table.items()
    }


def make_export(root: Path, run_id: str, rows_by_table: dict[str, list[dict[str, Any]]] | None = None) -> str:
    return str(write_export(root, run_id, to_arrow(star() if rows_by_table is None else rows_by_table)))


def write_export(root: Path, run_id: str, data: dict[str, pa.Table], files_per_table: int = 1) -> Path:
    """Write `<root>/<run_id>/<table>/part-*.parquet` and `_export.json` (local exports: tests, benchmarks, demos)."""
    folder = root / run_id
    tables: dict[str, Any] = {}
    for name, rows in data.items():
        table_dir = folder / name
        table_dir.mkdir(parents=True, exist_ok=True)
        rows = rows.select(TABLES_BY_NAME[name].column_names).cast(arrow_schema(TABLES_BY_NAME[name]))
        step = max(1, -(-rows.num_rows // files_per_table))
        files = []
        for index, start in enumerate(range(0, max(rows.num_rows, 1), step)):
            path = table_dir / f"part-{index:05d}.parquet"
            pq.write_table(rows.slice(start, step), path)
            files.append(str(path))
        tables[name] = {"files": files, "rows": rows.num_rows}
    manifest = Path(export_manifest_uri(str(folder)))
    manifest.write_text(json.dumps({"run_id": run_id, "tables": tables}, indent=2), encoding="utf-8")
    return manifest
