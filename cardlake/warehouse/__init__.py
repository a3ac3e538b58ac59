"""The warehouse layer: star schema tables, reporting views and loaders for DuckDB, PostgreSQL and Redshift."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cardlake.warehouse.base import BI_ROLE, ConnectionSettings, Warehouse, is_transient_error, secret
from cardlake.warehouse.export import ExportError, WarehouseError

if TYPE_CHECKING:
    from cardlake.settings import Settings

__all__ = [
    "BI_ROLE",
    "ConnectionSettings",
    "ExportError",
    "Warehouse",
    "WarehouseError",
    "get_warehouse",
    "is_transient_error",
]


def _load_block(name: str) -> Any:
    from blocks.warehouse import WarehouseConnection

    try:
        return WarehouseConnection.load(name)
    except ValueError as exc:
        raise WarehouseError(
            f"warehouse block {name!r} not found: register a WarehouseConnection block of that name "
            "(or, for PostgreSQL, set CARDLAKE_POSTGRES_DSN)"
        ) from exc


def _postgres_dsn(conn: Any) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=conn.host,
        port=conn.port or 5432,
        dbname=conn.database,
        user=conn.user,
        password=secret(conn.password) or None,
        sslmode="require" if conn.ssl else "prefer",
    )


def get_warehouse(settings: Settings, connection: Any = None) -> Warehouse:
    """The warehouse `settings.warehouse` names. `connection` (a WarehouseConnection block or ConnectionSettings)
    overrides the `settings.warehouse_block` block, which PostgreSQL needs only without `postgres_dsn`."""
    kind = settings.warehouse
    if kind == "duckdb":
        from cardlake.warehouse.duckdb import DuckDBWarehouse

        path = connection.duckdb_path if connection is not None and connection.duckdb_path else settings.duckdb_file
        return DuckDBWarehouse(path)
    if kind == "postgres":
        from cardlake.warehouse.postgres import PostgresWarehouse

        if connection is None and settings.postgres_dsn is not None:
            return PostgresWarehouse(settings.postgres_dsn.get_secret_value())
        conn = connection or _load_block(settings.warehouse_block)
        return PostgresWarehouse(_postgres_dsn(conn), schema=conn.db_schema or "public")
    if kind == "redshift":
        from cardlake.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse(connection or _load_block(settings.warehouse_block))
    raise WarehouseError(f"unknown warehouse {kind!r}: use duckdb, postgres or redshift")
