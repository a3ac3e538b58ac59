"""The run summary: one typed value built from every stage's result, rendered for a terminal and as markdown.

Every stage reports counts per table in one shape (`contracts.results.TableCounts`), so the rows-per-stage
table is rendered without knowing any stage.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cardlake.warehouse.summary import WarehouseSummary
from contracts.landing import Window
from contracts.results import StageResult, TransformResult

STAGE_COLUMNS = ("stage", "table", "in", "accepted", "rejected", "written", "note")


@dataclass(frozen=True)
class ModelSummary:
    """The fraud model that scored the run and its holdout quality, or how to get one."""

    version: str | None
    model_type: str = ""
    holdout_months: str = ""
    holdout_pr_auc: float | None = None
    holdout_roc_auc: float | None = None
    precision_at_threshold: float | None = None
    recall_at_threshold: float | None = None
    threshold: float | None = None
    training_months: int | None = None
    holdout_frauds: int | None = None


@dataclass(frozen=True)
class Locations:
    landing: str
    lake: str
    warehouse: str
    duckdb_file: str | None = None


@dataclass(frozen=True)
class RunSummary:
    window: Window
    extract: StageResult
    transform: TransformResult
    load: StageResult
    warehouse: WarehouseSummary
    fraud_model: ModelSummary
    locations: Locations
    warnings: tuple[str, ...] = ()

    @property
    def run_id(self) -> str:
        return self.window.label

    @property
    def stages(self) -> tuple[StageResult, ...]:
        return (self.extract, *self.transform.stages, self.load)


def stage_rows(summary: RunSummary) -> list[dict[str, Any]]:
    """Rows per stage, the table a person reads first: records in, accepted, rejected, written."""
    return [
        dict(zip(STAGE_COLUMNS, (s.stage, t.table, t.read, t.accepted, t.rejected, t.written, t.note), strict=True))
        for s in summary.stages
        for t in s.tables
    ]


def _cached_note(summary: RunSummary) -> str | None:
    if summary.transform.cached:
        return (
            "Spark stage: nothing new was landed for this window and the model is unchanged, so the figures above "
            "are those of the run that built it (cached); use --force to run it again."
        )
    return None


def _notes(summary: RunSummary) -> list[str]:
    return [note for stage in summary.stages for note in stage.notes]


def _model_lines(model: ModelSummary) -> list[tuple[str, str]]:
    if model.version is None:
        return [("model", "none yet: train one with `cardlake fraud train` (transactions are not scored until then)")]
    return [
        (field.name.replace("_", " "), _number(getattr(model, field.name)))
        for field in dataclasses.fields(model)
        if getattr(model, field.name) not in (None, "")
    ]


# The benchmark's model (bench/bench_features.py, docs/benchmarks.md): 12 simulated months, PR-AUC >= 0.90.
BENCHMARK_MONTHS, BENCHMARK_PR_AUC = 12, 0.90


def model_explanation(model: ModelSummary) -> str | None:
    """Why a demo model's PR-AUC is below the benchmark's, when it is: a reader would otherwise think it broken."""
    if model.holdout_pr_auc is None or model.holdout_pr_auc >= BENCHMARK_PR_AUC or not model.training_months:
        return None
    if model.training_months >= BENCHMARK_MONTHS:
        return None
    frauds = f" and {model.holdout_frauds:,} frauds in its holdout month(s)" if model.holdout_frauds else ""
    return (
        f"This model learned from {model.training_months} month(s) of history{frauds}, so its holdout PR-AUC "
        f"({model.holdout_pr_auc:.2f}) is below the benchmark model's {BENCHMARK_PR_AUC:.2f}+ "
        f"({BENCHMARK_MONTHS} months, bench/bench_features.py): fewer frauds to learn from, and a small holdout "
        "moves a lot with a few cases. Train on more history with `cardlake fraud train` after a backfill."
    )


def _warehouse_lines(warehouse: WarehouseSummary) -> list[tuple[str, str]]:
    lines = []
    for field in dataclasses.fields(warehouse):
        value = getattr(warehouse, field.name)
        if field.name == "top_categories":
            continue
        shown = f"{value:.2%}" if field.name == "fraud_rate" else _number(value)
        lines.append((field.name.replace("_", " "), shown))
    return lines


def markdown(summary: RunSummary) -> str:
    lines = [f"# cardlake run `{summary.run_id}`", "", f"Window: {summary.window}", ""]
    lines += ["| " + " | ".join(STAGE_COLUMNS) + " |", "|" + "---|" * len(STAGE_COLUMNS)]
    for row in stage_rows(summary):
        lines.append("| " + " | ".join(_number(row[c]) for c in STAGE_COLUMNS) + " |")
    cached = _cached_note(summary)
    lines += ["", cached] if cached else []
    notes = _notes(summary)
    lines += ["", *[f"- {note}" for note in notes]] if notes else []
    lines += ["", "## Fraud model", ""] + [f"- {k}: {v}" for k, v in _model_lines(summary.fraud_model)]
    explanation = model_explanation(summary.fraud_model)
    if explanation:
        lines += ["", explanation]
    lines += ["", "## Warehouse", ""] + [f"- {k}: {v}" for k, v in _warehouse_lines(summary.warehouse)]
    lines += [f"- top category: {c.category} (GBP {c.spend_gbp:,.2f})" for c in summary.warehouse.top_categories]
    cost = summary.transform.cost
    if cost.estimated_cost_usd is not None:
        lines += ["", f"Spark cost: {cost.vcpu_hours or 0:.3f} vCPU-h, {cost.memory_gb_hours or 0:.3f} GB-h, "
                      f"about ${cost.estimated_cost_usd:.4f}"]  # fmt: skip
    if summary.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in summary.warnings]
    return "\n".join(lines)


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.2f}"
    return str(value)


def _pairs_table(title: str, pairs: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in pairs:
        table.add_row(key, value)
    return table


def how_to_query(locations: Locations, bin_dir: Path | None = None) -> list[str]:
    """Commands that work as printed, from any directory: the environment's own executables, absolute paths."""
    bin_dir = bin_dir or Path(sys.executable).parent
    cli, python = shlex.quote(str(bin_dir / "cardlake")), shlex.quote(str(bin_dir / "python"))
    lines = [
        f"Landing zone (raw, immutable): {locations.landing}",
        f"Delta lake (silver, gold):     {locations.lake}",
    ]
    if locations.duckdb_file:
        db = locations.duckdb_file
        lines += [
            f"Warehouse (DuckDB):            {db}",
            "",
            "Query it:",
            f'  {cli} warehouse query "SELECT * FROM rpt_top_categories"',
            f"  {python} -c \"import duckdb; print(duckdb.connect('{db}', read_only=True)"
            ".sql('SELECT * FROM rpt_daily_spend LIMIT 10'))\"",
            "Read a Delta table:",
            f"  {python} -c \"from deltalake import DeltaTable; print(DeltaTable('{locations.lake}/gold/"
            "reward_transactions').to_pandas().head())\"",
        ]
    else:
        lines.append(f"Warehouse: {locations.warehouse}")
    return lines + dashboard_lines(locations, bin_dir)


