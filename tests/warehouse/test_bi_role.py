"""The read-only BI role on PostgreSQL: it reads the reporting views and nothing else."""

from __future__ import annotations

import psycopg
import pytest

from cardlake.warehouse import BI_ROLE
from cardlake.warehouse.postgres import PostgresWarehouse
from cardlake.warehouse.views import VIEWS
from contracts.tables import STAR_TABLES
from tests.warehouse.star_data import make_export

pytestmark = pytest.mark.postgres


def test_bi_role_reads_views_but_not_base_tables(pg_dsn: str, pg_server, tmp_path) -> None:
    with PostgresWarehouse(pg_dsn) as wh:
        wh.ensure_schema()
        wh.load_export(make_export(tmp_path / "exports", "run-1"))
        wh.ensure_schema()  # recreating the views must keep their grants
        dbname = wh.query("SELECT current_database()")[0][0]
    with psycopg.connect(pg_server.dsn(), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS looker_reader")
        admin.execute(f"CREATE ROLE looker_reader LOGIN PASSWORD 'looker-pw' IN ROLE {BI_ROLE}")
    try:
        with psycopg.connect(pg_server.dsn(dbname, "looker_reader", "looker-pw"), autocommit=True) as bi:
            for view in VIEWS:
                bi.execute(f"SELECT * FROM {view}").fetchall()
            # The five card rows of the seven statement rows (no top-up, no fee).
            assert bi.execute("SELECT SUM(transactions) FROM rpt_fraud_by_location_time").fetchone() == (5,)
            for table in STAR_TABLES:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    bi.execute(f"SELECT 1 FROM {table.name} LIMIT 1")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute("CREATE TABLE sneaky (x int)")  # PostgreSQL 15: no CREATE on public for PUBLIC
    finally:
        with psycopg.connect(pg_server.dsn(), autocommit=True) as admin:
            admin.execute("DROP OWNED BY looker_reader CASCADE")
            admin.execute("DROP ROLE looker_reader")
