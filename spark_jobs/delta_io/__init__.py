"""Delta I/O: `get_delta_io` picks the engine by name (settings / the job's --delta-engine)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from spark_jobs.delta_io.base import DeltaIO, DuplicateKeysError, MergeResult, MergeSpec

ENGINES = ("delta-rs", "delta-spark")


def get_delta_io(engine: str, spark: SparkSession) -> DeltaIO:
    if engine == "delta-rs":
        from spark_jobs.delta_io.delta_rs import DeltaRsIO

        return DeltaRsIO()
    if engine == "delta-spark":
        from spark_jobs.delta_io.delta_spark import DeltaSparkIO

        return DeltaSparkIO(spark)
    raise ValueError(f"unknown Delta engine {engine!r}; choose one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "DeltaIO", "DuplicateKeysError", "MergeResult", "MergeSpec", "get_delta_io"]
