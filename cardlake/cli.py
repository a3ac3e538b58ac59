"""`cardlake`: the one command line. `cardlake run --start --end` runs the whole pipeline for a window."""

from __future__ import annotations

import importlib
import os
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from cardlake.summary import print_summary

app = typer.Typer(
    help="cardlake: card API -> raw landing -> Spark/Delta lake -> star-schema warehouse, run by Prefect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Sub-commands live beside the code they drive; each module exposes a typer `app`.
_SUBCOMMANDS = {
    "api": ("cardapi.cli", "The card API simulator."),
    "extract": ("cardlake.source.cli", "Extraction and backfills from the card API."),
    "fraud": ("cardlake.fraud_cli", "Train and use the fraud model."),
    "blocks": ("blocks.cli", "Prefect blocks: register types and create local defaults."),
    "warehouse": ("cardlake.warehouse_cli", "Query the warehouse and its reporting views."),
}
for _name, (_module, _help) in _SUBCOMMANDS.items():
    app.add_typer(importlib.import_module(_module).app, name=_name, help=_help)


def _parse_day(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: expected YYYY-MM-DD or an ISO time, got {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _fail(exc: BaseException) -> None:
    """A clear one-paragraph error for the user; the traceback only with CARDLAKE_DEBUG=1."""
    if os.environ.get("CARDLAKE_DEBUG"):
        raise exc
    typer.secho(f"cardlake: {type(exc).__name__}: {exc}", fg=typer.colors.RED, err=True)
    typer.secho("(set CARDLAKE_DEBUG=1 for the full traceback)", err=True)
    raise typer.Exit(1)


@app.command()
def run(
    start: Annotated[str | None, typer.Option(help="Window start, YYYY-MM-DD (UTC). Default: yesterday")] = None,
    end: Annotated[str | None, typer.Option(help="Window end (exclusive). Default: today 00:00 UTC")] = None,
    force: Annotated[bool, typer.Option(help="Ignore cached results: extract and transform again")] = False,
    summary: Annotated[bool, typer.Option(help="Print the run summary at the end")] = True,
) -> None:
    """Run the whole pipeline (extract -> transform -> load -> report) for one window."""
    from flows.pipeline import pipeline

    window = (_parse_day(start, "--start") if start else None, _parse_day(end, "--end") if end else None)
    try:
        result = pipeline(start=window[0], end=window[1], force=force)
    except Exception as exc:  # every failure becomes a readable message
        _fail(exc)
        return
    if summary:
        print_summary(result)
    else:
        typer.echo(f"run {result['run_id']} completed")


@app.command()
def backfill(
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="End day (exclusive), YYYY-MM-DD")],
    chunk_days: Annotated[int, typer.Option(help="Days per pipeline run")] = 7,
    max_concurrency: Annotated[int, typer.Option(help="Chunks running at once")] = 1,
    force: Annotated[bool, typer.Option(help="Ignore cached results")] = False,
) -> None:
    """Run the pipeline over a date range in chunks."""
    from flows.backfill import backfill as backfill_flow

    try:
        results = backfill_flow(
            start=_parse_day(start, "--start"),
            end=_parse_day(end, "--end"),
            chunk_days=chunk_days,
            max_concurrency=max_concurrency,
            force=force,
        )
    except Exception as exc:
        _fail(exc)
        return
    for chunk in results:
        typer.echo(f"{chunk['window']}: {chunk['status']}")


@app.command()
def alerts(
    minutes: Annotated[int, typer.Option(help="Look back this many minutes")] = 60,
) -> None:
    """Score the newest transactions and list open fraud alerts (what the frequent deployment runs)."""
    from flows.alerts import alerts as alerts_flow

    try:
        result: dict[str, Any] = alerts_flow(lookback_minutes=minutes)
    except Exception as exc:
        _fail(exc)
        return
    typer.echo(f"{result['new_alerts']} new alert(s); {result['open_alerts']} open")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
