"""The run summary a person reads at the end of `cardlake run` / `make run`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _stage_table(summary: dict[str, Any]) -> Table:
    from flows.report import stage_rows

    table = Table(title="Rows per stage", title_justify="left")
    for column in ("stage", "table", "in", "accepted", "rejected", "written"):
        table.add_column(column, justify="left" if column in ("stage", "table") else "right")
    for row in stage_rows(summary):
        table.add_row(*[_number(row[c]) for c in ("stage", "table", "in", "accepted", "rejected", "written")])
    return table


def _warehouse_tables(warehouse: dict[str, Any]) -> list[Table]:
    tables = []
    scalars = {k: v for k, v in warehouse.items() if not isinstance(v, list | dict)}
    if scalars:
        t = Table(title="Warehouse (from the reporting views)", title_justify="left", show_header=False)
        t.add_column("what")
        t.add_column("value", justify="right")
        for key, value in scalars.items():
            shown = f"{value:.2%}" if "rate" in key and isinstance(value, float) else _number(value)
            t.add_row(key.replace("_", " "), shown)
        tables.append(t)
    for key, value in warehouse.items():
        if isinstance(value, dict):
            t = Table(title=key.replace("_", " "), title_justify="left", show_header=False)
            t.add_column("what")
            t.add_column("value", justify="right")
            for k, v in value.items():
                t.add_row(str(k).replace("_", " "), f"{v:.3f}" if isinstance(v, float) and v <= 1 else _number(v))
            tables.append(t)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            t = Table(title=key.replace("_", " "), title_justify="left")
            for column in value[0]:
                t.add_column(column, justify="right" if isinstance(value[0][column], int | float) else "left")
            for row in value:
                t.add_row(*[_number(v) for v in row.values()])
            tables.append(t)
    return tables


def how_to_query(summary: dict[str, Any]) -> list[str]:
    loc = summary.get("locations", {})
    lines = [
        f"Landing zone (raw, immutable): {loc.get('landing')}",
        f"Delta lake (silver, gold):     {loc.get('lake')}",
    ]
    if loc.get("duckdb_file"):
        db = loc["duckdb_file"]
        lines += [
            f"Warehouse (DuckDB):            {db}",
            "",
            "Query it:",
            '  cardlake warehouse query "SELECT * FROM rpt_top_categories"',
            f'  duckdb -readonly {db} "SELECT * FROM rpt_daily_spend LIMIT 10"   (duckdb CLI)',
            f"  python -c \"import duckdb; print(duckdb.connect('{db}', read_only=True)"
            ".sql('SELECT * FROM rpt_rewards LIMIT 10'))\"",
            "Read a Delta table:",
            f"  python -c \"from deltalake import DeltaTable; print(DeltaTable('{loc.get('lake')}/gold/"
            "reward_transactions').to_pandas().head())\"",
        ]
    else:
        lines.append(f"Warehouse: {loc.get('warehouse')}")
    return lines


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.rule(f"cardlake run {summary['run_id']}")
    console.print(f"Window: {summary['window']}")
    console.print(_stage_table(summary))
    if summary.get("transform", {}).get("cached"):
        console.print(
            "Spark stage: nothing new was landed for this window, so the figures above are those of the run that "
            "built it (cached); use --force to run it again."
        )
    for table in _warehouse_tables(summary.get("warehouse", {})):
        console.print(table)
    for table in _warehouse_tables({"fraud_model": summary.get("fraud_model", {})}):
        console.print(table)
    cost = summary.get("transform", {}).get("cost", {})
    if cost.get("estimated_cost_usd") is not None:
        console.print(f"Spark cost: about ${cost['estimated_cost_usd']:.4f}")
    for warning in summary.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print()
    for line in how_to_query(summary):
        console.print(line, highlight=False, markup=False)
