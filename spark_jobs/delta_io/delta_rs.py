"""delta-rs engine: Spark computes and stages Parquet, delta-rs commits to the Delta log.

A new unpartitioned table skips the staging: Spark's Parquet is written in place and delta-rs commits a log
over it. Everything else (merges, new partitioned tables, overwrites) is staged and written by delta-rs.

Used wherever the delta-spark jars are absent (no Maven here). Spark reads the table through its active files,
which is exact while the table has no deletion vectors or column mapping; `read` refuses tables that have them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute
import pyarrow.dataset as ds
from deltalake import DeltaTable, convert_to_deltalake, write_deltalake
from pyarrow import fs as pafs
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StructType

from spark_jobs.delta_io.base import (
    Compaction,
    DataFiles,
    DeltaIO,
    DuplicateKeysError,
    MergeResult,
    MergeSpec,
)

# Reader features that make "the active files" differ from the table's rows.
_UNSUPPORTED_READER_FEATURES = {"deletionVectors", "columnMapping"}
# Object stores whose Delta commits need a log store that every writer shares (docs/adr/0015).
_S3_SCHEMES = ("s3://", "s3a://", "s3n://")


class UnsafeDeltaWriteError(RuntimeError):
    """A delta-rs write that could lose commits next to the lake's delta-spark writers."""


def check_writable(table_uri: str) -> None:
    """delta-rs never writes an S3 lake: there delta-spark commits through S3DynamoDBLogStore, and delta-rs 1.x
    (which dropped its DynamoDB log store) commits with S3 conditional writes the DynamoDB store does not see."""
    if table_uri.startswith(_S3_SCHEMES):
        raise UnsafeDeltaWriteError(
            f"delta-rs may not write {table_uri}: an S3 lake is written by delta-spark with S3DynamoDBLogStore, "
            "whose commits delta-rs cannot see (docs/adr/0015); set CARDLAKE_DELTA_ENGINE=delta-spark"
        )


