"""How every command fails: one readable line with what to do, the traceback only with CARDLAKE_DEBUG=1."""

from __future__ import annotations

from typing import NoReturn

import typer

from cardlake.config import ConfigError, load_settings
from cardlake.settings import Settings


def settings_or_exit() -> Settings:
    """The settings, checked before anything slow starts."""
    try:
        return load_settings()
    except ConfigError as problem:
        typer.secho(f"cardlake: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def fail(exc: BaseException, settings: Settings) -> NoReturn:
    if settings.debug:
        raise exc
    typer.secho(f"cardlake: {type(exc).__name__}: {exc}", fg=typer.colors.RED, err=True)
    typer.secho("(set CARDLAKE_DEBUG=1 for the full traceback)", err=True)
    raise typer.Exit(1)
