"""Prefect flow: import export files into the landing zone, then run the lake and the warehouse over them.

import_export(paths)   # land (validated whole first), transform the days the files cover, load, report

The landing task is never cached: an export is read again every time, and what it changed is decided by
content (`cardlake.importing`). The Spark stage's cache then follows the landed content through the transform
flow's fingerprint, so an unchanged export starts no Spark job and a changed one always does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cardlake.config import PipelineConfig, load_settings, resolve_config
from cardlake.importing import ImportResult, land_import, plan_import
from cardlake.landing import get_landing_zone
from cardlake.settings import Settings
from cardlake.summary import RunSummary
from contracts import names
from contracts.landing import IMPORT_SOURCE
from flows.pipeline import lake_and_warehouse


@dataclass(frozen=True)
class ImportRun:
    imported: ImportResult
    summary: RunSummary | None  # None when only landed (`run=False`)


def import_settings(settings: Settings, source_name: str = IMPORT_SOURCE) -> Settings:
    """The settings of a run over imported files: the landing source is the imports' own."""
    return settings.model_copy(update={"source_name": source_name})


@task(name="land-import", cache_policy=NO_CACHE)
def land_files(config: PipelineConfig, paths: Sequence[str]) -> ImportResult:
    """Validate every record of every file, then land them day by day (nothing when any file is bad)."""
    plan = plan_import([Path(p) for p in paths])
    result = land_import(get_landing_zone(config), config.settings.source_name, plan)
    log = get_run_logger()
    for f in result.files:
        log.info("%s: %d record(s) in, %d landed, %d refused, %d new", f.file, f.records, f.landed, f.refused, f.new)
    log.info("%d day window(s) written, %d unchanged", len(result.windows_written), len(result.windows_unchanged))
    return result


@flow(name=names.IMPORT_FLOW)
def import_export(
    paths: Sequence[str], run: bool = True, force: bool = False, source_name: str = IMPORT_SOURCE
) -> ImportRun:
    """Land the files under `source_name`; with `run`, transform and load the days they cover and report."""
    config = resolve_config(import_settings(load_settings(), source_name), with_pan_key=run)
    imported = land_files(config, list(paths))
    window = imported.span
    if not run or window is None:
        return ImportRun(imported, None)
    get_run_logger().info("running the lake and the warehouse over %s (run %s)", window, window.label)
    return ImportRun(imported, lake_and_warehouse(config, window, imported.stage(), force))
