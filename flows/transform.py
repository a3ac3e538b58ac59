"""Prefect subflow: run the Spark jobs (silver -> gold -> features -> score -> star -> export) for a window.

The Spark task is cached on what it reads (a fingerprint of the window's manifests), the jobs and the code, so
a re-run of a finished window with nothing newly landed starts no Spark job; `force` refreshes it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.tasks import exponential_backoff

from cardlake.landing import get_landing_zone
from cardlake.settings import get_settings
from cardlake.spark_runner import SparkJobRequest, get_runner
from flows.retries import is_transient_spark_failure, retry_when

LAKE_JOBS = ("silver", "gold", "features", "score", "star", "export")
ENTITIES = ("transactions", "rewards", "plu_rates")


def window_label(start: datetime, end: datetime) -> str:
    return f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"


@task(name="fingerprint-landed-window", cache_policy=NO_CACHE)
def landed_fingerprint(start: datetime, end: datetime) -> str:
    """A hash of the manifests of the window: it changes exactly when something new was landed for it."""
    settings = get_settings()
    zone = get_landing_zone(settings)
    digest = hashlib.sha256()
    label = window_label(start, end)
    for entity in ENTITIES:
        key = f"raw/{settings.source_name}/{entity}/_manifests/{label}.json"
        if zone.exists(key):
            manifest = json.loads(zone.read_bytes(key))
            pages = [(p["key"], p["sha256"]) for p in manifest.get("pages", [])]
            digest.update(json.dumps([entity, pages]).encode())
    return digest.hexdigest()


@task(
    name="run-spark-jobs",
    task_run_name="spark-{run_id}",
    cache_policy=INPUTS + TASK_SOURCE,
    cache_expiration=timedelta(hours=12),
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=60),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_when(is_transient_spark_failure),
    persist_result=True,
)
def run_spark_jobs(
    jobs: tuple[str, ...],
    start: datetime,
    end: datetime,
    run_id: str,
    fingerprint: str,
    landing_uri: str,
    lake_uri: str,
    delta_engine: str,
    spark_runner: str,
) -> dict[str, Any]:
    """One Spark application for all the jobs: one JVM (or one EMR job run) instead of six."""
    settings = get_settings()
    request = SparkJobRequest(
        jobs=jobs,
        landing_uri=landing_uri,
        lake_uri=lake_uri,
        window_start=start,
        window_end=end,
        run_id=run_id,
        delta_engine=delta_engine,
        extra_args=("--source", settings.source_name, "--option", f"models_root={settings.models_root}",
                    "--option", f"fraud_threshold={settings.fraud_threshold}"),
    )  # fmt: skip
    result = get_runner(settings).run(request)
    get_run_logger().info("Spark %s finished in %.1f s (%s)", result.job_run_id, result.duration_s or 0, result.state)
    return {
        "job_run_id": result.job_run_id,
        "state": result.state,
        "metrics": {job: body.get("metrics", {}) for job, body in result.results.items()},
        "cost": {
            "vcpu_hours": result.vcpu_hours,
            "memory_gb_hours": result.memory_gb_hours,
            "storage_gb_hours": result.storage_gb_hours,
            "estimated_cost_usd": result.estimated_cost_usd,
        },
        "duration_s": result.duration_s,
        "log_uri": result.log_uri,
    }


@flow(name="transform")
def transform(
    start: datetime, end: datetime, run_id: str, jobs: tuple[str, ...] = LAKE_JOBS, force: bool = False
) -> dict[str, Any]:
    settings = get_settings()
    fingerprint = landed_fingerprint(start, end)
    spark_task = run_spark_jobs.with_options(refresh_cache=force)
    state = spark_task(
        tuple(jobs),
        start,
        end,
        run_id,
        fingerprint,
        get_landing_zone(settings).uri_of("").rstrip("/"),
        settings.lake_root,
        settings.delta_engine,
        settings.spark_runner,
        return_state=True,
    )
    result = dict(state.result())
    # A cached result repeats an earlier run's figures: say so rather than let them read as this run's work.
    result["cached"] = state.name == "Cached"
    return result


__all__ = ["LAKE_JOBS", "transform", "window_label"]
