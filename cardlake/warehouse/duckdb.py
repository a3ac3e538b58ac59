"""DuckDB, the embedded default: a single file, Parquet read in place with `read_parquet`.

DuckDB has no roles. The BI equivalent of `cardlake_bi` is a read-only connection
(`duckdb.connect(path, read_only=True)`, or `DuckDBWarehouse(path, read_only=True)`), which can read the
views and cannot change anything; it cannot hide the base tables, so share the file only with trusted readers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cardlake.warehouse.base import Cursor, Warehouse
from cardlake.warehouse.ddl import delete_insert_sql, duckdb_type, ident, staging_name
from cardlake.warehouse.export import Export, ExportTable, WarehouseBusy, WarehouseError, is_s3, open_uri
from contracts.tables import Table

log = logging.getLogger(__name__)

# A writer waits this long for other processes to close the file: DuckDB allows one writer, or readers, at a time.
LOCK_WAIT_S = 120.0
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


def _connect(path: Path, read_only: bool, lock_wait_s: float) -> duckdb.DuckDBPyConnection:
    """A connection, waiting (with one clear message) while another process holds the file."""
    deadline = time.monotonic() + lock_wait_s
    told = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            holder = _LOCK_HOLDER.search(str(exc))
            who = f"process {holder.group(1)}" if holder else "another process"
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the DuckDB warehouse {path} is held by {who}, which did not close it within {lock_wait_s:.0f} s:"
                    " close that program (readers should open the file read-only per query) and run again"
                ) from None
            if not told:
                log.warning("the DuckDB warehouse %s is open in %s; waiting up to %.0f s", path, who, lock_wait_s)
                told = True
            time.sleep(0.5)


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"
    # No PRIMARY KEY: DuckDB maintains it as an ART index that slows bulk upserts down; keys stay unique
    # because every load refuses duplicate keys and deletes the staged keys before inserting them.
    enforces_primary_key = False

    def __init__(self, path: Path | str, read_only: bool = False, lock_wait_s: float = LOCK_WAIT_S) -> None:
        super().__init__("main")
        self.path = Path(path)
        if read_only and not self.path.exists():
            raise WarehouseError(
                f"there is no DuckDB warehouse at {self.path} yet: run `cardlake run` first (or set CARDLAKE_HOME or "
                "CARDLAKE_DUCKDB_PATH to the one you mean)"
            )
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = _connect(self.path, read_only, lock_wait_s)
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
