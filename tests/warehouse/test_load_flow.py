"""flows/load.py: the load subflow on the embedded DuckDB warehouse, the summary read from the views, and which
failures are retried."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pytest
import redshift_connector
from prefect.states import Failed

from cardlake.warehouse import ExportError, is_transient_error
from cardlake.warehouse.postgres import PostgresWarehouse
from flows.retries import retry_when
from tests.warehouse.pgserver import free_port
from tests.warehouse.star_data import make_export, star


@pytest.mark.slow
@pytest.mark.prefect
def test_load_flow_loads_the_export_and_the_summary_reads_the_views(
    prefect_harness: None, cardlake_home: Path, tmp_path: Path
) -> None:
    from cardlake.config import resolve_config
    from cardlake.warehouse import get_warehouse
    from cardlake.warehouse.summary import CategorySpend
    from contracts.results import StageResult, TableCounts
    from flows.load import load, read_warehouse_summary

    uri = make_export(tmp_path / "exports", "run-1")
    result = load("run-1", uri)
    expected = {name: len(rows) for name, rows in star().items()}
    assert result == StageResult("load", tuple(TableCounts(name, n, n, 0, n) for name, n in expected.items()))
    config = resolve_config()
    assert config.warehouse.kind == "duckdb"
    assert config.settings.duckdb_file.is_relative_to(cardlake_home.resolve())
    with get_warehouse(config.warehouse, read_only=True) as warehouse:
        assert warehouse.counts() == expected

    summary = read_warehouse_summary(config)
    # Every statement row (the hand-made star adds a top-up, a fee and an EUR purchase to four card rows).
    assert summary.fact_transaction_rows == 7 and summary.fact_reward_rows == 4
    # Rejected not earned; the EUR reward earns PLU but no GBP.
    assert (summary.rewards_earned_gbp, summary.rewards_earned_plu) == (0.9, 1.7)
    assert (summary.plu_pending, summary.plu_available, summary.plu_rejected) == (0.5, 1.2, 2.0)
    assert [c.category for c in summary.top_categories] == ["shopping_net", "grocery_pos"]
    assert all(isinstance(c, CategorySpend) for c in summary.top_categories)
    assert summary.open_fraud_alerts == 1
    assert summary.fraud_rate == round(1 / 5, 6)  # over the five card rows: the top-up and the fee do not dilute it

    with pytest.raises(ExportError, match="belongs to run 'run-1', not 'run-9'"):
        load("run-9", uri)


def test_an_unreachable_server_is_transient() -> None:
    with pytest.raises(psycopg.OperationalError) as caught:
        PostgresWarehouse(f"host=127.0.0.1 port={free_port()} dbname=x user=x password=x", connect_timeout=2)
    assert is_transient_error(caught.value)


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), True),
        (psycopg.errors.UndefinedTable("relation does not exist"), False),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
        (redshift_connector.InterfaceError("connection lost"), True),
        (redshift_connector.ProgrammingError("syntax error"), False),
        (duckdb.ConnectionException("connection closed"), True),
        (duckdb.CatalogException("table does not exist"), False),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (ExportError("bad export"), False),
        (ValueError("bug"), False),
    ],
    ids=repr,
)
def test_only_transient_failures_are_retried(exc: BaseException, transient: bool) -> None:
    condition = retry_when(is_transient_error)
    assert condition(None, None, Failed(data=exc)) is transient  # type: ignore[arg-type]


def test_a_wrapped_connection_error_is_still_transient() -> None:
    try:
        try:
            raise psycopg.OperationalError("connection refused")
        except psycopg.OperationalError as inner:
            raise RuntimeError("load failed") from inner
    except RuntimeError as outer:
        assert is_transient_error(outer)
