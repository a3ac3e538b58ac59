"""`cardlake warehouse ...`: look at what the pipeline loaded, through the same interface it loads with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Query the warehouse and its reporting views.", no_args_is_help=True)


@app.command()
def query(sql: Annotated[str, typer.Argument(help="A read query, e.g. SELECT * FROM rpt_top_categories")]) -> None:
    """Run a read query against the configured warehouse, read-only, and print the rows under their columns."""
    from cardlake.cli.errors import settings_or_exit
    from cardlake.config import warehouse_connection
    from cardlake.warehouse import get_warehouse

    connection = warehouse_connection(settings_or_exit())
    try:
        # Read-only, as a BI user connects: a query typed here cannot change the warehouse.
        with get_warehouse(connection, read_only=True) as warehouse:
            columns, rows = warehouse.query_with_columns(sql)
    except Exception as exc:  # a bad query or a missing warehouse gets a message, not a traceback
        typer.secho(f"query failed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    table = Table(*columns) if columns else Table(show_header=False)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console().print(table)
    typer.echo(f"{len(rows)} row(s)")


@app.command()
def counts() -> None:
    """Rows per star-schema table."""
    from cardlake.cli.errors import settings_or_exit
    from cardlake.config import warehouse_connection
    from cardlake.warehouse import get_warehouse

    try:
        with get_warehouse(warehouse_connection(settings_or_exit()), read_only=True) as warehouse:
            found = warehouse.counts()
    except Exception as exc:
        typer.secho(f"counts failed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    for name, count in found.items():
        typer.echo(f"{name:20s} {count:>12,}")
