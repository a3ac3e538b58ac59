"""The run summary: one dict built from every stage's results, rendered as Prefect artifacts and as text."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE


def _row(stage: str, table: str, rows_in: Any = "", accepted: Any = "", rejected: Any = "", written: Any = "") -> dict:
    return {
        "stage": stage,
        "table": table,
        "in": rows_in,
        "accepted": accepted,
        "rejected": rejected,
        "written": written,
    }


def _written(m: dict[str, Any]) -> int:
    return int(m.get("inserted", 0) or 0) + int(m.get("updated", 0) or 0)


def _spark_rows(job: str, metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each job reports in its own shape; this turns them into rows of one table."""
    if job in ("silver", "gold"):
        return [
            _row(job, table, m.get("records_read", ""), m.get("accepted", ""), m.get("quarantined", 0), _written(m))
            for table, m in metrics.items()
            if isinstance(m, dict)
        ]
    if job == "features":
        n = metrics.get("changed_transactions", 0)
        return [_row(job, "transaction_features", n, metrics.get("rows_recomputed", n), 0, _written(metrics))]
    if job == "score":
        scored = metrics.get("scored", 0)
        status = metrics.get("status", "")
        table = "transaction_scores" if status == "ok" or not status else f"transaction_scores ({status})"
        return [
            _row(job, table, scored, scored, 0, scored),
            _row(
                job,
                "fraud_alerts",
                metrics.get("above_threshold", ""),
                metrics.get("above_threshold", ""),
                0,
                _written({"inserted": metrics.get("alerts_inserted", 0), "updated": metrics.get("alerts_updated", 0)}),
            ),
        ]
    if job == "star":
        return [
            _row(job, table, m.get("source_rows", ""), m.get("source_rows", ""), 0, _written(m))
            for table, m in (metrics.get("tables") or {}).items()
        ]
    if job == "export":
        return [_row(job, table, n, n, 0, n) for table, n in (metrics.get("rows") or {}).items()]
    return []


def stage_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows per stage, the table a person reads first: records in, accepted, rejected, written."""
    rows = [
        _row("extract", f"raw/{entity}", r.get("records", 0), r.get("records", 0), 0, f"{r.get('pages', 0)} pages")
        for entity, r in summary.get("extract", {}).items()
    ]
    spark = summary.get("transform", {}).get("metrics", {})
    for job in ("silver", "gold", "features", "score", "star", "export"):
        rows += _spark_rows(job, spark.get(job) or {})
    load = summary.get("load", {})
    for table, count in load.get("rows_loaded", {}).items():
        rows.append(_row("load", table, count, count, 0, count))
    return rows


def markdown(summary: dict[str, Any]) -> str:
    lines = [f"# cardlake run `{summary['run_id']}`", "", f"Window: {summary['window']}", ""]
    lines += ["| stage | table | in | accepted | rejected | written |", "|---|---|---|---|---|---|"]
    for r in stage_rows(summary):
        lines.append(
            f"| {r['stage']} | {r['table']} | {r['in']} | {r['accepted']} | {r['rejected']} | {r['written']} |"
        )
    if summary.get("transform", {}).get("cached"):
        lines += ["", "Spark stage reused the cached result of an earlier run of this window (nothing new landed)."]
    model = summary.get("fraud_model", {})
    if model:
        lines += ["", "## Fraud model", ""] + [f"- {k.replace('_', ' ')}: {v}" for k, v in model.items()]
    wh = summary.get("warehouse", {})
    if wh:
        lines += ["", "## Warehouse", "", "```", _render_mapping(wh), "```"]
    cost = summary.get("transform", {}).get("cost", {})
    if cost and cost.get("estimated_cost_usd") is not None:
        lines += ["", f"Spark cost: {cost['vcpu_hours']:.3f} vCPU-h, {cost['memory_gb_hours']:.3f} GB-h, "
                  f"about ${cost['estimated_cost_usd']:.4f}"]  # fmt: skip
    if summary.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in summary["warnings"]]
    return "\n".join(lines)


def _render_mapping(value: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        return "\n".join(
            f"{pad}{k}:\n{_render_mapping(v, indent + 1)}" if isinstance(v, dict | list) else f"{pad}{k}: {v}"
            for k, v in value.items()
        )
    if isinstance(value, list):
        return "\n".join(f"{pad}- {item}" for item in value)
    return f"{pad}{value}"


@task(name="publish-run-report", cache_policy=NO_CACHE)
def publish_report(summary: dict[str, Any]) -> str:
    """Artifacts on every run: a markdown summary and the rows-per-stage table."""
    text = markdown(summary)
    create_markdown_artifact(key="cardlake-run-summary", markdown=text, description=f"run {summary['run_id']}")
    create_table_artifact(
        key="cardlake-rows-per-stage", table=stage_rows(summary), description=f"run {summary['run_id']}"
    )
    return text
