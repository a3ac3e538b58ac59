"""Prefect flow: extract windows of the card API into the landing zone, one task per entity.

    extract(start, end) -> per entity {"manifest_key", "pages", "records", "distinct_ids", "bytes", "window"}

A finished window is cached for 12 h (inputs + task source, the window among the inputs), so calling the
flow again for it does not touch the API unless `force=True`. Only transient API errors are retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.client.schemas.objects import TaskRun
from prefect.runtime import flow_run
from prefect.states import State
from prefect.tasks import Task, exponential_backoff

from cardlake.landing import get_landing_zone
from cardlake.settings import get_settings
from cardlake.source.client import ENDPOINTS, CardApiClient
from cardlake.source.credentials import resolve_credentials
from cardlake.source.errors import TransientApiError
from cardlake.source.extraction import Extractor, Window, manifest_key
from cardlake.source.extraction import advance_watermark as advance

DEFAULT_ENTITIES = ("transactions", "rewards", "plu_rates")


def is_transient_failure(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry the task only when the API kept failing transiently; a permanent fault fails at once."""
    exc = state.data if isinstance(state.data, BaseException) else state.result(raise_on_failure=False)
    return isinstance(exc, TransientApiError | requests.ConnectionError | requests.Timeout)


@task(
    name="extract-entity",
    task_run_name="extract-{entity}-{start:%Y%m%d}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=30),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient_failure,
    cache_policy=INPUTS + TASK_SOURCE,
    cache_expiration=timedelta(hours=12),
    persist_result=True,
)
def extract_entity(
    entity: str, start: datetime, end: datetime, source: str, api_base_url: str, landing_root: str
) -> dict[str, Any]:
    """Land one window of one entity. source, API and landing root are inputs so they key the cache."""
    settings = get_settings()
    window = Window(start, end)
    zone = get_landing_zone(settings)
    run_id = flow_run.id or None
    with CardApiClient(resolve_credentials(settings)) as client:
        extractor = Extractor(client, zone, source=source, page_size=settings.api_page_size)
        manifest = extractor.extract_window(entity, window, run_id=str(run_id) if run_id else None)
    summary = {
        "manifest_key": manifest_key(source, entity, window),
        "pages": len(manifest["pages"]),
        "records": manifest["record_count"],
        "distinct_ids": manifest["distinct_ids"],
        "bytes": sum(page["bytes"] for page in manifest["pages"]),
        "window": window.label,
    }
    get_run_logger().info(
        "%s %s: %d pages, %d records (%d distinct) landed under %s",
        entity, window.label, summary["pages"], summary["records"], summary["distinct_ids"], landing_root,
    )  # fmt: skip
    return summary


@task(name="advance-watermark", task_run_name="advance-watermark-{entity}", cache_policy=NO_CACHE)
def advance_watermark(entity: str, start: datetime, end: datetime, source: str) -> str:
    """Only after the manifest is written (the extract task returned): the watermark never runs ahead."""
    mark = advance(get_landing_zone(get_settings()), source, entity, Window(start, end))
    return mark.strftime("%Y-%m-%dT%H:%M:%SZ")


@flow(name="extract")
def extract(
    start: datetime,
    end: datetime,
    entities: Sequence[str] = DEFAULT_ENTITIES,
    force: bool = False,
) -> dict[str, dict]:
    unknown = sorted(set(entities) - set(ENDPOINTS))
    if unknown:
        raise ValueError(f"unknown entities {unknown}; expected some of {sorted(ENDPOINTS)}")
    settings = get_settings()
    window = Window(start, end)
    landing_root = get_landing_zone(settings).uri_of("")
    # The API's URL keys the cache; the credentials themselves never become task inputs (Prefect stores those).
    api_base_url = resolve_credentials(settings).base_url
    extract_task = extract_entity.with_options(refresh_cache=force)
    futures = {
        entity: extract_task.submit(entity, window.start, window.end, settings.source_name, api_base_url, landing_root)
        for entity in entities
    }
    results: dict[str, dict] = {}
    for entity, future in futures.items():
        results[entity] = future.result()
        advance_watermark(entity, window.start, window.end, settings.source_name)
    return results
