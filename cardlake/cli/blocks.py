"""`cardlake blocks ...`: register the block types and the local default documents."""

from __future__ import annotations

import typer

app = typer.Typer(help="Prefect blocks: configuration and secrets.", no_args_is_help=True)


@app.callback()
def blocks() -> None:
    """Prefect blocks: configuration and secrets (names in docs/contracts.md section 5)."""


@app.command("register")
def register(
    local_defaults: bool = typer.Option(
        True, "--local-defaults/--types-only", help="Also create the local default block documents."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing documents (never pan-token-key)."),
) -> None:
    """Register cardlake's block types and create the local default documents that are missing."""
    from cardlake.blocks_setup import register_blocks
    from cardlake.cli.errors import settings_or_exit

    settings = settings_or_exit()
    for name, action in register_blocks(settings, local_defaults=local_defaults, overwrite=overwrite).items():
        typer.echo(f"{name:40} {action}")
