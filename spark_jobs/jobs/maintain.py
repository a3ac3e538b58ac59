"""`--job maintain`: compact every lake table's small files, then delete the files no recent version needs.

Daily and alert runs MERGE small batches, and each merge rewrites the files it touches, so a table collects
many small files and a long log; every later read and merge pays for them. This job, run on its own schedule
(the `maintenance` deployment), holds the table contents fixed: rows before = rows after, only the files change.
Tables that do not exist yet are skipped. The window of the request only names the run.
"""

from __future__ import annotations

from contracts import lake
from contracts.jobs import MaintainOptions
from contracts.results import JobOutcome, TableCounts, TableMaintenance
from contracts.tables import STAR_TABLES
from spark_jobs.jobs.context import JobContext

LAKE_TABLES: tuple[lake.LakeTable, ...] = (
    *lake.NAMED_TABLES,
    *(lake.gold_star_table(table.name) for table in STAR_TABLES),
)


def maintain_table(ctx: JobContext, table: lake.LakeTable, options: MaintainOptions) -> TableMaintenance:
    uri = ctx.table(table)
    before = ctx.delta.data_files(uri)
    compaction = ctx.delta.compact(uri) if options.compact else None
    vacuumed = ctx.delta.vacuum(uri, int(options.retention_hours)) if options.vacuum else 0
    after = ctx.delta.data_files(uri)
    return TableMaintenance(
        table=table.path,
        files_before=before.count,
        files_after=after.count,
        files_compacted=compaction.files_removed if compaction else 0,
        files_written=compaction.files_added if compaction else 0,
        files_vacuumed=vacuumed,
        bytes_before=before.bytes,
        bytes_after=after.bytes,
    )


def run(ctx: JobContext, options: MaintainOptions) -> JobOutcome:
    done = tuple(maintain_table(ctx, t, options) for t in LAKE_TABLES if ctx.delta.exists(ctx.table(t)))
    counts = tuple(
        TableCounts(m.table, note=f"{m.files_before} -> {m.files_after} files, {m.files_vacuumed} deleted")
        for m in done
    )
    compacted = sum(m.files_compacted for m in done)
    notes = (
        f"{len(done)} table(s): {compacted} small files compacted into {sum(m.files_written for m in done)}, "
        f"{sum(m.files_vacuumed for m in done)} unreferenced files older than {options.retention_hours:g} h deleted",
    )
    return JobOutcome(counts, notes=notes, maintenance=done)
