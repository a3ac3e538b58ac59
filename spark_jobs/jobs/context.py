"""What every job receives: the session, the Delta engine, where things are, and which run this is."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from spark_jobs.delta_io import DeltaIO


@dataclass
class JobContext:
    spark: SparkSession
    delta: DeltaIO
    landing_uri: str
    lake_uri: str
    window_start: datetime
    window_end: datetime
    run_id: str
    pan_key: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def table(self, layer: str, name: str) -> str:
        """URI of a lake table, e.g. table("silver", "transactions")."""
        return f"{self.lake_uri.rstrip('/')}/{layer}/{name}"

    def read(self, layer: str, name: str, schema: StructType | None = None) -> DataFrame:
        return self.delta.read(self.spark, self.table(layer, name), schema)


def persisted_until(df: DataFrame, cleanup: ExitStack) -> DataFrame:
    """`df` cached until `cleanup` closes, so every cache a job makes is released, on failure too."""
    cleanup.callback(df.unpersist)
    return df.persist()
