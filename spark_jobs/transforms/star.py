"""Building blocks shared by the star-schema transforms: surrogate keys, date keys, Spark types of the warehouse
columns, and the conforming step that gives every star DataFrame exactly the columns of its `tables.py` table.

The transforms themselves live beside this module: `star_dims.py` (customer, address, merchant),
`star_calendar.py` (date, time) and `star_facts.py` (transaction, reward).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from contracts.tables import Column as WarehouseColumn
from contracts.tables import Table

# Bookkeeping columns every gold star table stores beside its warehouse columns (the export drops them).
ROW_HASH = "row_hash"
RUN_ID = "run_id"

_SIMPLE_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "smallint": ShortType(),
    "int": IntegerType(),
    "bigint": LongType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
    "date": DateType(),
    "timestamp": TimestampType(),
}


def spark_type(column_type: str) -> DataType:
    """The Spark type of a `tables.py` column type, e.g. "decimal(18,2)" -> DecimalType(18, 2)."""
    if column_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[column_type]
    if column_type.startswith("decimal(") and column_type.endswith(")"):
        precision, scale = column_type[len("decimal(") : -1].split(",")
        return DecimalType(int(precision), int(scale))
    raise ValueError(f"no Spark type for warehouse column type {column_type!r}")


def star_struct(table: Table, bookkeeping: bool = False) -> StructType:
    """The Spark schema of a star table in `tables.py` order (plus row_hash and run_id when `bookkeeping`)."""
    fields = [StructField(c.name, spark_type(c.type), c.nullable) for c in table.columns]
    if bookkeeping:
        fields += [StructField(ROW_HASH, StringType(), True), StructField(RUN_ID, StringType(), True)]
    return StructType(fields)


def surrogate_key(*natural_key: str | Column) -> Column:
    """xxhash64 of the natural key: stable across runs and engines' re-runs, null when any key part is null.

    Spark's xxhash64 of a null is its seed (42), which would glue every missing reference to one fake row,
    hence the explicit null.
    """
    parts = [F.col(c) if isinstance(c, str) else c for c in natural_key]
    any_null = parts[0].isNull()
    for part in parts[1:]:
        any_null = any_null | part.isNull()
    return F.when(any_null, F.lit(None).cast(LongType())).otherwise(F.xxhash64(*parts))


def date_key(date: str | Column) -> Column:
    """yyyymmdd as an int, the key of dim_date."""
    d = F.col(date) if isinstance(date, str) else date
    return (F.year(d) * 10000 + F.month(d) * 100 + F.dayofmonth(d)).cast(IntegerType())


def utc_hour(ts: str | Column) -> Column:
    """Hour of day (0-23) of a timestamp in UTC, whatever the session time zone (`F.hour` uses the session's)."""
    t = F.col(ts) if isinstance(ts, str) else ts
    return F.floor(F.pmod(F.unix_seconds(t), 86_400) / 3_600).cast(ShortType())


def utc_date(ts: str | Column) -> Column:
    """Calendar date of a timestamp in UTC, whatever the session time zone (`F.to_date` uses the session's)."""
    t = F.col(ts) if isinstance(ts, str) else ts
    return F.date_from_unix_date(F.floor(F.unix_seconds(t) / 86_400).cast(IntegerType()))


def _hash_input(column: WarehouseColumn) -> Column:
    """A canonical string of one column; timestamps as epoch microseconds so the session time zone cannot
    change a hash, nulls as a marker no real value takes."""
    value = F.col(column.name)
    if column.type == "timestamp":
        value = F.unix_micros(value)
    return F.coalesce(value.cast(StringType()), F.lit("\u0000"))


def conformed_to(table: Table) -> Callable[[DataFrame], DataFrame]:
    """Exactly the table's columns, in its order, cast to its types, keyed rows only."""

    def transform(df: DataFrame) -> DataFrame:
        missing = [c for c in table.column_names if c not in df.columns]
        if missing:
            raise ValueError(f"{table.name} needs columns {missing}, which its input lacks (it has {df.columns})")
        keyed = df
        # Silver's MERGE keys are never null; a null here would be an upstream bug, and Delta MERGE would
        # insert such a row again on every run, so it never reaches a star table.
        for key in table.primary_key:
            keyed = keyed.where(F.col(key).isNotNull())
        return keyed.select(*[F.col(c.name).cast(spark_type(c.type)).alias(c.name) for c in table.columns])

    return transform


def with_row_hash(table: Table) -> Callable[[DataFrame], DataFrame]:
    """SHA-256 over every warehouse column: the merge rewrites a row only when this differs."""

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumn(ROW_HASH, F.sha2(F.concat_ws("\u0001", *[_hash_input(c) for c in table.columns]), 256))

    return transform


def with_run_id(run_id: str) -> Callable[[DataFrame], DataFrame]:
    def transform(df: DataFrame) -> DataFrame:
        return df.withColumn(RUN_ID, F.lit(run_id))

    return transform


def star_rows(table: Table, run_id: str) -> Callable[[DataFrame], DataFrame]:
    """The final shape of a gold star batch: conformed columns, then row_hash and run_id."""

    def transform(df: DataFrame) -> DataFrame:
        return df.transform(conformed_to(table)).transform(with_row_hash(table)).transform(with_run_id(run_id))

    return transform


def rows_for_export(table: Table, run_id: str) -> Callable[[DataFrame], DataFrame]:
    """A gold star table -> the rows `run_id` changed, with exactly the warehouse columns, order and types.

    A table without a run_id column (none of ours; an alerts table written elsewhere might lack it) is exported
    whole: the warehouse merges by primary key, so re-sending unchanged rows is harmless.
    """

    def transform(df: DataFrame) -> DataFrame:
        changed = df.where(F.col(RUN_ID) == F.lit(run_id)) if RUN_ID in df.columns else df
        return changed.transform(conformed_to(table))

    return transform
