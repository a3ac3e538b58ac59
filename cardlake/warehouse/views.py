"""Reporting views for Looker Studio: one SQL text per view (in `sql/`) that runs on DuckDB, PostgreSQL and Redshift.

`{schema}` qualifies the tables, `{spend_kinds}` lists `contracts.records.SPEND_KINDS` (the statement kinds that
are spend: purchases and fees; top-ups, card loads, withdrawals and transfers move money but are not spend) and
`{card_kinds}` lists `contracts.records.CARD_KINDS` (the card's own rows, what fraud rates are measured on).
Money is reported per currency: GBP and EUR rows are never summed together.
The texts stay portable by taking dates and hours from the date/time dimensions and `CAST(... AS DATE)`,
counting with `COUNT(CASE ...)` (Redshift has no `FILTER`) and giving every running window an explicit frame.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from cardlake.warehouse.ddl import ident
from contracts.records import CARD_KINDS, SPEND_KINDS

VIEWS: tuple[str, ...] = (
    "rpt_daily_spend",
    "rpt_rewards",
    "rpt_fraud_by_location_time",
    "rpt_open_fraud_alerts",
    "rpt_top_categories",
    "rpt_data_freshness",
)


@cache
def _template(name: str) -> str:
    return resources.files("cardlake.warehouse").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def view_sql(name: str, schema: str) -> str:
    """The SELECT of one view with its tables qualified by `schema`."""
    if name not in VIEWS:
        raise KeyError(f"unknown reporting view {name!r}; known: {VIEWS}")
    spend_kinds = ", ".join(f"'{kind}'" for kind in SPEND_KINDS)
    card_kinds = ", ".join(f"'{kind}'" for kind in CARD_KINDS)
    text = (
        _template(name)
        .replace("{schema}", ident(schema))
        .replace("{spend_kinds}", spend_kinds)
        .replace("{card_kinds}", card_kinds)
    )
    return text.strip().rstrip(";")


def create_view_statements(schema: str) -> list[str]:
    """Drop and recreate each view, so a changed column list never trips `CREATE OR REPLACE VIEW` (PostgreSQL)."""
    statements: list[str] = []
    for name in VIEWS:
        statements.append(f"DROP VIEW IF EXISTS {ident(schema)}.{name}")
        statements.append(f"CREATE VIEW {ident(schema)}.{name} AS\n{view_sql(name, schema)}")
    return statements