def dashboard_lines(locations: Locations, bin_dir: Path | None = None, port: int = 8501) -> list[str]:
    """How to open the dashboard on what this run loaded: `make dashboard` here, or the command from anywhere."""
    cli = shlex.quote(str((bin_dir or Path(sys.executable).parent) / "cardlake"))
    where = [f"CARDLAKE_LAKE_URI={shlex.quote(locations.lake)}"]
    if locations.duckdb_file:
        where.insert(0, f"CARDLAKE_DUCKDB_PATH={shlex.quote(locations.duckdb_file)}")
    return [
        "",
        "Open the dashboard (spending and rewards, fraud with live alerts, pipeline health):",
        "  make dashboard          # from the repository, or from anywhere:",
        f"  {' '.join(where)} {cli} dashboard --port {port}",
        f"  then browse http://127.0.0.1:{port}",
    ]


def print_summary(summary: RunSummary, console: Console | None = None) -> None:
    console = console or Console()
    console.rule(f"cardlake run {summary.run_id}")
    console.print(f"Window: {summary.window}")
    # The notes go under the table, one line each: as a column they would wrap every row in a narrow terminal.
    counted = [c for c in STAGE_COLUMNS if c != "note"]
    stages = Table(title="Rows per stage", title_justify="left")
    for column in counted:
        stages.add_column(column, justify="left" if column in ("stage", "table") else "right", no_wrap=True)
    rows = stage_rows(summary)
    for row in rows:
        stages.add_row(*[_number(row[c]) for c in counted])
    console.print(stages)
    for row in rows:
        if row["note"]:
            console.print(f"  {row['stage']} {row['table']}: {row['note']}", highlight=False)
    cached = _cached_note(summary)
    if cached:
        console.print(cached)
    for note in _notes(summary):
        console.print(f"note: {note}", highlight=False)
    console.print(_pairs_table("Warehouse (from the reporting views)", _warehouse_lines(summary.warehouse)))
    top = Table(title="top categories", title_justify="left")
    for column in ("category", "spend GBP", "transactions"):
        top.add_column(column, justify="left" if column == "category" else "right")
    for c in summary.warehouse.top_categories:
        top.add_row(c.category, _number(c.spend_gbp), _number(c.transactions))
    console.print(top)
    console.print(_pairs_table("fraud model", _model_lines(summary.fraud_model)))
    explanation = model_explanation(summary.fraud_model)
    if explanation:
        console.print(explanation)
    cost = summary.transform.cost
    if cost.estimated_cost_usd is not None:
        console.print(f"Spark cost: about ${cost.estimated_cost_usd:.4f}")
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print()
    for line in how_to_query(summary.locations):
        console.print(line, highlight=False, markup=False)
