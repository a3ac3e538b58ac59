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
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON instead of a table")] = False,
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
    if as_json:
        typer.echo(json.dumps(_summary(metrics), indent=2, default=str))
    else:
        _print_training(_summary(metrics))


def _print_training(summary: dict[str, Any]) -> None:
    """The new model version, its split and its holdout figures, as a person reads them."""
    from rich.console import Console
    from rich.table import Table

    def months(window: Any) -> str:
        return "-" if not window else f"{window.get('from_month')} to {window.get('to_month')}"

    rows = summary.get("rows") or {}
    holdout = summary.get("holdout") or {}
    table = Table(title=f"fraud model {summary.get('version')} registered")
    table.add_column("")
    table.add_column("months")
    table.add_column("purchases", justify="right")
    table.add_column("frauds", justify="right")
    for part, window in (("train", "train_window"), ("validation", "validation_window"), ("holdout", "holdout_window")):
        table.add_row(part, months(summary.get(window)), str(rows.get(part, "-")), str(rows.get(f"{part}_fraud", "-")))
    console = Console()
    console.print(table)
    if holdout.get("pr_auc") is None:
        console.print("holdout: no labelled frauds in the held-out months, so no PR-AUC to report")
    else:
        console.print(
            f"holdout: PR-AUC {holdout['pr_auc']:.3f}, ROC-AUC {holdout.get('roc_auc', float('nan')):.3f}; "
            f"at the threshold {summary.get('threshold', float('nan')):.3f} (chosen on validation) "
            f"precision {holdout.get('precision', float('nan')):.3f}, recall {holdout.get('recall', float('nan')):.3f}"
        )
    console.print(f"model: {summary.get('model_uri')}")


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


def _print_evaluation(evaluation: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from cardlake.fraud_evaluation import explanation

    def number(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    def interval(name: str) -> str:
        low, high = evaluation.intervals[name].low, evaluation.intervals[name].high
        return "-" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"

    start, end = evaluation.window
    table = Table(title=f"fraud scores against labels, {start[:10]} to {end[:10]} (exclusive)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% interval (cards resampled)", justify="right")
    table.add_row("rows (scored, labelled purchases)", str(evaluation.rows), "")
    table.add_row("positives (frauds)", str(evaluation.positives), "")
    table.add_row("PR-AUC (average precision)", number(evaluation.pr_auc), interval("pr_auc"))
    table.add_row("ROC-AUC", number(evaluation.roc_auc), interval("roc_auc"))
    table.add_row(f"precision at {evaluation.threshold:.3f}", number(evaluation.precision), interval("precision"))
    table.add_row(f"recall at {evaluation.threshold:.3f}", number(evaluation.recall), interval("recall"))
    table.add_row("recall at precision 0.9", number(evaluation.recall_at_precision_0_9), "")
    days = list(evaluation.alerts_per_day.values())
    table.add_row("alerts per day (mean / max)", f"{sum(days) / len(days):.1f} / {max(days)}", "")
    console = Console()
    console.print(table)
    drifted = [d for d in evaluation.drift if d.flagged]
    if evaluation.drift:
        months = sorted({d.month for d in evaluation.drift})
        console.print(
            f"drift against {months[0]} ({len(months)} months): "
            + (", ".join(f"{d.column} in {d.month} (PSI {d.psi:.2f})" for d in drifted) if drifted else "none flagged")
        )
    console.print(explanation(evaluation))
    console.print(
        f"report: {evaluation.files.get('report')}  plots: {evaluation.files.get('pr_curve')}, "
        f"{evaluation.files.get('score_histogram')}"
    )


@app.command()
def evaluate(
    from_: Annotated[str, typer.Option("--from", help="Window start (transaction time), YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="Window end (exclusive), YYYY-MM-DD")],
    out: Annotated[str | None, typer.Option(help="Folder for report.json and the PNGs")] = None,
    lake: LakeOption = None,
    threshold: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Override the scores' own")] = None,
    resamples: Annotated[int, typer.Option(min=1, help="Bootstrap resamples (of cards)")] = 200,
    seed: Annotated[int, typer.Option(help="Bootstrap seed")] = 17,
) -> None:
    """Compare the lake's scores with its fraud labels over [from, to): metrics, intervals, plots, drift."""
    from pathlib import Path

    from cardlake.cli.errors import settings_or_exit
    from cardlake.fraud_evaluation import EvaluationError, window_of

    start, end = _day(from_, "--from"), _day(to, "--to")
    settings = settings_or_exit()
    folder = Path(out or f"fraud-evaluation_{start}_{end}")
    try:
        window = window_of(datetime(start.year, start.month, start.day), datetime(end.year, end.month, end.day))
        from flows.fraud import evaluate_scores

        evaluation = evaluate_scores.fn(
            lake or settings.lake_root, window, folder, threshold=threshold, resamples=resamples, seed=seed
        )
    except EvaluationError as problem:
        typer.secho(f"cannot evaluate: {problem}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    _print_evaluation(evaluation)
