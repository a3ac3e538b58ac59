"""Replay a Kaggle-format CSV (the Sparkov fraud data set) as the API's transactions, with derived rewards.

The file is streamed once at start-up to validate every row and index the byte offset of each row by day;
a day's rows are read back (seek + parse) only when a window needs them, so the full 1.85M-row files are
served without holding them in memory. Rows are parsed as CSV records, not lines: a quoted field may hold a
newline. Column mapping: see docs/simulator.md.
"""

from __future__ import annotations

import csv
from array import array
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cardapi.jsonfmt import DAY, dumps, iso
from cardapi.ledger import DayCache, Extra, LedgerDay, Txn
from cardapi.reference import MCC, PLAN_RATES, PLAN_SHARES
from cardapi.universe import stable_hex
from contracts.plutus_v3 import statement_from_landing

# The data set's columns, found by name: files in the wild put pandas' index first (named "", "Unnamed: 0" or
# "index"), or have no index column at all, and some tools reorder columns.
COLUMNS = (
    "trans_date_trans_time",
    "cc_num",
    "merchant",
    "category",
    "amt",
    "first",
    "last",
    "gender",
    "street",
    "city",
    "state",
    "zip",
    "lat",
    "long",
    "city_pop",
    "job",
    "dob",
    "trans_num",
    "unix_time",
    "merch_lat",
    "merch_long",
    "is_fraud",
)
MAX_REPORTED_ERRORS = 5


class ReplayError(ValueError):
    """The replay input cannot be served; the message names the file, line and reason."""


def _timestamp(text: str) -> int:
    # the data set's times are wall-clock times; the simulator serves them as UTC
    return int(datetime.fromisoformat(text + "+00:00").timestamp())


