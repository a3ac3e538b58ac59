"""Every SQL text the dashboard runs. Each reads reporting views only (the BI role can read nothing else), in the
dialect shared by DuckDB, PostgreSQL and Redshift, with the reader's parameter marker for filter values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cardlake.dashboard.data import in_list, where

Query = tuple[str, list[Any]]

MONTH = "CAST(DATE_TRUNC('month', spend_date) AS DATE)"
REWARD_MONTH = "CAST(DATE_TRUNC('month', reward_date) AS DATE)"
# The views keep GBP and EUR apart (never summed); the spending page's money is in pounds, so it reads GBP rows.
SPEND_CURRENCY = "GBP"


@dataclass(frozen=True)
class SpendFilter:
    """The spending page's filters; an empty tuple means all."""

    months: tuple[Any, ...] = ()
    categories: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def clause(self, placeholder: str) -> Query:
        return where(
            in_list("currency", (SPEND_CURRENCY,), placeholder),
            in_list(MONTH, self.months, placeholder),
            in_list("category", self.categories, placeholder),
            in_list("state", self.states, placeholder),
        )


def spend_choices() -> str:
    return f"SELECT DISTINCT {MONTH} AS month, category, state FROM rpt_daily_spend WHERE currency = '{SPEND_CURRENCY}'"


def spend_totals(f: SpendFilter, placeholder: str) -> Query:
    clause, params = f.clause(placeholder)
    return (
        "SELECT SUM(transactions) AS transactions, SUM(spend_gbp) AS spend_gbp, SUM(refunds) AS refunds, "
        f"SUM(refunds_gbp) AS refunds_gbp, SUM(net_spend_gbp) AS net_spend_gbp FROM rpt_daily_spend{clause}",
        params,
    )


def spend_by(dimension: str, f: SpendFilter, placeholder: str, limit: int | None = None) -> Query:
    """Spend grouped by `category`, `merchant_name` or `month`."""
    column = {"category": "category", "merchant_name": "merchant_name", "month": MONTH}[dimension]
    clause, params = f.clause(placeholder)
    top = f" LIMIT {int(limit)}" if limit else ""
    return (
        f"SELECT {column} AS {dimension}, SUM(spend_gbp) AS spend_gbp, SUM(transactions) AS transactions "
        f"FROM rpt_daily_spend{clause} GROUP BY 1 ORDER BY 2 DESC, 1{top}",
        params,
    )


def rewards_daily(months: Sequence[Any], placeholder: str) -> Query:
    clause, params = where(
        in_list("currency", (SPEND_CURRENCY,), placeholder), in_list(REWARD_MONTH, months, placeholder)
    )
    return (
        "SELECT reward_date, rewards, plu_earned, gbp_earned, gbp_earned_running, avg_plu_price_gbp, plu_pending, "
        f"gbp_pending, plu_available, gbp_available, plu_rejected FROM rpt_rewards{clause} ORDER BY reward_date",
        params,
    )


@dataclass(frozen=True)
class FraudFilter:
    states: tuple[str, ...] = ()
    day_parts: tuple[str, ...] = field(default_factory=tuple)

    def clause(self, placeholder: str) -> Query:
        return where(in_list("state", self.states, placeholder), in_list("day_part", self.day_parts, placeholder))


def fraud_choices() -> str:
    return "SELECT DISTINCT state, day_part FROM rpt_fraud_by_location_time"


def fraud_totals(f: FraudFilter, placeholder: str) -> Query:
    clause, params = f.clause(placeholder)
    return (
        "SELECT SUM(transactions) AS transactions, SUM(fraud_transactions) AS fraud_transactions, "
        f"SUM(fraud_amount_gbp) AS fraud_amount_gbp FROM rpt_fraud_by_location_time{clause}",
        params,
    )


def fraud_by(columns: Sequence[str], f: FraudFilter, placeholder: str, limit: int | None = None) -> Query:
    """Transactions and fraud grouped by view columns (e.g. `state`, `city, state`, `hour_of_day, hour_label`)."""
    allowed = {"city", "state", "hour_of_day", "hour_label", "day_of_week", "day_name", "day_part"}
    unknown = set(columns) - allowed
    if unknown:
        raise ValueError(f"cannot group fraud by {sorted(unknown)}")
    keys = ", ".join(columns)
    clause, params = f.clause(placeholder)
    top = f" ORDER BY fraud_transactions DESC, transactions DESC LIMIT {int(limit)}" if limit else f" ORDER BY {keys}"
    return (
        f"SELECT {keys}, SUM(transactions) AS transactions, SUM(fraud_transactions) AS fraud_transactions, "
        "CAST(SUM(fraud_transactions) AS FLOAT8) / NULLIF(CAST(SUM(transactions) AS FLOAT8), 0) AS fraud_rate "
        f"FROM rpt_fraud_by_location_time{clause} GROUP BY {keys}{top}",
        params,
    )


ALERT_COLUMNS = (
    "first_seen_at, transaction_ts, transaction_id, card_last4, merchant_name, category, amount_minor, currency, "
    "amount_gbp, fraud_score, city, state, top_features, model_version"
)


def open_alerts(limit: int = 50) -> str:
    return (
        f"SELECT {ALERT_COLUMNS} FROM rpt_open_fraud_alerts ORDER BY first_seen_at DESC, transaction_id LIMIT {limit}"
    )


def open_alert_count() -> str:
    return "SELECT COUNT(*) AS open_alerts FROM rpt_open_fraud_alerts"


def freshness() -> str:
    return "SELECT table_name, row_count, newest_event_at, newest_change_at FROM rpt_data_freshness"


def top_features(text: str | None) -> list[tuple[str, str]]:
    """`amount_gbp=1,305.51; is_night; category=shopping_net` -> [(feature, value), ...], most important first."""
    features = []
    # Entries are separated by "; " (older rows: ","); a comma before three digits is a thousands separator.
    for part in re.split(r";|,(?!\d{3})", text or ""):
        part = part.strip()
        if part:
            name, _, value = part.partition("=")
            features.append((name.strip(), value.strip()))
    return features
