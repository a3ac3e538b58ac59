"""Load a run's export into the warehouse, and read the run summary back from the reporting views.

load(window, export_manifest_uri)   # the subflow the pipeline calls after the Spark jobs
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cardlake.config import PipelineConfig, resolve_config
from cardlake.warehouse import ExportError, get_warehouse, is_transient_error
from cardlake.warehouse.export import read_export
from cardlake.warehouse.summary import WarehouseSummary, warehouse_summary
from contracts.results import StageResult, TableCounts
from flows.retries import retry_when

# Every warehouse task retries a transient failure 3 times, after 5 s, 30 s and 120 s.
_RETRY_DELAYS: list[float] = [5, 30, 120]
P = ParamSpec("P")
R = TypeVar("R")


def warehouse_task(name: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A task of the warehouse stage: never cached, retried only on transient failures."""
    return task(
        name=name,
        cache_policy=NO_CACHE,
        retries=3,
        retry_delay_seconds=_RETRY_DELAYS,
        retry_condition_fn=retry_when(is_transient_error),
    )


@warehouse_task(name="ensure-warehouse-schema")
def ensure_warehouse_schema(config: PipelineConfig) -> str:
    """Tables, reporting views and the read-only BI role; safe to run before every load."""
    with get_warehouse(config.warehouse) as warehouse:
        warehouse.ensure_schema()
    return config.warehouse.kind


@warehouse_task(name="load-star-tables")
def load_star_tables(config: PipelineConfig, run_id: str, export_manifest_uri: str) -> StageResult:
    """Upsert every table of the export in one transaction; rows loaded per table."""
    export = read_export(export_manifest_uri)
    if export.run_id != run_id:
        raise ExportError(f"export {export_manifest_uri} belongs to run {export.run_id!r}, not {run_id!r}")
    with get_warehouse(config.warehouse) as warehouse:
        rows = warehouse.load_export(export_manifest_uri)
    return StageResult("load", tuple(TableCounts(table, n, n, 0, n) for table, n in rows.items()))


@warehouse_task(name="read-warehouse-summary")
def read_warehouse_summary(config: PipelineConfig) -> WarehouseSummary:
    """The figures of the run summary, read from the views Looker Studio reads, as a reader would."""
    with get_warehouse(config.warehouse, read_only=True) as warehouse:
        return warehouse_summary(warehouse)


@flow(name="load")
def load(run_id: str, export_manifest_uri: str, config: PipelineConfig | None = None) -> StageResult:
    """Warehouse schema, then the star tables of one run's export."""
    config = config or resolve_config()
    kind = ensure_warehouse_schema(config)
    loaded = load_star_tables(config, run_id, export_manifest_uri)
    get_run_logger().info("run %s loaded into %s: %s", run_id, kind, {t.table: t.read for t in loaded.tables})
    return loaded
