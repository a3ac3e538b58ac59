"""get_warehouse: the implementation and connection come from the WarehouseConnection, which
cardlake.config.warehouse_connection builds from settings (or which is the warehouse block itself)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from blocks.warehouse import WarehouseConnection
from cardlake.config import warehouse_connection
from cardlake.settings import Settings
from cardlake.warehouse import get_warehouse
from cardlake.warehouse.duckdb import DuckDBWarehouse
from cardlake.warehouse.postgres import PostgresWarehouse


def test_duckdb_is_the_default_and_lives_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    with get_warehouse(warehouse_connection(settings)) as wh:
        assert isinstance(wh, DuckDBWarehouse)
        assert wh.path == tmp_path.resolve() / "home" / "warehouse.duckdb"
        wh.ensure_schema()
    with DuckDBWarehouse(tmp_path / "home" / "warehouse.duckdb", read_only=True) as reader:
        assert reader.query("SELECT COUNT(*) FROM rpt_top_categories") == [(0,)]
        with pytest.raises(Exception, match="read-only"):
            reader.query("DELETE FROM fact_transaction")


@pytest.mark.postgres
def test_postgres_from_a_dsn_or_from_the_block_fields(pg_dsn: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, warehouse="postgres", postgres_dsn=SecretStr(pg_dsn))
    with get_warehouse(warehouse_connection(settings)) as wh:
        assert isinstance(wh, PostgresWarehouse)
        wh.ensure_schema()
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    block = WarehouseConnection(kind="postgres", host=info["host"], port=int(info["port"]), database=info["dbname"],
                                user=info["user"], password=SecretStr(info["password"]), ssl=False)  # fmt: skip
    with get_warehouse(block) as wh:
        assert wh.counts()["fact_transaction"] == 0
