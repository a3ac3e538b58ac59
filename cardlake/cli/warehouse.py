"""`cardlake warehouse ...`: look at what the pipeline loaded, through the same interface it loads with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Query the warehouse and its reporting views.", no_args_is_help=True)


@app.command()
def query(sql: Annotated[str, typer.Argument(help="A read query, e.g. SELECT * FROM rpt_top_categories")]) -> None:
    """Run a read query against the configured warehouse and print the rows."""
    from cardlake.cli.errors import settings_or_exit
    from cardlake.config import warehouse_connection
    from cardlake.warehouse import get_warehouse

    try:
        with get_warehouse(warehouse_connection(settings_or_exit())) as warehouse:
            rows = warehouse.query(sql)
    except Exception as exc:  # a bad query gets a message, not a traceback
        typer.secho(f"query failed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    table = Table(show_header=False)
    for row in rows:
        table.add_row(*[str(v) for v in row])
    Console().print(table)
    typer.echo(f"{len(rows)} row(s)")


@app.command()
def counts() -> None:
    """Rows per star-schema table."""
    from cardlake.cli.errors import settings_or_exit
    from cardlake.config import warehouse_connection
    from cardlake.warehouse import get_warehouse

    with get_warehouse(warehouse_connection(settings_or_exit())) as warehouse:
        for name, count in warehouse.counts().items():
            typer.echo(f"{name:20s} {count:>12,}")
