"""What the lake records about runs, for the pipeline-health page: `silver/run_metrics` (one row per run, job and
table: read, accepted, quarantined, written) and `silver/quarantine` (every rejected record with its reason).

The warehouse holds no run log, so these two Delta tables are read directly (delta-rs, read-only: a snapshot
read takes no lock and never blocks a writer). Only the columns needed are read; the quarantined raw text is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from contracts import lake

RUN_METRICS_COLUMNS = (
    "run_id",
    "job",
    "entity",
    "records_read",
    "accepted",
    "quarantined",
    "duplicates",
    "rows_written",
    "recorded_at",
)
QUARANTINE_COLUMNS = ("entity", "reason", "run_id", "quarantined_at")


@dataclass(frozen=True)
class LakeRecords:
    """Run metrics and quarantine of the lake at `lake_root` (a folder or `s3://...`)."""

    lake_root: str

    def _read(self, table: lake.LakeTable, columns: tuple[str, ...]) -> pd.DataFrame:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            delta = DeltaTable(table.uri(self.lake_root))
        except TableNotFoundError:
            return pd.DataFrame(columns=list(columns))
        frame: pd.DataFrame = delta.to_pyarrow_table(columns=list(columns)).to_pandas()
        return frame

    def run_metrics(self) -> pd.DataFrame:
        return self._read(lake.SILVER_RUN_METRICS, RUN_METRICS_COLUMNS)

    def quarantine(self) -> pd.DataFrame:
        return self._read(lake.SILVER_QUARANTINE, QUARANTINE_COLUMNS)


def last_runs(metrics: pd.DataFrame, limit: int = 10) -> pd.DataFrame:
    """One row per run, newest first: when its last job recorded, which jobs ran, and its totals."""
    if metrics.empty:
        return pd.DataFrame(columns=["run_id", "finished_at", "jobs", "records_read", "quarantined", "rows_written"])
    runs = (
        metrics.groupby("run_id")
        .agg(
            finished_at=("recorded_at", "max"),
            jobs=("job", lambda jobs: ", ".join(sorted(set(jobs)))),
            records_read=("records_read", "sum"),
            quarantined=("quarantined", "sum"),
            rows_written=("rows_written", "sum"),
        )
        .reset_index()
        .sort_values("finished_at", ascending=False)
    )
    return runs.head(limit).reset_index(drop=True)


def rows_per_stage(metrics: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """The reconciliation of one run per job and table: read = accepted + quarantined."""
    chosen = metrics[metrics["run_id"] == run_id]
    columns = ["job", "entity", "records_read", "accepted", "quarantined", "duplicates", "rows_written"]
    return chosen[columns].sort_values(["job", "entity"]).reset_index(drop=True)


def quarantine_by_reason(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined records per entity and reason, most first."""
    if quarantine.empty:
        return pd.DataFrame(columns=["entity", "reason", "records", "last_seen"])
    grouped = (
        quarantine.groupby(["entity", "reason"])
        .agg(records=("reason", "size"), last_seen=("quarantined_at", "max"))
        .reset_index()
        .sort_values(["records", "entity", "reason"], ascending=[False, True, True])
    )
    return grouped.reset_index(drop=True)
