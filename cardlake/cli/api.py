"""`cardlake api serve`: run the card API simulator on loopback (stops cleanly on SIGINT/SIGTERM)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from cardapi.config import SimulatorConfig

app = typer.Typer(help="The card API simulator (Plutus-shaped, local only).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """The card API simulator (Plutus-shaped, local only)."""
    # a callback keeps `serve` a sub-command (`cardlake api serve`) although it is the only one


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (keep loopback)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 = any free port)")] = 8765,
    seed: Annotated[int, typer.Option(help="Seed of the generated data set")] = 42,
    start: Annotated[str, typer.Option(help="First transaction date, YYYY-MM-DD")] = "2024-01-01",
    end: Annotated[str, typer.Option(help="End of the transaction dates (exclusive), YYYY-MM-DD")] = "2026-01-01",
    cards: Annotated[int, typer.Option(help="Number of cards")] = 1000,
    token_ttl: Annotated[int, typer.Option(help="id_token lifetime in seconds")] = 300,
    replay_kaggle: Annotated[
        Path | None, typer.Option(help="Serve the rows of a Kaggle-format CSV instead of generated data")
    ] = None,
    replay_plutus: Annotated[
        Path | None, typer.Option(help="Serve a Plutus export folder (JSON lines) instead of generated data")
    ] = None,
    fault_seed: Annotated[int, typer.Option(help="Seed of the injected faults")] = 0,
    fault_429_rate: Annotated[float, typer.Option(help="Share of data requests answered 429")] = 0.0,
    retry_after_seconds: Annotated[float, typer.Option(help="Retry-After sent with 429")] = 1.0,
    fault_5xx_rate: Annotated[float, typer.Option(help="Share of data requests answered 503")] = 0.0,
    slow_seconds: Annotated[float, typer.Option(help="Delay of a slow response")] = 0.0,
    slow_rate: Annotated[float, typer.Option(help="Share of slow responses")] = 0.0,
    fault_truncated_rate: Annotated[float, typer.Option(help="Share of pages with a truncated JSON body")] = 0.0,
    fault_duplicate_rate: Annotated[
        float, typer.Option(help="Share of pages repeating the previous page's last record")
    ] = 0.0,
    malformed_rate: Annotated[float, typer.Option(help="Extra malformed records per good record")] = 0.0,
    live: Annotated[
        bool,
        typer.Option(help="Live mode: the statement fills as the wall clock passes (createdAt = when it appeared)"),
    ] = False,
    rate: Annotated[
        float, typer.Option(help="Live mode: transactions per second (a Kaggle replay is compressed to this rate)")
    ] = 20.0,
) -> None:
    """Serve the simulated card API until interrupted."""
    try:
        config = SimulatorConfig(
            seed=seed,
            start=_date(start),
            end=_date(end),
            n_cards=cards,
            token_ttl_seconds=token_ttl,
            replay_kaggle=replay_kaggle,
            replay_plutus=replay_plutus,
            fault_seed=fault_seed,
            fault_429_rate=fault_429_rate,
            retry_after_seconds=retry_after_seconds,
            fault_5xx_rate=fault_5xx_rate,
            slow_seconds=slow_seconds,
            slow_rate=slow_rate,
            fault_truncated_rate=fault_truncated_rate,
            fault_duplicate_rate=fault_duplicate_rate,
            malformed_rate=malformed_rate,
        )
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(errors) from exc
    for path in (replay_kaggle, replay_plutus):
        if path is not None and not path.exists():
            raise typer.BadParameter(f"replay input not found: {path}")

    if rate <= 0:
        raise typer.BadParameter(f"--rate must be positive, got {rate}")
    from cardapi.app import create_app
    from cardapi.live import live_transactions
    from cardapi.server import serve_forever

    hook = (lambda sim: live_transactions(sim, rate)) if live else None
    try:
        api = create_app(config, hook)  # validates and indexes replay input before announcing anything
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot start the card API simulator: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        serve_forever(
            config,
            host,
            port,
            app=api,
            announce=lambda url: typer.echo(
                f"card API simulator on {url} (demo account, local only: {config.email})"
                + (f"; live: {rate:g} transactions/s from now on" if live else "")
            ),
        )
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo("card API simulator stopped")


if __name__ == "__main__":
    app()
