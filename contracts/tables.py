"""The star schema, defined once: the Spark star builder, the Parquet exports, and the DDL of every warehouse
(DuckDB, PostgreSQL, Redshift) are all derived from these definitions.

Surrogate keys are `xxhash64` of the natural key (a signed 64-bit integer), so they are stable across runs and an
incremental load never renumbers rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal[
    "string",
    "smallint",
    "int",
    "bigint",
    "double",
    "decimal(18,2)",
    "decimal(18,4)",
    "decimal(28,8)",
    "boolean",
    "date",
    "timestamp",
]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    natural_key: tuple[str, ...]
    dist_key: str | None = None  # Redshift DISTKEY; None with diststyle_all=False means DISTSTYLE AUTO
    sort_key: tuple[str, ...] = ()
    diststyle_all: bool = False  # small dimensions are copied to every Redshift node
    description: str = ""
    kind: Literal["fact", "dimension", "alerts"] = "fact"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: ColumnType, nullable: bool = True, description: str = "") -> Column:
    return Column(name, type_, nullable, description)


DIM_DATE = Table(
    "dim_date",
    (
        _c("date_key", "int", False, "yyyymmdd"),
        _c("full_date", "date", False),
        _c("year", "smallint", False),
        _c("quarter", "smallint", False),
        _c("month", "smallint", False),
        _c("month_name", "string", False),
        _c("day_of_month", "smallint", False),
        _c("day_of_week", "smallint", False, "1 = Monday ... 7 = Sunday (ISO)"),
        _c("day_name", "string", False),
        _c("is_weekend", "boolean", False),
    ),
    primary_key=("date_key",),
    natural_key=("full_date",),
    diststyle_all=True,
    sort_key=("date_key",),
    kind="dimension",
)

DIM_TIME = Table(
    "dim_time",
    (
        _c("time_key", "smallint", False, "hour of day 0-23"),
        _c("hour_of_day", "smallint", False),
        _c("hour_label", "string", False, "e.g. 22:00-22:59"),
        _c("day_part", "string", False, "night / morning / afternoon / evening"),
        _c("is_night", "boolean", False, "22:00-03:59, when most card fraud happens"),
    ),
    primary_key=("time_key",),
    natural_key=("hour_of_day",),
    diststyle_all=True,
    kind="dimension",
)

DIM_STATEMENT_KIND = Table(
    "dim_statement_kind",
    (
        _c("statement_kind_key", "smallint", False, "position of the kind in contracts.records.STATEMENT_KINDS"),
        _c("statement_kind", "string", False, "card_purchase, card_refund, card_authorisation, top_up, ..."),
        _c("label", "string", False),
        _c("is_spend", "boolean", False, "counted as spend by the spend views (SPEND_KINDS: purchases, fees)"),
        _c("is_card_row", "boolean", False, "a row of the card itself (CARD_KINDS): what fraud is measured on"),
        _c("is_refund", "boolean", False),
    ),
    primary_key=("statement_kind_key",),
    natural_key=("statement_kind",),
    diststyle_all=True,
    kind="dimension",
    description="one row per statement row kind (contracts.records.StatementKind)",
)

DIM_ADDRESS = Table(
    "dim_address",
    (
        _c("address_key", "bigint", False),
        _c("address_id", "string", False),
        _c("street", "string"),
        _c("city", "string"),
        _c("state", "string"),
        _c("zip", "string"),
        _c("latitude", "double"),
        _c("longitude", "double"),
        _c("city_population", "bigint"),
        _c("city_size", "string", description="rural (<10k) / town (<100k) / urban"),
        _c("updated_at", "timestamp"),
    ),
    primary_key=("address_key",),
    natural_key=("address_id",),
    diststyle_all=True,
    kind="dimension",
)

DIM_CUSTOMER = Table(
    "dim_customer",
    (
        _c("customer_key", "bigint", False, "one row per card"),
        _c("card_token", "string", False, "HMAC-SHA256 of the PAN; the PAN itself never leaves the raw zone"),
        _c("card_last4", "string"),
        _c("cardholder_id", "string"),
        _c("first_name", "string"),
        _c("last_name", "string"),
        _c("gender", "string"),
        _c("job", "string"),
        _c("date_of_birth", "date"),
        _c(
            "age_band",
            "string",
            description=(
                "age on the run's reference date (window_end): under 18, 18-24, 25-34, 35-44, 45-54, 55-64, 65+"
            ),
        ),
        _c("address_key", "bigint"),
        _c("updated_at", "timestamp"),
    ),
    primary_key=("customer_key",),
    natural_key=("card_token",),
    dist_key="customer_key",
    kind="dimension",
)

DIM_MERCHANT = Table(
    "dim_merchant",
    (
        _c("merchant_key", "bigint", False),
        _c("merchant_id", "string", False),
        _c("merchant_name", "string"),
        _c("category", "string"),
        _c("mcc", "string"),
        _c("merchant_latitude", "double"),
        _c("merchant_longitude", "double"),
        _c("updated_at", "timestamp"),
    ),
    primary_key=("merchant_key",),
    natural_key=("merchant_id",),
    diststyle_all=True,
    kind="dimension",
)

FACT_TRANSACTION = Table(
    "fact_transaction",
    (
        _c("transaction_key", "bigint", False),
        _c("transaction_id", "string", False),
        _c("customer_key", "bigint"),
        _c("address_key", "bigint"),
        _c("merchant_key", "bigint"),
        _c("date_key", "int"),
        _c("time_key", "smallint"),
        _c("transaction_ts", "timestamp"),
        _c("transaction_date", "date"),
        _c("transaction_type", "string"),
        _c("statement_kind", "string", description="contracts.records.StatementKind: card_purchase, fee, top_up, ..."),
        _c("statement_kind_key", "smallint", description="-> dim_statement_kind"),
        _c("category", "string", description="the row's, else the category of its (or its reward's) MCC"),
        _c("merchant_name", "string", description="the row's clean description, else its reward's nested merchant"),
        _c("mcc", "string", description="the row's, else its reward's nested MCC"),
        _c("amount_minor", "bigint", description="always positive, minor units of currency"),
        _c("signed_amount_minor", "bigint", description="negative for refunds and other credits"),
        _c("currency", "string", description="GBP or EUR"),
        _c("amount_gbp", "decimal(18,2)", description="always positive; null unless currency is GBP"),
        _c("signed_amount_gbp", "decimal(18,2)", description="negative for refunds; null unless currency is GBP"),
        _c("is_refund", "boolean"),
        _c("is_fraud", "boolean", description="label from the source, when it has one"),
        _c("fraud_score", "double", description="model score 0..1, null until scored"),
        _c("reward_amount_minor", "decimal(18,4)", description="value of the rewards earned on it, minor units"),
        _c("reward_currency", "string", description="currency of reward_amount_minor"),
        _c("reward_amount_gbp", "decimal(18,4)", description="the same in GBP; null unless the rewards are GBP"),
        _c("reward_plu_amount", "decimal(28,8)"),
        _c("updated_at", "timestamp"),
    ),
    primary_key=("transaction_key",),
    natural_key=("transaction_id",),
    dist_key="customer_key",
    sort_key=("transaction_date",),
)

FACT_REWARD = Table(
    "fact_reward",
    (
        _c("reward_key", "bigint", False),
        _c("reward_id", "string", False),
        _c(
            "transaction_key",
            "bigint",
            description="null for rewards of no transaction (perks, ...), or while the transaction is unseen",
        ),
        _c("customer_key", "bigint"),
        _c("date_key", "int", description="reward creation date"),
        _c("reward_type", "string", description="the source's type verbatim"),
        _c("reward_kind", "string", description="rebate / bonus / perk / partial / manual / referral"),
        _c("transaction_link", "string", description="direct / via_parent / no_transaction / unresolved"),
        _c("unresolved_reason", "string", description="why a reward of a transaction has none (yet)"),
        _c("reward_status", "string", description="pending / approved / rejected"),
        _c("is_available", "boolean"),
        _c("plu_amount", "decimal(28,8)"),
        _c("reward_amount_minor", "decimal(18,4)", description="value by kind, minor units of reward_currency"),
        _c("reward_currency", "string", description="GBP or EUR"),
        _c("reward_amount_gbp", "decimal(18,4)", description="null unless reward_currency is GBP"),
        _c("plu_price_gbp", "double"),
        _c("plu_price_source", "string", description="rate_feed / derived_from_reward (amount over PLU)"),
        _c("category", "string"),
        _c("merchant_name", "string"),
        _c("mcc", "string"),
        _c("reward_created_at", "timestamp"),
        _c("reward_updated_at", "timestamp"),
    ),
    primary_key=("reward_key",),
    natural_key=("reward_id",),
    dist_key="customer_key",
    sort_key=("reward_created_at",),
)

FRAUD_ALERTS = Table(
    "fraud_alerts",
    (
        _c("alert_key", "bigint", False),
        _c("transaction_id", "string", False),
        _c("customer_key", "bigint"),
        _c("card_token", "string"),
        _c("card_last4", "string"),
        _c("merchant_name", "string"),
        _c("category", "string"),
        _c("amount_minor", "bigint", description="the transaction's amount in minor units of `currency`"),
        _c("currency", "string"),
        _c("amount_gbp", "decimal(18,2)", description="null unless currency is GBP"),
        _c("fraud_score", "double"),
        _c("top_features", "string", description="the features that drove the score, most important first"),
        _c("model_version", "string"),
        _c("transaction_ts", "timestamp"),
        _c("first_seen_at", "timestamp"),
        _c(
            "alert_status",
            "string",
            description="open while the score is at or above the threshold; cleared when a rescore drops below it",
        ),
    ),
    primary_key=("alert_key",),
    natural_key=("transaction_id",),
    dist_key="customer_key",
    sort_key=("first_seen_at",),
    kind="alerts",
)

# An alert's status follows its latest score, so any arrival order of batches leaves the same open alerts.
ALERT_OPEN = "open"
ALERT_CLEARED = "cleared"

# Load order: dimensions before the facts that reference them.
STAR_TABLES: tuple[Table, ...] = (
    DIM_DATE,
    DIM_TIME,
    DIM_STATEMENT_KIND,
    DIM_ADDRESS,
    DIM_CUSTOMER,
    DIM_MERCHANT,
    FACT_TRANSACTION,
    FACT_REWARD,
    FRAUD_ALERTS,
)
TABLES_BY_NAME = {t.name: t for t in STAR_TABLES}
