"""Replay a Plutus export: JSON-lines files of legacy rewards and statement rows, served in the real v3 shapes.

Two record shapes are recognised, per line, whatever the file name:
- legacy rewards of `GET /platform/transactions/pluton` (fields `fiat_amount_rewarded`, `rebate_rate`,
  `available`, `reason`, `reference_id`, `createdAt`, `updatedAt`, ...);
- statement rows of the Hasura `transactions_view` query (fields `is_debit`, `amount`, `date`, `type`, ...).
A personal export is small (thousands of rows), so it is loaded whole. The mapping is
`contracts.plutus_legacy` (shared with `cardlake import`); docs/simulator.md describes it. A Plutus export
has no rate feed, so the replay serves no PLU rates: the lake derives the price from the rewards themselves.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import InvalidOperation
from pathlib import Path

from cardapi.feeds import NEVER, Feed, Item
from cardapi.jsonfmt import DAY, dumps, loads, parse_iso
from cardapi.reference import CATEGORY_OF_MCC
from contracts import plutus_legacy as legacy
from contracts.plutus_v3 import reward_from_landing, statement_from_landing


class PlutusReplayError(ValueError):
    """The export cannot be served; the message names the file, line, field and reason."""


def reward_from_pluton(raw: dict) -> dict:
    """A legacy pluton reward -> the landing reward record (`contracts.plutus_legacy`)."""
    return legacy.reward_from_pluton(raw)


def transaction_from_view(raw: dict) -> dict:
    """A `transactions_view` row -> the landing transaction record, categorised by the simulator's MCC table."""
    return legacy.transaction_from_view(raw, CATEGORY_OF_MCC)


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
                shape = legacy.record_shape(raw)
                if shape == "pluton":
                    record = reward_from_pluton(raw)
                    rewards[record["id"]] = _latest(rewards.get(record["id"]), record)
                elif shape == "transactions_view":
                    record = transaction_from_view(raw)
                    transactions[record["id"]] = record
                else:
                    raise ValueError("neither a pluton reward nor a transactions_view row")
            except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
                raise PlutusReplayError(f"{where}: {type(exc).__name__}: {exc}") from exc
    return list(rewards.values()), list(transactions.values())


def _latest(old: dict | None, new: dict) -> dict:
    return new if old is None or new["updatedAt"] >= old["updatedAt"] else old


def plutus_feeds(folder: Path, seed: int) -> tuple[dict[str, Feed], None]:
    """The export's feeds; `plu_rates` is empty (an export has no rate feed, and prices are never invented)."""
    rewards, transactions = load_export(Path(folder))
    # served through the real v3 shapes, as the synthetic simulator serves its data (contracts.plutus_v3)
    feeds: dict[str, Feed] = {
        "transactions": StaticFeed("transactions", [statement_from_landing(t) for t in transactions]),
        "rewards": StaticFeed("rewards", [reward_from_landing(r) for r in rewards]),
        "plu_rates": StaticFeed("plu_rates", []),
    }
    return feeds, None
