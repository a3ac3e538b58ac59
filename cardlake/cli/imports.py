"""`cardlake import FILES...`: land exports as people have them, then run the lake and warehouse over them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cardlake.cli.errors import fail, settings_or_exit
from cardlake.importing import FileCounts, ImportRefused, plan_import
from contracts.landing import IMPORT_SOURCE

console = Console()


def _files_table(files: tuple[FileCounts, ...]) -> Table:
    table = Table(title="Imported files (records in = landed + refused)", title_justify="left")
    for column in ("file", "in", "landed", "refused", "new", "entities"):
        table.add_column(column, justify="left" if column in ("file", "entities") else "right", no_wrap=True)
    for f in files:
        entities = ", ".join(f"{entity} {count:,}" for entity, count in f.by_entity)
        table.add_row(f.file, f"{f.records:,}", f"{f.landed:,}", f"{f.refused:,}", f"{f.new:,}", entities)
    return table


def import_files(
    files: Annotated[list[Path], typer.Argument(help="Export files: .csv (pandas), .json (array or envelope), .jsonl")],
    run: Annotated[bool, typer.Option(help="Run the lake and the warehouse over the imported days")] = True,
    force: Annotated[bool, typer.Option(help="Run the Spark stage even when the landed content is unchanged")] = False,
    source_name: Annotated[str, typer.Option(help="Landing source name of the import")] = IMPORT_SOURCE,
    summary: Annotated[bool, typer.Option(help="Print the run summary at the end")] = True,
) -> None:
    """Import a Plutus export (legacy pluton rewards, transactions_view rows, or landing records).

    Every record of every file is checked before anything is written: a bad file stops the import with one
    line naming the file, the line and the field, and nothing is landed.
    """
    settings = settings_or_exit()
    try:
        plan_import(files)  # a bad file fails here, in a second, before Prefect or Spark start
    except ImportRefused as refused:
        console.print(_files_table(refused.files))
        for error in refused.errors:
            typer.secho(f"cardlake import: {error}", fg=typer.colors.RED, err=True)
        typer.secho("nothing was landed", err=True)
        raise typer.Exit(1) from None
    try:
        from flows.importing import import_export

        result = import_export([str(path) for path in files], run=run, force=force, source_name=source_name)
    except Exception as exc:
        fail(exc, settings)
    imported = result.imported
    console.print(_files_table(imported.files))
    span = imported.span
    written, unchanged = len(imported.windows_written), len(imported.windows_unchanged)
    console.print(
        f"source {imported.source!r}: {written} day window(s) landed with new content, {unchanged} unchanged"
        + (f"; the files cover {span}" if span else ""),
        highlight=False,
    )
    if result.summary is not None and summary:
        from cardlake.summary import print_summary

        print_summary(result.summary)
    elif span is not None and not run:
        console.print(
            "landed only: run the same command without --no-run to run the lake over these days "
            "(files that did not change land nothing again)",
            highlight=False,
        )
