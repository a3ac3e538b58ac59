"""DuckDB, the embedded default: a single file, Parquet read in place with `read_parquet`.

DuckDB has no roles. The BI equivalent of `cardlake_bi` is a read-only connection
(`duckdb.connect(path, read_only=True)`, or `DuckDBWarehouse(path, read_only=True)`), which can read the
views and cannot change anything; it cannot hide the base tables, so share the file only with trusted readers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cardlake.warehouse.base import Cursor, Warehouse
from cardlake.warehouse.ddl import delete_insert_sql, duckdb_type, ident, staging_name
from cardlake.warehouse.export import Export, ExportTable, is_s3, open_uri
from contracts.tables import Table


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"
    # No PRIMARY KEY: DuckDB maintains it as an ART index that slows bulk upserts down; keys stay unique
    # because every load refuses duplicate keys and deletes the staged keys before inserting them.
    enforces_primary_key = False

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        super().__init__("main")
        self.path = Path(path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path), read_only=read_only)
        # Parquet timestamps are UTC instants; casting them to TIMESTAMP must not shift them by a local zone.
        self._con.execute("SET TimeZone = 'UTC'")

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def _stage(self, cur: Cursor, entry: ExportTable, export: Export) -> str:
        table, staging = entry.table, staging_name(entry.table)
        if any(is_s3(f) for f in entry.files):
            # No httpfs extension offline: pyarrow reads S3, DuckDB scans the Arrow table without copying it.
            arrow = pa.concat_tables(_read_arrow(f) for f in entry.files)
            self._con.register("_cardlake_export", arrow)
            source = "_cardlake_export"
        else:
            files = ", ".join("'" + f.removeprefix("file://").replace("'", "''") + "'" for f in entry.files)
            source = f"read_parquet([{files}])"
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {staging} AS SELECT {_casts(table)} FROM {source}")
        if source == "_cardlake_export":
            self._con.unregister("_cardlake_export")
        return staging

    def _upsert(self, cur: Cursor, table: Table, staging: str) -> None:
        for statement in delete_insert_sql(table, staging, self.schema):
            cur.execute(statement)

    def _grant_bi_role(self, cur: Cursor) -> None:
        """No roles in DuckDB: BI users open the file with `read_only=True` (see the module docstring)."""

    def close(self) -> None:
        self._con.close()


def _read_arrow(uri: str) -> pa.Table:
    with open_uri(uri) as handle:
        return pq.read_table(handle)


def _casts(table: Table) -> str:
    return ", ".join(f"CAST({ident(c.name)} AS {duckdb_type(c.type)}) AS {ident(c.name)}" for c in table.columns)
