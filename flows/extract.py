"""Prefect flow: extract one window of the card API into the landing zone, one task per entity.

A finished window is cached for 12 h (the key covers the resolved configuration, the entity, the window and
the task's code), so calling the flow again for it does not touch the API unless `force=True`. Only
transient API errors are retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import requests
from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.client.schemas.objects import TaskRun
from prefect.runtime import flow_run
from prefect.states import State
from prefect.tasks import Task, exponential_backoff

from cardlake.config import PipelineConfig, resolve_config
from cardlake.landing import get_landing_zone
from cardlake.source.client import CardApiClient
from cardlake.source.errors import TransientApiError
from cardlake.source.extraction import Extractor
from cardlake.source.extraction import advance_watermark as advance
from contracts.landing import ENTITIES, Entity, Window, check_entity, iso, landed_table
from contracts.results import StageResult, TableCounts


def is_transient_failure(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry the task only when the API kept failing transiently; a permanent fault fails at once."""
    exc = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return isinstance(exc, TransientApiError | requests.ConnectionError | requests.Timeout)


@task(
    name="extract-entity",
    task_run_name="extract-{entity}-{window.label}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=30),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient_failure,
    cache_policy=INPUTS + TASK_SOURCE,
    cache_expiration=timedelta(hours=12),
    persist_result=True,
)
def extract_entity(config: PipelineConfig, entity: Entity, window: Window) -> TableCounts:
    """Land one window of one entity; its counts as the report shows them (every record is accepted here:
    records are judged in silver)."""
    settings = config.settings
    zone = get_landing_zone(config)
    run_id = flow_run.id or None
    with CardApiClient(config.api, rate_feed=config.settings.source != "card-api") as client:
        extractor = Extractor(client, zone, source=settings.source_name, page_size=settings.api_page_size)
        manifest = extractor.extract_window(entity, window, run_id=str(run_id) if run_id else None)
    records, pages = manifest["record_count"], len(manifest["pages"])
    get_run_logger().info(
        "%s %s: %d pages, %d records (%d distinct) landed under %s",
        entity, window.label, pages, records, manifest["distinct_ids"], zone.uri_of(""),
    )  # fmt: skip
    note = f"{pages} page(s), {manifest['distinct_ids']:,} distinct id(s)"
    return TableCounts(landed_table(entity), records, records, 0, records, note=note)


@task(name="advance-watermark", task_run_name="advance-watermark-{entity}", cache_policy=NO_CACHE)
def advance_watermark(config: PipelineConfig, entity: Entity, window: Window) -> str:
    """Only after the manifest is written (the extract task returned): the watermark never runs ahead."""
    return iso(advance(get_landing_zone(config), config.settings.source_name, entity, window))


@flow(name="extract")
def extract(
    window: Window, entities: Sequence[str] = ENTITIES, force: bool = False, config: PipelineConfig | None = None
) -> StageResult:
    """Land the window of each entity; `config` is resolved here when this flow is the entry point."""
    chosen = [check_entity(entity) for entity in entities]
    config = config or resolve_config()
    extract_task = extract_entity.with_options(refresh_cache=force)
    futures = {entity: extract_task.submit(config, entity, window) for entity in chosen}
    tables = []
    for entity, future in futures.items():
        tables.append(future.result())
        advance_watermark(config, entity, window)
    return StageResult("extract", tuple(tables))
