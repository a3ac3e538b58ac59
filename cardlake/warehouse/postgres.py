"""PostgreSQL through psycopg 3: Parquet -> pyarrow CSV stream -> `COPY` into a TEMP table -> `MERGE` upsert.

pyarrow writes CSV in C++ and COPY parses it in the server, so no Python code touches individual rows.
In CSV, an unquoted empty field is NULL and `""` is an empty string; pyarrow writes exactly that.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from cardlake.warehouse.base import BI_ROLE, Cursor, Warehouse
from cardlake.warehouse.ddl import ident, merge_sql, qualified, staging_name
from cardlake.warehouse.export import Export, ExportError, ExportTable, WarehouseError, iter_batches
from contracts.tables import Table

_CSV = pacsv.WriteOptions(include_header=False, quoting_style="needed")
# UTC sessions; temp_buffers (settable only before a session's first temp table) keeps staging in memory.
_OPTIONS = "-c TimeZone=UTC -c temp_buffers=256MB"


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, dsn: str, schema: str = "public", connect_timeout: int = 10) -> None:
        super().__init__(schema)
        # autocommit: every unit of work is an explicit `transaction()` block (BEGIN ... COMMIT).
        self._con = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout, options=_OPTIONS)
        if self._con.info.server_version < 150000:
            version = self._con.info.parameter_status("server_version")
            self._con.close()
            raise WarehouseError(
                f"the PostgreSQL warehouse needs PostgreSQL 15 or later (MERGE); the server is {version}"
            )

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._con.transaction(), self._con.cursor() as cur:
            yield cur

    def ensure_schema(self) -> None:
        with self.transaction() as cur:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
        super().ensure_schema()

    def _load_table(self, cur: Cursor, entry: ExportTable, export: Export) -> int:
        target = qualified(entry.table, self.schema)
        # One loader per table at a time (readers go on), so "empty" below stays true until we commit.
        cur.execute(f"LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE")
        cur.execute("SET LOCAL work_mem = '256MB'")  # the MERGE join and duplicate check hash in memory
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {target})")
        if cur.fetchall()[0][0]:
            return super()._load_table(cur, entry, export)
        return self._load_empty_table(cur, entry)

    def _load_empty_table(self, cur: Cursor, entry: ExportTable) -> int:
        """First load or backfill: COPY straight into the table with its primary key dropped, then rebuild the
        key in one sort (much faster than growing the index row by row); the rebuild refuses repeated keys."""
        table, target = entry.table, qualified(entry.table, self.schema)
        cur.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", (target,))
        for (name,) in cur.fetchall():
            cur.execute(f'ALTER TABLE {target} DROP CONSTRAINT "{name}"')
        copied = self._copy(cur, target, entry)
        if copied != entry.rows:
            raise ExportError(f"{table.name}: copied {copied} rows but the export manifest says {entry.rows}")
        try:
            cur.execute(f"ALTER TABLE {target} ADD PRIMARY KEY ({', '.join(ident(k) for k in table.primary_key)})")
        except psycopg.errors.UniqueViolation as exc:
            detail = exc.diag.message_detail or ""
            raise ExportError(f"{table.name}: the export repeats primary keys {table.primary_key}: {detail}") from exc
        return copied

    def _stage(self, cur: Cursor, entry: ExportTable, export: Export) -> str:
        table, staging = entry.table, staging_name(entry.table)
        cur.execute(f"DROP TABLE IF EXISTS {staging}")
        # LIKE copies column order, types and NOT NULL, but not the primary key: duplicates are reported, not lost.
        cur.execute(f"CREATE TEMP TABLE {staging} (LIKE {qualified(table, self.schema)}) ON COMMIT DROP")
        self._copy(cur, staging, entry)
        return staging

    def _copy(self, cur: Cursor, target: str, entry: ExportTable) -> int:
        columns = ", ".join(ident(c) for c in entry.table.column_names)
        with cur.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)") as copy:  # type: ignore[attr-defined]
            for batch in iter_batches(entry):
                copy.write(_csv_bytes(batch))
        return int(cur.rowcount)  # type: ignore[attr-defined]

    def _upsert(self, cur: Cursor, table: Table, staging: str) -> None:
        # MERGE: one join for updates and inserts (cheaper than UPDATE ... FROM + INSERT ... WHERE NOT
        # EXISTS), and unchanged rows are not touched. Repeated keys were refused before (_check_duplicates).
        cur.execute(merge_sql(table, staging, self.schema, only_changed=True))

    def _grant_bi_role(self, cur: Cursor) -> None:
        # Views run with their owner's (the loader's) rights, so SELECT on a view needs none on the tables.
        self._grant_views_only(
            cur, "SELECT 1 FROM pg_roles WHERE rolname = %s", f"CREATE ROLE {BI_ROLE} NOLOGIN", BI_ROLE
        )

    def close(self) -> None:
        self._con.close()


def _csv_bytes(batch: pa.RecordBatch) -> bytes:
    """CSV of one batch; timestamps lose their UTC zone marker since the columns are `timestamp` holding UTC."""
    columns = [
        col.cast(pa.timestamp(col.type.unit)) if pa.types.is_timestamp(col.type) and col.type.tz else col
        for col in batch.columns
    ]
    sink = io.BytesIO()
    pacsv.write_csv(pa.RecordBatch.from_arrays(columns, names=batch.schema.names), sink, _CSV)
    return sink.getvalue()
