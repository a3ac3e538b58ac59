"""The warehouse layer: star schema tables, reporting views and loaders for DuckDB, PostgreSQL and Redshift."""

from __future__ import annotations

from blocks.warehouse import WarehouseConnection
from cardlake.warehouse.base import Warehouse, is_transient_error, secret
from cardlake.warehouse.export import ExportError, WarehouseBusy, WarehouseError
from contracts.names import BI_ROLE

__all__ = [
    "BI_ROLE",
    "ExportError",
    "Warehouse",
    "WarehouseBusy",
    "WarehouseError",
    "get_warehouse",
    "is_transient_error",
]


def _postgres_dsn(conn: WarehouseConnection) -> str:
    if conn.dsn is not None:
        return conn.dsn.get_secret_value()
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=conn.host,
        port=conn.port or 5432,
        dbname=conn.database,
        user=conn.user,
        password=secret(conn.password) or None,
        sslmode="require" if conn.ssl else "prefer",
    )


def get_warehouse(connection: WarehouseConnection, read_only: bool = False) -> Warehouse:
    """The warehouse the connection names; `read_only` opens it as a reader (what BI tools do)."""
    if connection.kind == "duckdb":
        from cardlake.warehouse.duckdb import DuckDBWarehouse

        if not connection.duckdb_path:
            raise WarehouseError("a duckdb warehouse connection needs duckdb_path")
        return DuckDBWarehouse(connection.duckdb_path, read_only=read_only)
    if connection.kind == "postgres":
        from cardlake.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(_postgres_dsn(connection), schema=connection.db_schema or "public")
    if connection.kind == "redshift":
        from cardlake.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse(connection)
    raise WarehouseError(f"unknown warehouse {connection.kind!r}: use duckdb, postgres or redshift")
