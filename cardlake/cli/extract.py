"""`cardlake extract ...`: backfills from the card API into the landing zone, with progress on the terminal."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from cardlake.cli.errors import settings_or_exit
from cardlake.config import resolve_config
from cardlake.landing import get_landing_zone
from cardlake.source.client import CardApiClient, Page
from cardlake.source.errors import CardApiError
from cardlake.source.extraction import Extractor, chunk_windows, read_watermark
from contracts.landing import ENTITIES, check_entity, iso

app = typer.Typer(help="Extract the card API into the landing zone.", no_args_is_help=True)
console = Console()
_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]


@app.command()
def backfill(
    start: Annotated[datetime, typer.Option(formats=_DATE_FORMATS, help="Window start (UTC), inclusive.")],
    end: Annotated[datetime, typer.Option(formats=_DATE_FORMATS, help="Window end (UTC), exclusive.")],
    chunk_days: Annotated[float, typer.Option(min=0.01, help="Days per chunk; each has its own manifest.")] = 1,
    entity: Annotated[list[str] | None, typer.Option(help="Entity to extract (repeatable); default all.")] = None,
) -> None:
    """Extract [start, end) in independent chunks, advancing each entity's watermark chunk by chunk."""
    try:
        entities = [check_entity(name) for name in entity or ENTITIES]
    except ValueError as problem:
        raise typer.BadParameter(str(problem)) from None
    windows = chunk_windows(start, end, timedelta(days=chunk_days))
    if not windows:
        raise typer.BadParameter("--end must be after --start")
    config = resolve_config(settings_or_exit(), with_pan_key=False)
    settings = config.settings
    zone = get_landing_zone(config)
    totals = {"pages": 0, "records": 0}
    began = time.monotonic()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[pages]} pages  {task.fields[records]:,} records  {task.fields[rate]:,.0f} rec/s"),
        TimeElapsedColumn(),
    )
    try:
        with (
            CardApiClient(config.api, rate_feed=config.settings.source != "card-api") as client,
            Progress(*columns, console=console) as bar,
        ):
            extractor = Extractor(client, zone, source=settings.source_name, page_size=settings.api_page_size)
            for name in entities:
                row = bar.add_task(name, total=len(windows), pages=0, records=0, rate=0.0)
                # Each row shows its own entity's figures; the closing line gives the totals.
                own = {"pages": 0, "records": 0, "began": time.monotonic()}

                def on_page(page: Page, _key: str, row: TaskID = row, own: dict[str, float] = own) -> None:
                    own["pages"] += 1
                    own["records"] += page.record_count
                    totals["pages"] += 1
                    totals["records"] += page.record_count
                    rate = own["records"] / max(time.monotonic() - own["began"], 1e-6)
                    bar.update(row, pages=int(own["pages"]), records=int(own["records"]), rate=rate)

                for _ in extractor.backfill(name, start, end, timedelta(days=chunk_days), on_page=on_page):
                    bar.advance(row)
    except CardApiError as exc:
        console.print(f"[red]extraction failed:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    elapsed = time.monotonic() - began
    console.print(
        f"landed {totals['records']:,} records in {totals['pages']} pages over {len(windows)} chunk(s) "
        f"in {elapsed:.1f} s ({totals['records'] / max(elapsed, 1e-6):,.0f} records/s) under {zone.uri_of('')}"
    )


@app.command()
def status() -> None:
    """Each entity's watermark: how far extraction has got."""
    config = resolve_config(settings_or_exit(), with_pan_key=False)
    zone = get_landing_zone(config)
    for name in ENTITIES:
        mark = read_watermark(zone, config.settings.source_name, name)
        console.print(f"{name:<13} {iso(mark) if mark else 'no watermark yet'}")
