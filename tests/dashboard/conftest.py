"""The warehouse tests' throwaway PostgreSQL server, for running the dashboard's queries on PostgreSQL too."""

from tests.warehouse.conftest import pg_dsn, pg_server

__all__ = ["pg_dsn", "pg_server"]
