"""`cardlake blocks ...`: the lead mounts this app on the main CLI."""

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
    from blocks.register import register_blocks

    for name, action in register_blocks(local_defaults=local_defaults, overwrite=overwrite).items():
        typer.echo(f"{name:40} {action}")


if __name__ == "__main__":
    app()
