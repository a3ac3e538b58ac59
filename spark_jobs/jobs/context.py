"""What every job receives: the session, the Delta engine, where things are, and which run this is."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from contracts.lake import LakeTable
from contracts.landing import DEFAULT_SOURCE, Window
from spark_jobs.delta_io import DeltaIO


@dataclass
class JobContext:
    spark: SparkSession
    delta: DeltaIO
    landing_uri: str
    lake_uri: str
    window: Window
    run_id: str
    source: str = DEFAULT_SOURCE
    pan_key: str = ""

    @property
    def window_start(self) -> datetime:
        return self.window.start

    @property
    def window_end(self) -> datetime:
        return self.window.end

    def table(self, table: LakeTable) -> str:
        """URI of a lake table, e.g. table(lake.SILVER_TRANSACTIONS)."""
        return table.uri(self.lake_uri)

    def read(self, table: LakeTable, schema: StructType | None = None) -> DataFrame:
        return self.delta.read(self.spark, self.table(table), schema)


def persisted_until(df: DataFrame, cleanup: ExitStack) -> DataFrame:
    """`df` cached until `cleanup` closes, so every cache a job makes is released, on failure too."""
    cleanup.callback(df.unpersist)
    return df.persist()
