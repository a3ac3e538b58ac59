"""Run metrics: every job's reconciliation lands in `silver/run_metrics` and goes back to the flow."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from contracts import lake
from contracts.results import TableCounts
from spark_jobs import schemas
from spark_jobs.delta_io import MergeSpec
from spark_jobs.jobs.context import JobContext

RUN_METRICS_SPEC = MergeSpec(keys=("run_id", "job", "entity"), version_column="recorded_at", tiebreak_column=None)


def record_metrics(ctx: JobContext, job: str, tables: Iterable[TableCounts]) -> None:
    """One row per (run, job, table); a re-run of the same run replaces its rows."""
    now = datetime.now(UTC)
    rows = [(ctx.run_id, job, t.table, t.read, t.accepted, t.rejected, t.duplicates, t.written, now) for t in tables]
    df = ctx.spark.createDataFrame(rows, schemas.RUN_METRICS)
    ctx.delta.merge(df, ctx.table(lake.SILVER_RUN_METRICS), RUN_METRICS_SPEC)
