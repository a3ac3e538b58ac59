"""delta-spark engine: the Delta protocol inside Spark, where its jars are on the classpath (EMR ships them)."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from spark_jobs.delta_io.base import (
    Compaction,
    DataFiles,
    DeltaIO,
    DuplicateKeysError,
    MergeResult,
    MergeSpec,
    distinct_partition_values,
)


def delta_spark_available(spark: SparkSession) -> bool:
    """True when the io.delta classes can be loaded by the session's JVM."""
    try:
        spark.sparkContext._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")  # type: ignore[union-attr]
    except Exception:
        return False
    return True


class DeltaSparkIO(DeltaIO):
    name = "delta-spark"

    def __init__(self, spark: SparkSession) -> None:
        if not delta_spark_available(spark):
            raise RuntimeError(
                "the delta-spark engine needs the Delta jars on the classpath (spark.jars or the EMR release's "
                "/usr/share/aws/delta/lib); use --delta-engine delta-rs where they are absent"
            )
        self.spark = spark

    def _delta_table(self, table_uri: str):
        from delta.tables import DeltaTable

        return DeltaTable.forPath(self.spark, table_uri)

    def exists(self, table_uri: str) -> bool:
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(self.spark, table_uri))

    def read(self, spark: SparkSession, table_uri: str, schema: StructType | None = None) -> DataFrame:
        if not self.exists(table_uri):
            if schema is None:
                raise FileNotFoundError(f"no Delta table at {table_uri}")
            return spark.createDataFrame([], schema)
        return spark.read.format("delta").load(table_uri)

    def merge(self, df: DataFrame, table_uri: str, spec: MergeSpec) -> MergeResult:
        batch = spec.latest_per_key(df).persist()
        try:
            rows = batch.count()
            if rows == 0:
                return MergeResult(table_uri, 0, version=self.version(table_uri))
            if spec.source_unique:
                distinct = batch.select(*spec.keys).distinct().count()
                if distinct != rows:
                    raise DuplicateKeysError(table_uri, spec.keys, rows, distinct)
            if not self.exists(table_uri):
                batch.write.format("delta").partitionBy(*spec.partition_by).save(table_uri)
                return MergeResult(table_uri, rows, inserted=rows, version=self.version(table_uri))
            values = distinct_partition_values(batch, spec)
            (
                self._delta_table(table_uri)
                .alias("t")
                .merge(batch.alias("s"), spec.merge_condition(values))
                .whenMatchedUpdateAll(condition=spec.update_condition())
                .whenNotMatchedInsertAll()
                .execute()
            )
            metrics = self._delta_table(table_uri).history(1).collect()[0]["operationMetrics"] or {}
            return MergeResult(
                table_uri,
                rows,
                inserted=int(metrics.get("numTargetRowsInserted", 0)),
                updated=int(metrics.get("numTargetRowsUpdated", 0)),
                version=self.version(table_uri),
            )
        finally:
            batch.unpersist()

    def create_if_absent(self, table_uri: str, schema: StructType, partition_by: Sequence[str] = ()) -> bool:
        if self.exists(table_uri):
            return False
        empty = self.spark.createDataFrame([], schema)
        empty.write.format("delta").mode("errorifexists").partitionBy(*partition_by).save(table_uri)
        return True

    def data_files(self, table_uri: str) -> DataFiles:
        detail = self._delta_table(table_uri).detail().collect()[0]
        return DataFiles(int(detail["numFiles"] or 0), int(detail["sizeInBytes"] or 0))

    def compact(self, table_uri: str) -> Compaction:
        metrics = self._delta_table(table_uri).optimize().executeCompaction().collect()[0]["metrics"]
        return Compaction(int(metrics["numFilesRemoved"]), int(metrics["numFilesAdded"]))

    def vacuum(self, table_uri: str, retention_hours: int) -> int:
        # Delta refuses less than its 7-day default unless this check is off; the caller chose the retention.
        check = "spark.databricks.delta.retentionDurationCheck.enabled"
        before = str(self.spark.conf.get(check, "true"))
        self.spark.conf.set(check, "false")
        try:
            self._delta_table(table_uri).vacuum(float(retention_hours))
        finally:
            self.spark.conf.set(check, before)
        # Delta logs each VACUUM as a START and an END commit; the END one counts what was deleted.
        history = self._delta_table(table_uri).history(1).collect()
        metrics = (history[0]["operationMetrics"] or {}) if history else {}
        return int(metrics.get("numDeletedFiles", 0))

    def version(self, table_uri: str) -> int | None:
        if not self.exists(table_uri):
            return None
        return int(self._delta_table(table_uri).history(1).collect()[0]["version"])
