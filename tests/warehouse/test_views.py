"""The reporting views on hand-made data (tests/warehouse/star_data.py), the same SQL on DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cardlake.warehouse import Warehouse
from cardlake.warehouse.duckdb import DuckDBWarehouse
from cardlake.warehouse.views import VIEWS, view_sql
from tests.warehouse.star_data import MON, SAT, T0, make_export


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    tmp = tmp_path_factory.mktemp("views")
    if request.param == "duckdb":
        wh: Warehouse = DuckDBWarehouse(tmp / "warehouse.duckdb")
    else:
        import psycopg

        from cardlake.warehouse.postgres import PostgresWarehouse

        server = request.getfixturevalue("pg_server")
        with psycopg.connect(server.dsn(), autocommit=True) as con:
            con.execute("DROP DATABASE IF EXISTS views_test WITH (FORCE)")
            con.execute("CREATE DATABASE views_test")
        wh = PostgresWarehouse(server.dsn("views_test"))
    wh.ensure_schema()
    wh.load_export(make_export(Path(tmp) / "exports", "run-1"))
    yield wh
    wh.close()


def d(value: str) -> Decimal:
    return Decimal(value)


def test_daily_spend_counts_purchases_and_fees_and_refunds_apart_per_currency(loaded: Warehouse) -> None:
    rows = loaded.query(
        "SELECT spend_date, currency, category, merchant_name, state, transactions, spend_minor, refunds, "
        "refunds_minor, net_spend_minor, spend_gbp, refunds_gbp, net_spend_gbp FROM rpt_daily_spend "
        "ORDER BY spend_date, currency, category"
    )
    assert rows == [
        (MON, "GBP", "grocery_pos", "Tesco", "LND", 1, 1000, 0, 0, 1000, d("10.00"), d("0.00"), d("10.00")),
        (MON, "GBP", "shopping_net", "Amazon", "LND", 1, 20000, 0, 0, 20000, d("200.00"), d("0.00"), d("200.00")),
        # the EUR purchase is its own row, in euro cents, with no GBP value
        (SAT, "EUR", "shopping_net", "Amazon", "WYK", 1, 800, 0, 0, 800, None, None, None),
        # the fee is spend, the refund is netted off, the 100.00 top-up is not spend
        (SAT, "GBP", "grocery_pos", "Tesco", "WYK", 1, 299, 1, 550, -251, d("2.99"), d("5.50"), d("-2.51")),
        (SAT, "GBP", "shopping_net", "Amazon", "WYK", 1, 2000, 0, 0, 2000, d("20.00"), d("0.00"), d("20.00")),
    ]


def test_rewards_accumulate_per_currency_with_running_totals_and_status_split(loaded: Warehouse) -> None:
    rows = loaded.query(
        "SELECT reward_date, currency, rewards, plu_earned, minor_earned, gbp_earned, plu_earned_running, "
        "gbp_earned_running, avg_plu_price_gbp, plu_pending, plu_available, plu_rejected, gbp_rejected "
        "FROM rpt_rewards ORDER BY reward_date, currency"
    )
    assert [r[:8] for r in rows] == [
        (date(2025, 6, 2), "GBP", 1, d("0.5"), d("30"), d("0.30"), d("0.5"), d("0.30")),
        (date(2025, 6, 7), "EUR", 1, d("0.2"), d("16"), None, d("0.2"), None),  # never summed with GBP
        (date(2025, 6, 7), "GBP", 2, d("1.0"), d("60"), d("0.60"), d("1.5"), d("0.90")),  # rejected earns nothing
    ]
    assert rows[0][8] == pytest.approx(0.6) and rows[1][8] is None and rows[2][8] == pytest.approx(0.6)
    assert [r[9:] for r in rows] == [(d("0.5"), 0, 0, 0), (0, d("0.2"), 0, None), (0, d("1.0"), d("2.0"), d("1.00"))]


def test_fraud_by_location_and_time_counts_card_rows_only(loaded: Warehouse) -> None:
    rows = loaded.query(
        "SELECT city, state, hour_of_day, day_of_week, day_name, currency, transactions, fraud_transactions, "
        "fraud_rate, avg_fraud_score, fraud_amount_minor FROM rpt_fraud_by_location_time "
        "ORDER BY city, hour_of_day, currency"
    )
    # Leeds on Saturday: the refund and the purchase in GBP, the EUR purchase apart; the top-up and the fee
    # are not card rows and do not dilute the rate.
    assert [r[:8] for r in rows] == [
        ("Leeds", "WYK", 10, 6, "Saturday", "EUR", 1, 0),
        ("Leeds", "WYK", 10, 6, "Saturday", "GBP", 2, 0),
        ("London", "LND", 10, 1, "Monday", "GBP", 1, 0),
        ("London", "LND", 23, 1, "Monday", "GBP", 1, 1),
    ]
    assert [r[8] for r in rows] == pytest.approx([0.0, 0.0, 0.0, 1.0])
    assert [r[9] for r in rows] == [None, pytest.approx(0.2), pytest.approx(0.1), pytest.approx(0.9)]
    assert [r[10] for r in rows] == [0, 0, 0, 20000]


def test_open_fraud_alerts_exclude_closed_ones_and_card_tokens(loaded: Warehouse) -> None:
    rows = loaded.query(
        "SELECT transaction_id, card_last4, amount_minor, currency, amount_gbp, city FROM rpt_open_fraud_alerts"
    )
    assert rows == [("t2", "0001", 20000, "GBP", d("200.00"), "London")]
    assert "card_token" not in view_sql("rpt_open_fraud_alerts", "main").split("WHERE")[0].split("SELECT", 1)[1]


def test_top_categories_rank_purchases_by_value_within_each_currency(loaded: Warehouse) -> None:
    rows = loaded.query(
        "SELECT currency, category, transactions, spend_minor, spend_gbp, spend_share, spend_rank "
        "FROM rpt_top_categories ORDER BY currency, spend_rank"
    )
    assert [(*r[:5], r[6]) for r in rows] == [
        ("EUR", "shopping_net", 1, 800, None, 1),  # ranked apart: euro is never added to pounds
        ("GBP", "shopping_net", 2, 22000, d("220.00"), 1),
        ("GBP", "grocery_pos", 2, 1299, d("12.99"), 2),  # the fee is spend; the 5.50 refund and the top-up are not
    ]
    assert [r[5] for r in rows] == pytest.approx([1.0, 22000 / 23299, 1299 / 23299])


def test_data_freshness_gives_each_table_its_rows_and_newest_times(loaded: Warehouse) -> None:
    rows = loaded.query("SELECT table_name, row_count, newest_event_at, newest_change_at FROM rpt_data_freshness")
    by_table = {r[0]: r[1:] for r in rows}
    assert set(by_table) == {"fact_transaction", "fact_reward", "fraud_alerts", "dim_customer", "dim_merchant"}
    naive = T0.replace(tzinfo=None)
    assert by_table["fact_transaction"] == (7, datetime(2025, 6, 7, 10, 15), naive)
    assert by_table["fact_reward"] == (4, datetime(2025, 6, 7, 12, 15), datetime(2025, 6, 7, 12, 15))
    assert by_table["fraud_alerts"] == (2, datetime(2025, 6, 7, 10, 15), datetime(2025, 6, 7, 10, 15))
    assert by_table["dim_customer"] == (2, None, naive)


def test_every_view_is_created(loaded: Warehouse) -> None:
    for view in VIEWS:
        loaded.query(f"SELECT * FROM {view} LIMIT 1")