def _amount_minor(text: str) -> int:
    value = Decimal(text)
    if not value.is_finite() or value <= 0:
        raise ValueError(f"amt must be a positive number, got {text!r}")
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def columns_of(header: list[str], path: Path) -> dict[str, int]:
    """Each data column's position in this file's header; an index column or extra columns are ignored."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    positions = {name: i for i, name in enumerate(names) if name in COLUMNS}
    missing = [name for name in COLUMNS if name not in positions]
    if missing:
        raise ReplayError(
            f"{path}: not a Kaggle fraud CSV; missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(COLUMNS)}, with or without a leading index column)"
        )
    positions[_WIDTH] = len(names)
    return positions


_WIDTH = "<fields>"  # the header's field count, kept beside the positions


def _check_row(row: list[str], col: dict[str, int]) -> None:
    if len(row) != col[_WIDTH]:
        raise ValueError(f"expected {col[_WIDTH]} fields, got {len(row)}")
    _timestamp(row[col["trans_date_trans_time"]])
    _amount_minor(row[col["amt"]])
    if row[col["category"]] not in MCC:
        raise ValueError(f"unknown category {row[col['category']]!r}")
    if row[col["is_fraud"]] not in ("0", "1"):
        raise ValueError(f"is_fraud must be 0 or 1, got {row[col['is_fraud']]!r}")
    if not row[col["cc_num"]].isdigit():
        raise ValueError(f"cc_num must be digits, got {row[col['cc_num']]!r}")
    for name in ("lat", "long", "merch_lat", "merch_long"):
        float(row[col[name]])
    int(row[col["city_pop"]])


class _TrackedLines:
    """A binary file's lines, decoded, for csv.reader, which pulls as many as one record needs: the byte offset
    and line count of what was consumed tell where each record starts, even when it spans lines."""

    def __init__(self, fh: BinaryIO, lines_before: int = 0) -> None:
        self._fh = fh
        self.offset = fh.tell()
        self.lines_read = lines_before
        self.decode_error: UnicodeDecodeError | None = None  # the first since the caller last cleared it

    def __iter__(self) -> Iterator[str]:
        for raw in self._fh:
            self.offset += len(raw)
            self.lines_read += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                # Raising here would end the reader; the record is reported instead and the scan goes on.
                self.decode_error = self.decode_error or exc
                line = raw.decode("utf-8", "replace")
            yield line


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _read_row(fh: BinaryIO, offset: int) -> list[str]:
    """The CSV record that starts at `offset`, however many lines it spans."""
    fh.seek(offset)
    return next(csv.reader(_TrackedLines(fh)))


def index_csv(path: Path) -> dict[int, array]:
    """Validate every row and return the byte offsets of the rows of each day (days since the epoch)."""
    return index_kaggle_csv(path)[0]


def index_kaggle_csv(path: Path) -> tuple[dict[int, array], dict[str, int]]:
    """(byte offsets of each day's rows, column positions): every row validated first."""
    offsets: dict[int, array] = defaultdict(lambda: array("q"))
    errors: list[str] = []
    with path.open("rb") as fh:
        header = next(csv.reader([fh.readline().decode("utf-8-sig")]), [])
        col = columns_of(header, path)
        lines = _TrackedLines(fh, lines_before=1)
        reader = csv.reader(lines)
        while len(errors) < MAX_REPORTED_ERRORS:
            start, line_no = lines.offset, lines.lines_read + 1
            lines.decode_error = None
            try:
                row = next(reader, None)
                if row is None:
                    break
                if _is_blank(row):
                    continue
                if lines.decode_error is not None:
                    raise lines.decode_error
                _check_row(row, col)
            except (ValueError, InvalidOperation, UnicodeDecodeError, csv.Error) as exc:
                errors.append(f"line {line_no}: {exc}")
                continue
            offsets[_timestamp(row[col["trans_date_trans_time"]]) // DAY].append(start)
    if errors:
        raise ReplayError(f"{path}: invalid rows, nothing served ({'; '.join(errors)})")
    if not offsets:
        raise ReplayError(f"{path}: no rows to replay")
    return dict(offsets), col


def _plan_rate(cc_num: str) -> float:
    """The card's plan rate, derived from the card number so every run agrees."""
    u = int(stable_hex("plan", cc_num, size=4), 16) / 2**32
    return float(PLAN_RATES[int(np.searchsorted(np.cumsum(PLAN_SHARES), u, side="right"))])


class KaggleLedger:
    """A ledger whose days are the CSV's rows of that day (createdAt = updatedAt = the transaction time)."""

    update_lag_days = 0
    reward_lag_days = 6

    def __init__(self, path: Path, seed: int, cache_size: int = 64) -> None:
        self.path = Path(path)
        self.seed = seed
        self._offsets, self._columns = index_kaggle_csv(self.path)
        self.first_day = min(self._offsets)
        self.end_day = max(self._offsets) + 1
        self.row_count = sum(len(v) for v in self._offsets.values())
        self._cache = DayCache(cache_size)

    def day(self, g: int) -> LedgerDay:
        return self._cache.get(("day", g), lambda: self._build_day(g))  # type: ignore[return-value]

    def extras(self, g: int) -> list[Extra]:
        return []  # the data set has no perks or boosts

    def _build_day(self, g: int) -> LedgerDay:
        offsets = self._offsets.get(g)
        if not offsets:
            return LedgerDay.of([])
        with self.path.open("rb") as fh:
            rows = [_read_row(fh, offset) for offset in sorted(offsets)]
        return LedgerDay.of([self._txn(row) for row in rows])

    def _txn(self, row: list[str]) -> Txn:
        c = self._columns
        ts = _timestamp(row[c["trans_date_trans_time"]])
        amount = _amount_minor(row[c["amt"]])
        cc_num, merchant, category = row[c["cc_num"]], row[c["merchant"]], row[c["category"]]
        holder_id = f"ch_{stable_hex('cardholder', cc_num, size=6)}"
        when = iso(ts)
        txn_id = row[c["trans_num"]]
        fraud = row[c["is_fraud"]] == "1"
        record = {
            "id": txn_id,
            "date": when,
            "type": "CARD_SETTLEMENT",
            "amount": amount,
            "currency": "GBP",
            "isDebit": True,
            "description": merchant,
            "cleanDescription": merchant.removeprefix("fraud_"),
            "mcc": MCC[category],
            "category": category,
            "card": {"number": cc_num, "cardholderId": holder_id},
            "cardholder": {
                "id": holder_id,
                "firstName": row[c["first"]],
                "lastName": row[c["last"]],
                "gender": row[c["gender"]],
                "dateOfBirth": row[c["dob"]],
                "job": row[c["job"]],
                "address": {
                    "street": row[c["street"]],
                    "city": row[c["city"]],
                    "state": row[c["state"]],
                    "zip": row[c["zip"]],
                    "lat": float(row[c["lat"]]),
                    "long": float(row[c["long"]]),
                    "cityPopulation": int(row[c["city_pop"]]),
                },
            },
            "merchant": {
                "id": f"m_{stable_hex('merchant', merchant, size=5)}",
                "name": merchant,
                "category": category,
                "mcc": MCC[category],
                "lat": float(row[c["merch_lat"]]),
                "long": float(row[c["merch_long"]]),
            },
            "isFraud": fraud,
            "originalTransactionId": None,
            "createdAt": when,
            "updatedAt": when,
        }
        body = dumps(statement_from_landing(record))  # served in the v3 statement shape
        rate = _plan_rate(cc_num)
        return Txn(txn_id, ts, ts, amount, rate, False, fraud, False, cc_num, body, merchant, MCC[category])
