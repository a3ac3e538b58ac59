"""What every stage reports, in one shape: counts per table, so the run report needs no per-stage knowledge.

A Spark job writes its `JobResult` as JSON to `contracts.lake.job_result_uri(...)`; the runner reads it back.
Counts reconcile wherever records are judged: `read = accepted + rejected`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

JobStatus = Literal["ok", "skipped"]


@dataclass(frozen=True)
class TableCounts:
    """One table's figures for one stage of one run. `table` is a lake path (`silver/transactions`), a landing
    entity (`raw/transactions`) or a warehouse table (`fact_transaction`)."""

    table: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0  # accepted records that repeat a key of the same batch (the newest one is kept)
    note: str = ""  # what a number alone would not say, e.g. "12 pages" or "skipped: no model"

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.rejected


@dataclass(frozen=True)
class TableMaintenance:
    """What maintenance did to one Delta table: its data files before and after, and what was deleted."""

    table: str
    files_before: int
    files_after: int
    files_compacted: int = 0  # small files rewritten into fewer large ones (still on storage until vacuumed)
    files_written: int = 0
    files_vacuumed: int = 0  # unreferenced files older than the retention, deleted from storage
    bytes_before: int = 0
    bytes_after: int = 0


def counts_by_table(tables: Iterable[TableCounts]) -> dict[str, TableCounts]:
    return {t.table: t for t in tables}


@dataclass(frozen=True)
class JobOutcome:
    """What a job's `run` returns."""

    tables: tuple[TableCounts, ...] = ()
    status: JobStatus = "ok"
    notes: tuple[str, ...] = ()  # sentences for the report, e.g. why a job was skipped
    export_manifest_uri: str | None = None  # set by the export job: where the warehouse load starts
    model_version: str | None = None  # set by the score job: the model that scored this run
    maintenance: tuple[TableMaintenance, ...] = ()  # set by the maintain job, one entry per table it found

    def table(self, name: str) -> TableCounts:
        """The counts of table `name`; zeros if the job did not touch it."""
        return counts_by_table(self.tables).get(name, TableCounts(name))


@dataclass(frozen=True)
class JobResult(JobOutcome):
    """A job's outcome as the runner hands it back: which job, which run, when."""

    job: str = ""
    run_id: str = ""
    started_at: str = ""
    finished_at: str = ""
    duration_s: float = 0.0

    @classmethod
    def of(cls, outcome: JobOutcome, **context: Any) -> JobResult:
        return cls(**{f.name: getattr(outcome, f.name) for f in dataclasses.fields(JobOutcome)}, **context)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, default=str)

    @classmethod
    def from_json(cls, text: str) -> JobResult:
        body = json.loads(text)
        if not isinstance(body, dict) or "job" not in body:
            raise ValueError("a job result is a JSON object with at least a 'job' field")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in body.items() if k in known}
        values["tables"] = tuple(TableCounts(**t) for t in body.get("tables", ()))
        values["notes"] = tuple(body.get("notes", ()))
        values["maintenance"] = tuple(TableMaintenance(**m) for m in body.get("maintenance", ()))
        return cls(**values)


@dataclass(frozen=True)
class StageResult:
    """One stage of a run (extract, one Spark job, load) as the report shows it."""

    stage: str
    tables: tuple[TableCounts, ...] = ()
    notes: tuple[str, ...] = ()
    cached: bool = False  # the figures are those of an earlier run of the same inputs (nothing new to do)

    def table(self, name: str) -> TableCounts:
        return counts_by_table(self.tables).get(name, TableCounts(name))

    @classmethod
    def of_job(cls, result: JobResult, cached: bool = False) -> StageResult:
        return cls(result.job, result.tables, result.notes, cached)


@dataclass(frozen=True)
class SparkCost:
    """What a Spark application used, where the platform reports it (EMR Serverless); None locally."""

    vcpu_hours: float | None = None
    memory_gb_hours: float | None = None
    storage_gb_hours: float | None = None
    estimated_cost_usd: float | None = None


@dataclass(frozen=True)
class TransformResult:
    """The Spark stage of a run: each job's result, and where its export for the warehouse is."""

    jobs: tuple[JobResult, ...]
    job_run_id: str
    cached: bool = False
    duration_s: float | None = None
    log_uri: str | None = None
    cost: SparkCost = field(default_factory=SparkCost)

    def job(self, name: str) -> JobResult:
        for result in self.jobs:
            if result.job == name:
                return result
        raise KeyError(f"the Spark stage ran no {name!r} job (it ran {', '.join(r.job for r in self.jobs)})")

    @property
    def export_manifest_uri(self) -> str:
        uris = [r.export_manifest_uri for r in self.jobs if r.export_manifest_uri]
        if not uris:
            raise LookupError("the Spark stage wrote no export (its jobs did not include `export`)")
        return uris[-1]

    @property
    def stages(self) -> tuple[StageResult, ...]:
        return tuple(StageResult.of_job(result, self.cached) for result in self.jobs)
