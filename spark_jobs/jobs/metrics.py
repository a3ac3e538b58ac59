"""Run metrics: every job's reconciliation lands in `silver/run_metrics` and goes back to the flow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from spark_jobs import schemas
from spark_jobs.delta_io import MergeSpec
from spark_jobs.jobs.context import JobContext

RUN_METRICS_SPEC = MergeSpec(keys=("run_id", "job", "entity"), version_column="recorded_at", tiebreak_column=None)
_COUNTERS = ("records_read", "accepted", "quarantined", "duplicates")


def record_metrics(ctx: JobContext, job: str, per_entity: dict[str, dict[str, Any]]) -> None:
    """One row per (run, job, entity); a re-run of the same run replaces its rows."""
    now = datetime.now(UTC)
    rows = []
    for entity, metrics in per_entity.items():
        written = int(metrics.get("inserted", 0)) + int(metrics.get("updated", 0))
        rows.append((ctx.run_id, job, entity, *[int(metrics.get(c, 0)) for c in _COUNTERS], written, now))
    df = ctx.spark.createDataFrame(rows, schemas.RUN_METRICS)
    ctx.delta.merge(df, ctx.table("silver", "run_metrics"), RUN_METRICS_SPEC)
