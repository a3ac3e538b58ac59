"""Backfill a date range in chunks: extraction runs concurrently (bounded), the lake and warehouse in order.

Extraction is safe to run in parallel (each chunk lands under its own keys); Delta merges of two chunks into the
same table would race for the same commit, so the Spark and load stages take the chunks one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from cardlake.config import PipelineConfig, resolve_config
from contracts import names
from contracts.landing import Window, utc
from contracts.results import StageResult
from flows.extract import extract
from flows.load import load
from flows.transform import transform


@dataclass(frozen=True)
class ChunkResult:
    window: Window
    extract: StageResult
    load: StageResult
    spark_job_run_id: str


def chunks(start: datetime, end: datetime, chunk_days: int) -> list[Window]:
    if chunk_days < 1:
        raise ValueError("chunk_days must be at least 1")
    start, end = utc(start), utc(end)
    if end <= start:
        raise ValueError("end must be after start")
    out, cursor = [], start
    while cursor < end:
        nxt = min(cursor + timedelta(days=chunk_days), end)
        out.append(Window(cursor, nxt))
        cursor = nxt
    return out


@task(name="extract-chunk", task_run_name="extract-chunk-{window.label}", cache_policy=NO_CACHE)
def extract_chunk(window: Window, force: bool, config: PipelineConfig) -> StageResult:
    return extract(window, force=force, config=config)


@flow(name=names.BACKFILL_FLOW, task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def backfill(
    start: datetime, end: datetime, chunk_days: int = 7, max_concurrency: int = 2, force: bool = False
) -> list[ChunkResult]:
    """Every chunk is a normal pipeline window, so a backfill and the daily runs write the same tables."""
    config = resolve_config()
    windows = chunks(start, end, chunk_days)
    get_run_logger().info(
        "backfill of %d chunk(s) of %d day(s), %d extracting at once", len(windows), chunk_days, max_concurrency
    )
    step = max(1, max_concurrency)
    extracted: dict[Window, StageResult] = {}
    for i in range(0, len(windows), step):
        futures = {w: extract_chunk.submit(w, force, config) for w in windows[i : i + step]}
        extracted.update({w: f.result() for w, f in futures.items()})
    results = []
    for window in windows:
        lake = transform(window, force=force, config=config)
        loaded = load(window.label, lake.export_manifest_uri, config=config)
        results.append(ChunkResult(window, extracted[window], loaded, lake.job_run_id))
    return results
