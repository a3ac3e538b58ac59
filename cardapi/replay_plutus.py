"""Replay a Plutus export: JSON-lines files of legacy rewards and statement rows, served in the real v3 shapes.

Two record shapes are recognised, per line, whatever the file name:
- legacy rewards of `GET /platform/transactions/pluton` (fields `fiat_amount_rewarded`, `rebate_rate`,
  `available`, `reason`, `reference_id`, `createdAt`, `updatedAt`, ...);
- statement rows of the Hasura `transactions_view` query (fields `is_debit`, `amount`, `date`, `type`, ...).
A personal export is small (thousands of rows), so it is loaded whole. The mapping is in docs/simulator.md.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cardapi.feeds import NEVER, Feed, Item, RateFeed
from cardapi.jsonfmt import DAY, dumps, iso, loads, parse_iso
from cardapi.rates import PluRates
from cardapi.reference import CATEGORY_OF_MCC
from contracts.plutus_v3 import reward_from_landing, statement_from_landing
from contracts.records import (
    CARD_TYPE_CODES,
    FIAT_OPTIONAL_REWARD_TYPES,
    minor_units,
    reward_status,
    reward_ticker,
    statement_direction,
)

REBATE_TYPES = {"DAILY_REBATE_DISTRIBUTION", "REBATE_BONUS"}


class PlutusReplayError(ValueError):
    """The export cannot be served; the message names the file, line, field and reason."""


def _plu_amount(raw: dict) -> float:
    try:
        return float(Decimal(str(raw["amount"]).strip()))
    except InvalidOperation:
        raise ValueError(f"amount: {raw['amount']!r} is not a number") from None


def _fiat_amount(raw: dict) -> int | None:
    """Minor units; null only where the reward rewards no amount (a bonus), a field-level error otherwise."""
    value = raw.get("fiat_amount_rewarded")
    if value is None and str(raw.get("type")) in FIAT_OPTIONAL_REWARD_TYPES:
        return None
    return minor_units(value, "fiat_amount_rewarded")


def reward_from_pluton(raw: dict) -> dict:
    """A legacy pluton reward -> the v3 reward record."""
    rate = float(raw.get("rebate_rate") or 0)
    kind = str(raw.get("type") or "DAILY_REBATE_DISTRIBUTION")
    nested = raw.get("contis_transaction") or raw.get("fiat_transaction") or {}
    created = parse_iso(str(raw["createdAt"]))
    updated = parse_iso(str(raw.get("updatedAt") or raw["createdAt"]))
    return {
        "id": str(raw["id"]),
        "ticker": reward_ticker(raw.get("ticker")),
        "amount": _plu_amount(raw),
        "fiatAmountRewarded": _fiat_amount(raw),
        "fiatCurrency": nested.get("currency") or raw.get("currency") or "GBP",
        "status": reward_status(raw.get("available"), raw.get("reason")),
        "type": kind,
        "rewardRate": rate if kind in REBATE_TYPES and rate > 0 else None,
        "transactionOriginalId": str(raw["reference_id"]) if raw.get("reference_id") else None,
        "createdAt": iso(created),
        "updatedAt": iso(updated),
    }


def transaction_from_view(raw: dict) -> dict:
    """A `transactions_view` statement row (card or fiat model) -> the contract's transaction record.

    The contract's amount is positive with the direction in `isDebit`: `statement_direction` reads it from
    `is_debit` on card rows and from the sign on fiat rows (is_debit null). No card or cardholder.
    """
    when = iso(parse_iso(str(raw["date"])))
    kind = CARD_TYPE_CODES.get(str(raw.get("type")), str(raw.get("type")))
    mcc = str(raw["mcc"]) if raw.get("mcc") not in (None, "") else None
    amount, is_debit = statement_direction(raw.get("amount"), raw.get("is_debit"))
    return {
        "id": str(raw["id"]),
        "date": when,
        "type": kind,
        "amount": amount,
        "currency": raw.get("currency") or "GBP",
        "isDebit": is_debit,
        "description": raw.get("description"),
        "cleanDescription": raw.get("clean_description") or raw.get("description"),
        "mcc": mcc,
        "category": CATEGORY_OF_MCC.get(mcc) if mcc else None,
        "card": None,
        "cardholder": None,
        "merchant": None,
        "isFraud": None,  # a personal statement carries no fraud label
        "originalTransactionId": raw.get("original_transaction_id"),
        "createdAt": when,
        "updatedAt": when,
    }


class StaticFeed:
    """Records held in memory, bucketed by the day of their updatedAt."""

    def __init__(self, name: str, records: list[dict]) -> None:
        self.name = name
        buckets: dict[int, list[Item]] = defaultdict(list)
        for r in records:
            t = parse_iso(r["updatedAt"])
            buckets[t // DAY].append(Item(t, r["id"], NEVER, dumps(r)))
        self._buckets = {d: sorted(items, key=lambda it: (it.t, it.id)) for d, items in buckets.items()}

    def day_span(self) -> tuple[int, int]:
        return (min(self._buckets), max(self._buckets)) if self._buckets else (0, -1)

    def bucket(self, day: int) -> list[Item]:
        return self._buckets.get(day, [])


def load_export(folder: Path) -> tuple[list[dict], list[dict]]:
    """(rewards, transactions) in contract shape from every *.jsonl / *.json file of the folder."""
    files = sorted([*folder.glob("*.jsonl"), *folder.glob("*.json")])
    if not files:
        raise PlutusReplayError(f"{folder}: no *.jsonl files to replay")
    rewards: dict[str, dict] = {}
    transactions: dict[str, dict] = {}
    for path in files:
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{line_no}"
            try:
                raw = loads(line)
                if not isinstance(raw, dict):
                    raise ValueError("not a JSON object")
                if "fiat_amount_rewarded" in raw:
                    record = reward_from_pluton(raw)
                    rewards[record["id"]] = _latest(rewards.get(record["id"]), record)
                elif "is_debit" in raw:
                    record = transaction_from_view(raw)
                    transactions[record["id"]] = record
                else:
                    raise ValueError("neither a pluton reward nor a transactions_view row")
            except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
                raise PlutusReplayError(f"{where}: {type(exc).__name__}: {exc}") from exc
    return list(rewards.values()), list(transactions.values())


def _latest(old: dict | None, new: dict) -> dict:
    return new if old is None or new["updatedAt"] >= old["updatedAt"] else old


def plutus_feeds(folder: Path, seed: int) -> tuple[dict[str, Feed], PluRates]:
    rewards, transactions = load_export(Path(folder))
    times = [parse_iso(r["createdAt"]) for r in rewards] + [parse_iso(t["date"]) for t in transactions]
    rates = PluRates(seed, min(times) // DAY, max(times) // DAY + 1)
    # served through the real v3 shapes, as the synthetic simulator serves its data (contracts.plutus_v3)
    feeds: dict[str, Feed] = {
        "transactions": StaticFeed("transactions", [statement_from_landing(t) for t in transactions]),
        "rewards": StaticFeed("rewards", [reward_from_landing(r) for r in rewards]),
        "plu_rates": RateFeed(rates),
    }
    return feeds, rates