class DeltaRsIO(DeltaIO):
    name = "delta-rs"

    def __init__(self, storage_options: dict[str, str] | None = None) -> None:
        self.storage_options = storage_options or None

    # -- reading ------------------------------------------------------------------------------------------
    def exists(self, table_uri: str) -> bool:
        return DeltaTable.is_deltatable(table_uri, storage_options=self.storage_options)

    def _table(self, table_uri: str) -> DeltaTable:
        return DeltaTable(table_uri, storage_options=self.storage_options)

    def read(self, spark: SparkSession, table_uri: str, schema: StructType | None = None) -> DataFrame:
        if not self.exists(table_uri):
            if schema is None:
                raise FileNotFoundError(f"no Delta table at {table_uri}")
            return spark.createDataFrame([], schema)
        table = self._table(table_uri)
        features = set(table.protocol().reader_features or [])
        if features & _UNSUPPORTED_READER_FEATURES:
            raise RuntimeError(
                f"{table_uri} uses {sorted(features & _UNSUPPORTED_READER_FEATURES)}; reading its active files "
                "would be wrong. Read it with the delta-spark engine."
            )
        files = table.file_uris()
        table_schema = from_arrow_schema(pa.schema(table.schema().to_arrow()))
        if not files:
            return spark.createDataFrame([], schema or table_schema)
        df = spark.read.schema(table_schema).option("basePath", table_uri).parquet(*files)
        return df.select(*[f.name for f in table_schema.fields])

    # -- writing ------------------------------------------------------------------------------------------
    def _stage(self, df: DataFrame, table_uri: str) -> str:
        """Write the batch as Parquet beside the table, so delta-rs streams it without collecting to the driver."""
        staging = f"{table_uri.rstrip('/')}_staging/{uuid.uuid4().hex}"
        _write_parquet(df, staging)
        return staging

    def _delete_dir(self, uri: str) -> None:
        filesystem, path = pafs.FileSystem.from_uri(uri)
        with contextlib.suppress(FileNotFoundError):
            filesystem.delete_dir(path)

    def _cleanup(self, staging: str) -> None:
        """Remove the staged batch, and the staging folder once it is empty (local folders and S3 alike)."""
        self._delete_dir(staging)
        filesystem, path = pafs.FileSystem.from_uri(staging)
        parent = path.rsplit("/", 1)[0]
        if not filesystem.get_file_info(pafs.FileSelector(parent, allow_not_found=True)):
            with contextlib.suppress(FileNotFoundError, OSError):
                filesystem.delete_dir(parent)

    def _create(self, batch: DataFrame, table_uri: str, spec: MergeSpec) -> MergeResult:
        """A new unpartitioned table: Spark writes the batch's Parquet in place and delta-rs commits a log over
        those files (CONVERT), so it is written once instead of staged and rewritten (gold's first load, 1.9M
        rows: 4 s less).

        Partitioned tables are still staged: writing their partitions from Spark costs more than the rewrite
        saves, whether Spark sorts the batch by partition (+16 s at 1.9M transactions) or keeps a file open per
        partition (+11 s). Files without a committed log (an empty batch, refused keys, a failed commit) are
        removed again.
        """
        _write_parquet(batch, table_uri)
        committed = False
        try:
            dataset = ds.dataset(table_uri, format="parquet")
            rows = dataset.count_rows()
            if rows == 0:
                return MergeResult(table_uri, 0)
            if spec.source_unique:
                _check_unique_keys(dataset, table_uri, spec, rows)
            convert_to_deltalake(table_uri, storage_options=self.storage_options)
            committed = True
            return MergeResult(table_uri, rows, inserted=rows, version=self.version(table_uri))
        finally:
            if not committed:
                self._delete_dir(table_uri)

    def merge(self, df: DataFrame, table_uri: str, spec: MergeSpec) -> MergeResult:
        check_writable(table_uri)
        batch = spec.latest_per_key(df)
        if not spec.partition_by and not self.exists(table_uri):
            return self._create(batch, table_uri, spec)
        staging = self._stage(batch, table_uri)
        try:
            dataset = ds.dataset(staging, format="parquet")
            rows = dataset.count_rows()
            if rows == 0:
                return MergeResult(table_uri, 0, version=self.version(table_uri))
            if spec.source_unique:
                _check_unique_keys(dataset, table_uri, spec, rows)
            if not self.exists(table_uri):
                write_deltalake(
                    table_uri,
                    dataset.scanner().to_reader(),
                    partition_by=list(spec.partition_by) or None,
                    mode="error",
                    storage_options=self.storage_options,
                )
                return MergeResult(table_uri, rows, inserted=rows, version=self.version(table_uri))
            values = _staged_partition_values(dataset, spec)
            metrics = (
                self._table(table_uri)
                .merge(
                    source=dataset.scanner().to_reader(),
                    predicate=spec.merge_condition(values),
                    source_alias="s",
                    target_alias="t",
                )
                .when_matched_update_all(predicate=spec.update_condition())
                .when_not_matched_insert_all()
                .execute()
            )
            return MergeResult(
                table_uri,
                rows,
                inserted=int(metrics.get("num_target_rows_inserted", 0)),
                updated=int(metrics.get("num_target_rows_updated", 0)),
                version=self.version(table_uri),
                extra={"files_added": metrics.get("num_target_files_added")},
            )
        finally:
            self._cleanup(staging)

    def create_if_absent(self, table_uri: str, schema: StructType, partition_by: Sequence[str] = ()) -> bool:
        check_writable(table_uri)
        if self.exists(table_uri):
            return False
        # Arrow types as Spark's Parquet writes them (timestamps in microseconds, UTC), so later merges of
        # Spark-staged batches match the table's schema.
        write_deltalake(
            table_uri,
            pa.Table.from_batches([], schema=to_arrow_schema(schema)),
            partition_by=list(partition_by) or None,
            mode="error",
            storage_options=self.storage_options,
        )
        return True

    # -- maintenance --------------------------------------------------------------------------------------
    def data_files(self, table_uri: str) -> DataFiles:
        sizes = pa.table(self._table(table_uri).get_add_actions(flatten=True)).column("size_bytes")
        return DataFiles(len(sizes), int(pa.compute.sum(sizes).as_py() or 0))

    def compact(self, table_uri: str) -> Compaction:
        check_writable(table_uri)
        table = self._table(table_uri)
        metrics = table.optimize.compact()
        # A checkpoint too: each daily merge adds a log entry, and a reader replays every entry since the last one.
        table.create_checkpoint()
        return Compaction(int(metrics.get("numFilesRemoved", 0)), int(metrics.get("numFilesAdded", 0)))

    def vacuum(self, table_uri: str, retention_hours: int) -> int:
        check_writable(table_uri)
        deleted = self._table(table_uri).vacuum(
            retention_hours=retention_hours,
            dry_run=False,
            # delta-rs refuses less than the table's 7-day default unless told; the caller chose the retention.
            enforce_retention_duration=False,
        )
        return len(deleted)

    def version(self, table_uri: str) -> int | None:
        return self._table(table_uri).version() if self.exists(table_uri) else None


def _write_parquet(df: DataFrame, uri: str) -> None:
    """Spark's Parquet as delta-rs reads it: timestamps as microseconds (Spark's default INT96 is legacy)."""
    df.sparkSession.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    df.write.mode("overwrite").parquet(uri)


def _check_unique_keys(dataset: ds.Dataset, table_uri: str, spec: MergeSpec, rows: int) -> None:
    """Arrow counts the staged keys: a second of work where a Spark dedup would shuffle every full row."""
    keys = dataset.to_table(columns=list(spec.keys)).group_by(list(spec.keys)).aggregate([])
    if keys.num_rows != rows:
        raise DuplicateKeysError(table_uri, spec.keys, rows, keys.num_rows)


def _staged_partition_values(dataset: ds.Dataset, spec: MergeSpec) -> dict[str, list[Any]]:
    """The batch's partition values, read from the staged Parquet: no second Spark pass over the batch."""
    if not spec.partition_by:
        return {}
    table = dataset.to_table(columns=list(spec.partition_by))
    return {c: table.column(c).unique().to_pylist() for c in spec.partition_by}
