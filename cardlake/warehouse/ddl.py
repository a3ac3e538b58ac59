"""DDL and load SQL of every warehouse, derived from `tables.py`: one type-mapping function per dialect.

Nothing here runs SQL; the implementations execute these texts, and the tests read them.
Timestamps are stored as `TIMESTAMP` (without time zone) holding UTC: the value a BI tool shows, and the hour a
view extracts, then never depend on the session's time zone.
"""

from __future__ import annotations

import re
from typing import Literal

from contracts.tables import Column, ColumnType, Table

Dialect = Literal["duckdb", "postgres", "redshift"]

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_INTEGRAL = {"smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT"}
_COMMON = {**_INTEGRAL, "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"}


def ident(name: str) -> str:
    """A safe SQL identifier: names come from tables.py and settings, never from data, but still checked."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid SQL identifier {name!r}: lower-case letters, digits and _ only")
    return name


def _decimal(type_: ColumnType) -> str | None:
    match = _DECIMAL.match(type_)
    return f"DECIMAL({match.group(1)},{match.group(2)})" if match else None


def duckdb_type(type_: ColumnType) -> str:
    return _decimal(type_) or {**_COMMON, "string": "VARCHAR", "double": "DOUBLE"}[type_]


def postgres_type(type_: ColumnType) -> str:
    return _decimal(type_) or {**_COMMON, "string": "TEXT", "double": "DOUBLE PRECISION"}[type_]


def redshift_type(type_: ColumnType) -> str:
    # VARCHAR(65535) because tables.py has no length hints and COPY of a Parquet string longer than the column
    # fails (TRUNCATECOLUMNS does not apply to columnar formats); the cost is memory in wide sorts.
    return _decimal(type_) or {**_COMMON, "string": "VARCHAR(65535)", "double": "DOUBLE PRECISION"}[type_]


TYPE_MAPPERS = {"duckdb": duckdb_type, "postgres": postgres_type, "redshift": redshift_type}


def qualified(table: Table | str, schema: str | None) -> str:
    name = ident(table if isinstance(table, str) else table.name)
    return f"{ident(schema)}.{name}" if schema else name


def _column_sql(column: Column, dialect: Dialect) -> str:
    null = " NOT NULL" if not column.nullable else ""
    return f"{ident(column.name)} {TYPE_MAPPERS[dialect](column.type)}{null}"


def redshift_table_attributes(table: Table) -> str:
    """DISTSTYLE/DISTKEY/SORTKEY: small dimensions on every node, facts spread by the card so joins stay local."""
    if table.diststyle_all:
        dist = "DISTSTYLE ALL"
    elif table.dist_key:
        dist = f"DISTSTYLE KEY DISTKEY ({ident(table.dist_key)})"
    else:
        dist = "DISTSTYLE AUTO"
    sort = f" COMPOUND SORTKEY ({', '.join(ident(c) for c in table.sort_key)})" if table.sort_key else ""
    return dist + sort


def create_table_sql(table: Table, dialect: Dialect, schema: str | None = None, primary_key: bool = True) -> str:
    """`CREATE TABLE IF NOT EXISTS` with the columns in tables.py order (Redshift COPY maps Parquet by position)."""
    lines = [_column_sql(c, dialect) for c in table.columns]
    if primary_key:
        lines.append(f"PRIMARY KEY ({', '.join(ident(c) for c in table.primary_key)})")
    body = ",\n  ".join(lines)
    sql = f"CREATE TABLE IF NOT EXISTS {qualified(table, schema)} (\n  {body}\n)"
    if dialect == "redshift":
        sql += " " + redshift_table_attributes(table)
    return sql


def staging_name(table: Table) -> str:
    return f"stg_{table.name}"


def duplicate_keys_sql(table: Table, source: str, limit: int = 5) -> str:
    """Keys that occur more than once in a staging table: an upsert cannot pick between them."""
    keys = ", ".join(ident(c) for c in table.primary_key)
    return f"SELECT {keys}, COUNT(*) FROM {source} GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT {int(limit)}"


def delete_insert_sql(table: Table, source: str, schema: str | None = None) -> list[str]:
    """Upsert as DELETE of the staged keys + INSERT (DuckDB: no index to maintain, both are vectorised joins)."""
    keys = ", ".join(ident(c) for c in table.primary_key)
    cols = ", ".join(ident(c) for c in table.column_names)
    target = qualified(table, schema)
    return [
        f"DELETE FROM {target} WHERE ({keys}) IN (SELECT {keys} FROM {source})",
        f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {source}",
    ]


def merge_sql(table: Table, source: str, schema: str | None = None, only_changed: bool = False) -> str:
    """`MERGE` for Redshift and PostgreSQL 15+: the target has no alias, SET columns are unqualified.

    `only_changed` (PostgreSQL; Redshift has no `WHEN MATCHED AND`) leaves rows whose values are the same alone,
    so a re-run writes no new row versions (no WAL, no bloat).
    """
    cols = [ident(c) for c in table.column_names]
    keys = [ident(c) for c in table.primary_key]
    values = [c for c in cols if c not in keys]
    target = ident(table.name)
    on = " AND ".join(f"{target}.{k} = s.{k}" for k in keys)
    sets = ", ".join(f"{c} = s.{c}" for c in values) or f"{keys[0]} = s.{keys[0]}"
    changed = " OR ".join(f"{target}.{c} IS DISTINCT FROM s.{c}" for c in values)
    matched = f"WHEN MATCHED AND ({changed}) THEN" if only_changed and values else "WHEN MATCHED THEN"
    return (
        f"MERGE INTO {qualified(table, schema)} USING {source} AS s ON {on} "
        f"{matched} UPDATE SET {sets} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(cols)}) VALUES ({', '.join('s.' + c for c in cols)})"
    )


def redshift_copy_sql(staging: str, manifest_uri: str, iam_role_arn: str) -> str:
    """COPY a manifest of the export's Parquet files; columns map by position, so staging keeps tables.py order."""
    for value in (manifest_uri, iam_role_arn):
        if "'" in value:
            raise ValueError(f"quote in COPY parameter {value!r}")
    return f"COPY {staging} FROM '{manifest_uri}' IAM_ROLE '{iam_role_arn}' FORMAT AS PARQUET MANIFEST"
