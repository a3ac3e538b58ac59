"""The dashboard's SQL: views only, the same text on DuckDB and PostgreSQL, figures checked on the star data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from blocks.warehouse import WarehouseConnection
from cardlake.dashboard import queries as q
from cardlake.dashboard.data import WarehouseReader
from cardlake.warehouse import BI_ROLE
from cardlake.warehouse.duckdb import DuckDBWarehouse
from cardlake.warehouse.views import VIEWS
from tests.dashboard.seed import seed_warehouse
from tests.warehouse.star_data import make_export


def all_queries(mark: str) -> list[tuple[str, list]]:
    spend = q.SpendFilter(months=("2025-06-01",), categories=("grocery_pos",), states=("WYK",))
    fraud = q.FraudFilter(states=("LND",), day_parts=("night",))
    return [
        (q.spend_choices(), []),
        q.spend_totals(spend, mark),
        q.spend_by("category", spend, mark),
        q.spend_by("merchant_name", q.SpendFilter(), mark, limit=3),
        q.spend_by("month", spend, mark),
        q.rewards_daily(("2025-06-01",), mark),
        (q.fraud_choices(), []),
        q.fraud_totals(fraud, mark),
        q.fraud_by(["city", "state"], fraud, mark, limit=5),
        q.fraud_by(["day_name", "hour_of_day"], q.FraudFilter(), mark),
        (q.open_alerts(), []),
        (q.open_alert_count(), []),
        (q.freshness(), []),
    ]


def test_every_query_reads_reporting_views_only() -> None:
    for sql, _ in all_queries("?"):
        sources = set(re.findall(r"\bFROM\s+(\w+)", sql, flags=re.IGNORECASE))
        assert sources and sources <= set(VIEWS), sql


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def reader(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WarehouseReader]:
    if request.param == "duckdb":
        seed_warehouse(tmp_path / "warehouse.duckdb", tmp_path / "exports")
        yield WarehouseReader(WarehouseConnection(kind="duckdb", duckdb_path=str(tmp_path / "warehouse.duckdb")))
        return
    import psycopg
    from pydantic import SecretStr

    from cardlake.warehouse.postgres import PostgresWarehouse

    dsn, server = request.getfixturevalue("pg_dsn"), request.getfixturevalue("pg_server")
    with PostgresWarehouse(dsn) as wh:
        wh.ensure_schema()
        wh.load_export(make_export(tmp_path / "exports", "run-1"))
        dbname = wh.query("SELECT current_database()")[0][0]
    # The dashboard logs in as Looker Studio does: a login that has only the read-only BI role.
    login = f"dash_{dbname}"
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {login} LOGIN PASSWORD 'dash-pw' IN ROLE {BI_ROLE}")
    reader = WarehouseReader(WarehouseConnection(kind="postgres", dsn=SecretStr(server.dsn(dbname, login, "dash-pw"))))
    yield reader
    reader.close()
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        admin.execute(f"DROP ROLE {login}")


def test_every_query_runs_on_each_warehouse(reader: WarehouseReader) -> None:
    for sql, params in all_queries(reader.placeholder):
        frame = reader.read(sql, params)
        assert frame.problem is None, (sql, frame.problem)


def test_filters_change_the_figures(reader: WarehouseReader) -> None:
    mark = reader.placeholder
    everything = reader.read(*q.spend_totals(q.SpendFilter(), mark)).data.iloc[0]
    grocery = reader.read(*q.spend_totals(q.SpendFilter(categories=("grocery_pos",)), mark)).data.iloc[0]
    assert (Decimal(everything["spend_gbp"]), Decimal(grocery["spend_gbp"])) == (Decimal("232.99"), Decimal("12.99"))
    london = reader.read(*q.fraud_totals(q.FraudFilter(states=("LND",)), mark)).data.iloc[0]
    assert (int(london["transactions"]), int(london["fraud_transactions"])) == (2, 1)
    by_month = reader.read(*q.spend_by("month", q.SpendFilter(), mark)).data
    assert [str(m)[:7] for m in by_month["month"]] == ["2025-06"]


def test_open_alerts_come_newest_first_with_their_features(reader: WarehouseReader) -> None:
    alerts = reader.read(q.open_alerts()).data
    assert alerts["transaction_id"].tolist() == ["t2"]
    assert q.top_features(alerts.iloc[0]["top_features"]) == [("amount_zscore", ""), ("hour_of_day", "")]


def test_top_features_keep_the_models_order_and_values() -> None:
    text = "night_amount_48h_gbp=5,610.66; amount_gbp=305.51; is_night; category=shopping_net"
    assert q.top_features(text) == [
        ("night_amount_48h_gbp", "5,610.66"),  # format_number's thousands separator is not a separator of entries
        ("amount_gbp", "305.51"),
        ("is_night", ""),
        ("category", "shopping_net"),
    ]
    assert q.top_features(None) == []


def test_an_unknown_grouping_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot group"):
        q.fraud_by(["card_token"], q.FraudFilter(), "?")


def test_duckdb_warehouse_is_opened_read_only_by_the_reader(tmp_path: Path) -> None:
    seed_warehouse(tmp_path / "warehouse.duckdb", tmp_path / "exports")
    reader = WarehouseReader(WarehouseConnection(kind="duckdb", duckdb_path=str(tmp_path / "warehouse.duckdb")))
    dropped = reader.read("DROP VIEW rpt_top_categories")
    assert dropped.problem is not None and "read-only" in dropped.problem.lower()
    with DuckDBWarehouse(tmp_path / "warehouse.duckdb", read_only=True) as wh:
        assert wh.query("SELECT COUNT(*) FROM rpt_top_categories") == [(3,)]  # GBP and EUR rows apart
