"""The warehouse interface: one load algorithm, three engines (DuckDB, PostgreSQL, Redshift) side by side.

A load reads an export (contracts.md section 3), checks it, and upserts every table it holds in ONE transaction:
stage the Parquet rows into a temporary table shaped like the target, refuse duplicate keys, then upsert on
the primary key. Loading the same export twice leaves the same warehouse.
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol

from pydantic import SecretStr

from cardlake.warehouse import views
from cardlake.warehouse.ddl import Dialect, create_table_sql, duplicate_keys_sql, ident, qualified
from cardlake.warehouse.export import (
    Export,
    ExportError,
    ExportTable,
    WarehouseError,
    check_export_table,
    read_export,
)
from contracts.names import BI_ROLE
from contracts.tables import STAR_TABLES, Table

log = logging.getLogger(__name__)

# One row per stream micro-batch export loaded (docs/adr/0018), written in the transaction of its upsert.
STREAM_LOADS = "stream_loads"
_RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # a run id goes into SQL as a literal only once it matches


class Cursor(Protocol):
    """The DB-API subset the loaders use (DuckDB connections, psycopg and redshift_connector cursors)."""

    def execute(self, sql: str, params: Any = None) -> Any: ...

    def fetchall(self) -> list[Any]: ...


def secret(value: SecretStr | str | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class Warehouse(abc.ABC):
    """Star schema tables, reporting views and the read-only BI role in one warehouse."""

    dialect: Dialect
    enforces_primary_key = True  # declare PRIMARY KEY (an index in PostgreSQL, informational in Redshift)

    def __init__(self, schema: str) -> None:
        self.schema = ident(schema)

    # -- engine specifics -------------------------------------------------------------------------------------
    @abc.abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A cursor inside one transaction: committed on success, rolled back on any error."""

    @abc.abstractmethod
    def _stage(self, cur: Cursor, entry: ExportTable, export: Export) -> str:
        """Fill a temporary table shaped like the target (tables.py column order) with the export's rows."""

    @abc.abstractmethod
    def _upsert(self, cur: Cursor, table: Table, staging: str) -> None: ...

    @abc.abstractmethod
    def _grant_bi_role(self, cur: Cursor) -> None:
        """Create `cardlake_bi` if needed; it may read the views and nothing else."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def _grant_views_only(self, cur: Cursor, role_exists_sql: str, create_role_sql: str, grantee: str) -> None:
        """The BI role may use the schema and select from the views; every table right is revoked."""
        cur.execute(role_exists_sql, (BI_ROLE,))
        if not cur.fetchall():
            cur.execute(create_role_sql)
        cur.execute(f"GRANT USAGE ON SCHEMA {self.schema} TO {grantee}")
        cur.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {self.schema} FROM {grantee}")
        cur.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {self.schema} REVOKE ALL ON TABLES FROM {grantee}")
        for table in STAR_TABLES:
            cur.execute(f"REVOKE ALL ON {qualified(table, self.schema)} FROM PUBLIC")
        for view in views.VIEWS:
            cur.execute(f"GRANT SELECT ON {qualified(view, self.schema)} TO {grantee}")

    def _drop_staging(self, cur: Cursor, staging: str) -> None:
        cur.execute(f"DROP TABLE IF EXISTS {staging}")

    # -- the interface ----------------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Tables, views and the BI role; idempotent (tables are kept, views are recreated)."""
        with self.transaction() as cur:
            for table in STAR_TABLES:
                cur.execute(create_table_sql(table, self.dialect, self.schema, primary_key=self.enforces_primary_key))
            for statement in views.create_view_statements(self.schema):
                cur.execute(statement)
            self._grant_bi_role(cur)

    def load_export(self, export_manifest_uri: str) -> dict[str, int]:
        """Rows upserted per table, in STAR_TABLES order (0 for tables the export does not hold)."""
        export = read_export(export_manifest_uri)
        for entry in export.tables.values():
            check_export_table(entry)
        loaded = {table.name: 0 for table in STAR_TABLES}
        with self.transaction() as cur:
            for name, entry in export.tables.items():
                if entry.rows:
                    loaded[name] = self._load_table(cur, entry, export)
        log.info("loaded export %s into %s: %s", export.run_id, self.dialect, loaded)
        return loaded

    def stream_loaded_through(self) -> str | None:
        """The newest stream run id whose export is loaded (run ids sort in micro-batch order), None if none is."""
        with self.transaction() as cur:
            cur.execute(self._stream_loads_ddl())
            cur.execute(f"SELECT MAX(run_id) FROM {qualified(STREAM_LOADS, self.schema)}")
            rows = cur.fetchall()
        return rows[0][0] if rows and rows[0][0] is not None else None

    def load_stream_export(self, export_manifest_uri: str) -> int:
        """Upsert a stream micro-batch's export and record its run id, in ONE transaction: after a crash either
        both happened or neither, so the next load resumes at the right export. Returns the rows upserted."""
        export = read_export(export_manifest_uri)
        if not _RUN_ID.match(export.run_id):
            raise ExportError(f"export {export_manifest_uri} has an invalid run id {export.run_id!r}")
        for entry in export.tables.values():
            check_export_table(entry)
        loads = qualified(STREAM_LOADS, self.schema)
        rows = 0
        with self.transaction() as cur:
            cur.execute(self._stream_loads_ddl())
            for entry in export.tables.values():
                if entry.rows:
                    rows += self._load_table(cur, entry, export)
            cur.execute(f"DELETE FROM {loads} WHERE run_id = '{export.run_id}'")
            cur.execute(f"INSERT INTO {loads} (run_id) VALUES ('{export.run_id}')")
        log.info("loaded stream export %s into %s: %d row(s)", export.run_id, self.dialect, rows)
        return rows

    def _stream_loads_ddl(self) -> str:
        return f"CREATE TABLE IF NOT EXISTS {qualified(STREAM_LOADS, self.schema)} (run_id VARCHAR(64) NOT NULL)"

    def _load_table(self, cur: Cursor, entry: ExportTable, export: Export) -> int:
        table = entry.table
        staging = self._stage(cur, entry, export)
        cur.execute(f"SELECT COUNT(*) FROM {staging}")
        staged = int(cur.fetchall()[0][0])
        if staged != entry.rows:
            raise ExportError(f"{table.name}: staged {staged} rows but the export manifest says {entry.rows}")
        self._check_duplicates(cur, table, staging)
        self._upsert(cur, table, staging)
        self._drop_staging(cur, staging)
        return staged

    def _check_duplicates(self, cur: Cursor, table: Table, staging: str) -> None:
        """Refuse an export that repeats a key: an upsert cannot choose between the rows, and must not keep both."""
        cur.execute(duplicate_keys_sql(table, staging))
        duplicates = cur.fetchall()
        if duplicates:
            raise ExportError(
                f"{table.name}: the export repeats primary keys {table.primary_key}, e.g. {duplicates[:3]} "
                "(key values, count); an upsert cannot choose between them"
            )

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        """Rows of a read query; placeholders are the engine's own (`?` for DuckDB, `%s` otherwise)."""
        return self.query_with_columns(sql, params)[1]

    def query_with_columns(self, sql: str, params: Sequence[Any] | None = None) -> tuple[list[str], list[tuple]]:
        """(column names, rows) of a read query."""
        with self.transaction() as cur:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            rows = [tuple(row) for row in cur.fetchall()]
            description = getattr(cur, "description", None) or []
            return [str(column[0]) for column in description], rows

    def counts(self) -> dict[str, int]:
        """Rows per star table, in STAR_TABLES order."""
        union = " UNION ALL ".join(f"SELECT '{t.name}', COUNT(*) FROM {qualified(t, self.schema)}" for t in STAR_TABLES)
        found = {name: int(n) for name, n in self.query(union)}
        return {t.name: found[t.name] for t in STAR_TABLES}

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# Exception class names that mean "the connection or the server hiccupped", across psycopg, redshift_connector,
# duckdb and botocore; SQL errors (ProgrammingError, DataError, IntegrityError) and export errors are not retried.
_TRANSIENT_NAMES = {
    "OperationalError",
    "InterfaceError",
    "ConnectionException",
    "ConnectionError",
    "ConnectionFailure",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "TimeoutError",
    "QueryCanceled",
    "SerializationFailure",
    "DeadlockDetected",
    "AdminShutdown",
    "CannotConnectNow",
    "TransactionException",
    "IOException",  # duckdb: the file is locked by another process (e.g. a BI reader)
}


def is_transient_error(exc: BaseException | None) -> bool:
    """True when retrying may help: connection failures and timeouts, not SQL or data errors."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, WarehouseError):
            return False
        if isinstance(exc, ConnectionError | TimeoutError):
            return True
        if any(klass.__name__ in _TRANSIENT_NAMES for klass in type(exc).__mro__):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
