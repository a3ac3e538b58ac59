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
    "stream": ("cardlake.cli.stream", "The real-time alerts stream: poll, land, score, alert (Ctrl-C stops)."),
    "worker": ("cardlake.cli.worker", "A Prefect worker running flow runs in its own process: Spark stays up."),
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
def maintain(
    retention_hours: Annotated[
        float, typer.Option(min=0, help="Delete unreferenced files older than this (Delta's default: 168)")
    ] = 168.0,
    compact: Annotated[bool, typer.Option(help="Rewrite small files into larger ones")] = True,
    vacuum: Annotated[bool, typer.Option(help="Delete files no recent table version needs")] = True,
) -> None:
    """Delta maintenance of every lake table: compaction, checkpoint and vacuum (what the weekly deployment runs)."""
    settings = settings_or_exit()
    try:
        from flows.maintenance import maintenance

        result = maintenance(retention_hours=retention_hours, compact=compact, vacuum=vacuum)
    except Exception as exc:
        fail(exc, settings)
    from cardlake.maintenance_report import print_maintenance

    print_maintenance(result)


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


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on")] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 to share it on the network)")] = "127.0.0.1",
) -> None:
    """Serve the dashboard over the warehouse's reporting views (read-only); Ctrl-C stops it."""
    import subprocess
    import sys

    from cardlake.config import ConfigError, warehouse_connection

    settings = settings_or_exit()
    try:
        warehouse_connection(settings)  # a missing block or a bad setting fails here, not in the browser
        import streamlit  # noqa: F401
    except ConfigError as problem:
        fail(problem, settings)
    except ImportError:
        typer.secho("cardlake: the dashboard needs its extra: uv sync --extra dashboard", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    from cardlake.dashboard import APP

    typer.echo(f"cardlake dashboard: open http://{host}:{port} (Ctrl-C stops it)")
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
               "--server.address", host, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
               "--theme.base", "light"]  # fmt: skip
    server = subprocess.Popen(command)
    try:
        code = server.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches both; wait for Streamlit to stop cleanly
        code = server.wait()
    raise typer.Exit(0 if code in (0, -2) else code)
