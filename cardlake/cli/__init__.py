"""`cardlake`: the one command line. `cardlake run --start --end` runs the whole pipeline for a window.

Every command resolves its configuration first, so a bad setting fails in a second with one readable line,
before any Prefect server or Spark session starts.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Annotated

import typer

from cardlake.cli.errors import fail, settings_or_exit

app = typer.Typer(
    help="cardlake: card API -> raw landing -> Spark/Delta lake -> star-schema warehouse, run by Prefect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# One module per command group, beside this one; each exposes a typer `app`.
_SUBCOMMANDS = {
    "api": ("cardlake.cli.api", "The card API simulator."),
    "extract": ("cardlake.cli.extract", "Extraction and backfills from the card API."),
    "fraud": ("cardlake.cli.fraud", "Train and use the fraud model."),
    "blocks": ("cardlake.cli.blocks", "Prefect blocks: register types and create local defaults."),
    "warehouse": ("cardlake.cli.warehouse", "Query the warehouse and its reporting views."),
}
for _name, (_module, _help) in _SUBCOMMANDS.items():
    app.add_typer(importlib.import_module(_module).app, name=_name, help=_help)
# `cardlake import FILES...` is one command, not a group.
app.command(name="import")(importlib.import_module("cardlake.cli.imports").import_files)


def _parse_day(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: expected YYYY-MM-DD or an ISO time, got {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command()
def run(
    start: Annotated[str | None, typer.Option(help="Window start, YYYY-MM-DD (UTC). Default: yesterday")] = None,
    end: Annotated[str | None, typer.Option(help="Window end (exclusive). Default: today 00:00 UTC")] = None,
    force: Annotated[bool, typer.Option(help="Ignore cached results: extract and transform again")] = False,
    summary: Annotated[bool, typer.Option(help="Print the run summary at the end")] = True,
) -> None:
    """Run the whole pipeline (extract -> transform -> load -> report) for one window."""
    settings = settings_or_exit()
    window = (_parse_day(start, "--start") if start else None, _parse_day(end, "--end") if end else None)
    try:
        from flows.pipeline import pipeline, resolve_window

        resolve_window(*window)  # a reversed or half-given window fails before Prefect starts
        result = pipeline(start=window[0], end=window[1], force=force)
    except Exception as exc:  # every failure becomes a readable message
        fail(exc, settings)
    if summary:
        from cardlake.summary import print_summary

        print_summary(result)
    else:
        typer.echo(f"run {result.run_id} completed")


@app.command()
def backfill(
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="End day (exclusive), YYYY-MM-DD")],
    chunk_days: Annotated[int, typer.Option(min=1, help="Days per pipeline run")] = 7,
    max_concurrency: Annotated[int, typer.Option(min=1, help="Chunks extracting at once")] = 1,
    force: Annotated[bool, typer.Option(help="Ignore cached results")] = False,
) -> None:
    """Run the pipeline over a date range in chunks."""
    settings = settings_or_exit()
    try:
        from flows.backfill import backfill as backfill_flow
        from flows.backfill import chunks

        first, last = _parse_day(start, "--start"), _parse_day(end, "--end")
        chunks(first, last, chunk_days)
        results = backfill_flow(start=first, end=last, chunk_days=chunk_days, max_concurrency=max_concurrency,
                                force=force)  # fmt: skip
    except Exception as exc:
        fail(exc, settings)
    for chunk in results:
        loaded = sum(t.read for t in chunk.load.tables)
        typer.echo(f"{chunk.window.label}: completed, {loaded:,} warehouse rows loaded")


@app.command()
def alerts(
    minutes: Annotated[int, typer.Option(min=1, help="Look back this many minutes")] = 60,
) -> None:
    """Score the newest transactions and list open fraud alerts (what the frequent deployment runs)."""
    settings = settings_or_exit()
    try:
        from flows.alerts import alerts as alerts_flow

        result = alerts_flow(lookback_minutes=minutes)
    except Exception as exc:
        fail(exc, settings)
    typer.echo(f"{result.new_alerts} new alert(s); {result.open_alerts} open")
