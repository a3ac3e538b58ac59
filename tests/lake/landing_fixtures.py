"""Hand-made landed extractions in the layout of docs/contracts.md §2, for the lake tests."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

PAN = "4539578763621486"
PAN2 = "6011000990139424"


def window_name(start: datetime, end: datetime) -> str:
    return f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"


def land(root: Path, entity: str, start: datetime, end: datetime, pages: list[Any], source: str = "cardapi") -> str:
    """Write pages (lists of records, or raw bytes for a broken page) and then their manifest."""
    window = window_name(start, end)
    base = root / "raw" / source / entity
    page_entries = []
    for number, page in enumerate(pages, start=1):
        key = f"raw/{source}/{entity}/ingest_date={start:%Y-%m-%d}/{window}-{number:05d}.json.gz"
        body = page if isinstance(page, bytes) else json.dumps({"data": page, "page": number}).encode()
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(body))
        records = len(page) if isinstance(page, list) else 0
        page_entries.append(
            {"key": key, "records": records, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        )
    manifest = {
        "source": source,
        "entity": entity,
        "window_start": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "window_end": f"{end:%Y-%m-%dT%H:%M:%SZ}",
        "pages": page_entries,
        "record_count": sum(p["records"] for p in page_entries),
        "watermark": f"{end:%Y-%m-%dT%H:%M:%SZ}",
        "run_id": "test",
        "extracted_at": f"{end:%Y-%m-%dT%H:%M:%SZ}",
    }
    manifest_key = base / "_manifests" / f"{window}.json"
    manifest_key.parent.mkdir(parents=True, exist_ok=True)
    manifest_key.write_text(json.dumps(manifest))
    return str(manifest_key)


def transaction(
    tid: str,
    when: str,
    amount: int = 1250,
    *,
    pan: str = PAN,
    updated: str | None = None,
    tx_type: str = "CARD_SETTLEMENT",
    category: str = "grocery_pos",
    merchant: str = "m_1",
    cardholder: str = "ch_1",
    **overrides: Any,
) -> dict[str, Any]:
    record = {
        "id": tid,
        "date": when,
        "type": tx_type,
        "amount": amount,
        "currency": "GBP",
        "isDebit": tx_type != "CARD_REFUND",
        "description": f"fraud_{merchant} Ltd",
        "cleanDescription": f"{merchant} Ltd",
        "mcc": "5411",
        "category": category,
        "card": {"number": pan, "cardholderId": cardholder},
        "cardholder": {
            "id": cardholder,
            "firstName": "Jennifer",
            "lastName": "Banks",
            "gender": "F",
            "dateOfBirth": "1988-03-09",
            "job": "Psychologist, counselling",
            "address": {
                "street": "561 Perry Cove",
                "city": "Moravian Falls",
                "state": "NC",
                "zip": "28654",
                "lat": 36.0788,
                "long": -81.1781,
                "cityPopulation": 3495,
            },
        },
        "merchant": {
            "id": merchant,
            "name": f"fraud_{merchant} Ltd",
            "category": category,
            "mcc": "5411",
            "lat": 36.01,
            "long": -82.04,
        },
        "isFraud": False,
        "originalTransactionId": None,
        "createdAt": when,
        "updatedAt": updated or when,
    }
    record.update(overrides)
    return record


def reward(
    rid: str,
    tid: str | None,
    created: str,
    *,
    status: str = "pending",
    updated: str | None = None,
    fiat: int = 1250,
    rate: float | None = 3.0,
    plu: float = 0.0625,
    reward_type: str = "DAILY_REBATE_DISTRIBUTION",
    **overrides: Any,
) -> dict[str, Any]:
    record = {
        "id": rid,
        "ticker": "PLU",
        "amount": plu,
        "fiatAmountRewarded": fiat,
        "fiatCurrency": "GBP",
        "status": status,
        "type": reward_type,
        "rewardRate": rate,
        "transactionOriginalId": tid,
        "createdAt": created,
        "updatedAt": updated or created,
    }
    record.update(overrides)
    return record
