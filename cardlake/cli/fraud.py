"""`cardlake fraud ...`: train the fraud model from the lake, score a window with a chosen model version."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from typing import Annotated, Any

import typer

from contracts.landing import Window

app = typer.Typer(help="Train and use the fraud model.", no_args_is_help=True)

LakeOption = Annotated[str | None, typer.Option("--lake", help="Lake root (default: settings' lake)")]
ModelsOption = Annotated[str | None, typer.Option("--models-root", help="Model registry root (default: settings')")]


def _optional_day(value: str | None, name: str) -> date | None:
    return None if value is None else _day(value, name)


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    keep = ("version", "model_uri", "threshold", "train_window", "validation_window", "holdout_window", "rows")
    return {**{k: metrics[k] for k in keep if k in metrics}, "holdout": metrics.get("holdout")}


@app.command()
def train(
    lake: LakeOption = None,
    models_root: ModelsOption = None,
    from_: Annotated[str | None, typer.Option("--from", help="First transaction date, YYYY-MM-DD")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End date (exclusive), YYYY-MM-DD")] = None,
    holdout_months: Annotated[int, typer.Option(min=1, help="Latest months held out for evaluation")] = 2,
) -> None:
    """Train on the lake's gold features and labels (time-ordered split), register it, print its metrics."""
    from cardlake.cli.errors import settings_or_exit
    from flows.fraud import train_and_register
    from spark_jobs.fraud.training import NotEnoughData

    settings = settings_or_exit()
    try:
        metrics = train_and_register.fn(
            lake or settings.lake_root,
            models_root or str(settings.models_root),
            _optional_day(from_, "--from"),
            _optional_day(to, "--to"),
            holdout_months,
            1,
            settings.delta_engine,
            settings.local_spark,
            lake_writer_timeout_s=settings.lake_writer_timeout_s,
            lake_writer_lease_s=settings.lake_writer_lease_s,
        )
    except NotEnoughData as problem:
        typer.secho(f"cannot train: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(_summary(metrics), indent=2, default=str))


@app.command()
def score(
    from_: Annotated[str, typer.Option("--from", help="Window start (transaction time), YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="Window end (exclusive), YYYY-MM-DD")],
    lake: LakeOption = None,
    models_root: ModelsOption = None,
    model_version: Annotated[str | None, typer.Option(help="e.g. v20250101T000000Z (default: LATEST)")] = None,
    threshold: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Override the model's")] = None,
) -> None:
    """Score every purchase in [from, to) with a model version (no labels needed); upsert scores and alerts."""
    from cardlake.cli.errors import settings_or_exit
    from cardlake.lake_writer import lake_writer
    from contracts.jobs import ScoreOptions
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.fraud.registry import version_uri
    from spark_jobs.jobs import score as score_job
    from spark_jobs.jobs.context import JobContext
    from spark_jobs.session import get_spark

    start, end = _day(from_, "--from"), _day(to, "--to")
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    settings = settings_or_exit()
    root = models_root or str(settings.models_root)
    window = Window(datetime(start.year, start.month, start.day), datetime(end.year, end.month, end.day))
    options = ScoreOptions(
        model_uri=version_uri(root, model_version) if model_version else None,
        models_root=root,
        threshold=threshold,
        select="window",
    )
    spark = get_spark("cardlake-fraud-score", settings.local_spark)
    ctx = JobContext(
        spark=spark,
        delta=get_delta_io(settings.delta_engine, spark),
        landing_uri=settings.landing_root,
        lake_uri=lake or settings.lake_root,
        window=window,
        run_id=f"score-{window.label}",
    )
    try:
        with lake_writer(
            f"fraud scoring of {window.label}",
            settings.lake_writer_timeout_s,
            lease_seconds=settings.lake_writer_lease_s,
        ):
            outcome = score_job.run(ctx, options)
    except Exception as exc:  # a missing model version or table gets a message, not a traceback
        typer.secho(f"scoring failed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(dataclasses.asdict(outcome), indent=2, default=str))
    if outcome.status == "skipped":
        raise typer.Exit(1)
