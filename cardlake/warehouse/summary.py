"""The figures a run summary shows, read from the reporting views: what a BI user of the warehouse sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cardlake.warehouse.base import Warehouse
from cardlake.warehouse.ddl import qualified
from contracts.tables import FACT_TRANSACTION


@dataclass(frozen=True)
class CategorySpend:
    category: str
    spend_gbp: float
    transactions: int


@dataclass(frozen=True)
class WarehouseSummary:
    fact_transaction_rows: int
    fact_reward_rows: int
    rewards_earned_gbp: float  # GBP rewards only (EUR ones have no GBP value)
    rewards_earned_plu: float
    plu_pending: float
    gbp_pending: float
    plu_available: float
    gbp_available: float
    plu_rejected: float
    top_categories: tuple[CategorySpend, ...]  # GBP spending
    open_fraud_alerts: int
    fraud_rate: float  # over card rows (purchases, refunds, authorisations)


def _number(value: Any) -> float:
    return round(float(value or 0), 6)


def warehouse_summary(wh: Warehouse) -> WarehouseSummary:
    (transactions,), *_ = wh.query(f"SELECT COUNT(*) FROM {qualified(FACT_TRANSACTION, wh.schema)}")
    # Fraud is measured on the card's own rows (the view counts only those), so top-ups do not dilute it.
    (card_rows, frauds), *_ = wh.query(
        "SELECT SUM(transactions), SUM(fraud_transactions) FROM rpt_fraud_by_location_time"
    )
    rewards = wh.query(
        "SELECT SUM(rewards), SUM(gbp_earned), SUM(plu_earned), SUM(plu_pending), SUM(gbp_pending), "
        "SUM(plu_available), SUM(gbp_available), SUM(plu_rejected) FROM rpt_rewards"
    )[0]
    top = wh.query(
        "SELECT category, spend_gbp, transactions FROM rpt_top_categories WHERE currency = 'GBP' "
        "ORDER BY spend_rank, category LIMIT 5"
    )
    (open_alerts,), *_ = wh.query("SELECT COUNT(*) FROM rpt_open_fraud_alerts")
    transactions, card_rows = int(transactions or 0), int(card_rows or 0)
    return WarehouseSummary(
        fact_transaction_rows=transactions,
        fact_reward_rows=int(rewards[0] or 0),
        rewards_earned_gbp=_number(rewards[1]),
        rewards_earned_plu=_number(rewards[2]),
        plu_pending=_number(rewards[3]),
        gbp_pending=_number(rewards[4]),
        plu_available=_number(rewards[5]),
        gbp_available=_number(rewards[6]),
        plu_rejected=_number(rewards[7]),
        top_categories=tuple(CategorySpend(c, _number(s), int(n)) for c, s, n in top),
        open_fraud_alerts=int(open_alerts),
        fraud_rate=round(int(frauds or 0) / card_rows, 6) if card_rows else 0.0,
    )
