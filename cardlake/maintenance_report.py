"""What `cardlake maintain` prints: each table's data files before and after, and what was deleted."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from contracts.results import JobResult


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.1f}"


def maintenance_table(result: JobResult) -> Table:
    table = Table(title=f"Lake maintenance {result.run_id} ({result.duration_s:.0f} s)")
    for column in ("table", "files before", "files after", "compacted", "deleted", "MB before", "MB after"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for m in result.maintenance:
        table.add_row(
            m.table,
            f"{m.files_before:,}",
            f"{m.files_after:,}",
            f"{m.files_compacted:,}",
            f"{m.files_vacuumed:,}",
            _mb(m.bytes_before),
            _mb(m.bytes_after),
        )
    return table


def print_maintenance(result: JobResult, console: Console | None = None) -> None:
    console = console or Console()
    console.print(maintenance_table(result))
    for note in result.notes:
        console.print(note)
    # Compacted files stay on storage (older versions still name them) until a later vacuum passes the retention.
    if any(m.files_compacted and not m.files_vacuumed for m in result.maintenance):
        console.print("Replaced files are deleted by the first maintenance run after the retention has passed.")
