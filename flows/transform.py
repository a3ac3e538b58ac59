"""Prefect subflow: run the Spark jobs (silver -> gold -> features -> score -> star -> export) for a window.

The Spark task is cached on everything it reads: the job request (window, jobs, lake, engine, options with
the fraud model version resolved now and the threshold), the fingerprint of every manifest inside the
window (those silver reads, with their pages' checksums), the resolved configuration and the task's code. A
re-run of a finished window with nothing newly landed and the same model starts no Spark job; a retrained
model, a new threshold or pages landed with new content (an extraction, a backfill chunk, a re-import) run it
again; `force` always does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import timedelta

from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.tasks import exponential_backoff

from cardlake.config import PipelineConfig, resolve_config
from cardlake.lake_writer import lake_writer
from cardlake.landing import LandingZone, get_landing_zone
from cardlake.spark_runner import get_runner
from contracts.jobs import JOBS, JobName, JobOptions, JobRequest, ScoreOptions
from contracts.landing import ENTITIES, Window, manifest_prefix, parse_iso
from contracts.results import TransformResult
from flows.retries import is_transient_spark_failure, retry_when


@task(name="fingerprint-landed-window", cache_policy=NO_CACHE)
def landed_fingerprint(config: PipelineConfig, window: Window) -> str:
    """A hash of every manifest the Spark run will read: it changes exactly when something new was landed.

    Silver reads each manifest whose window lies inside the run's window (a backfill's daily chunks under a
    weekly run, the day windows of `cardlake import`), so the fingerprint covers those same manifests, keyed by
    their pages' checksums: a re-landed page with new content changes it, the same content landed again does not.
    """
    zone = get_landing_zone(config)
    digest = hashlib.sha256()
    for entity in ENTITIES:
        for key, manifest in manifests_inside(zone, config.settings.source_name, entity, window):
            pages = [(p["key"], p["sha256"]) for p in manifest.get("pages", [])]
            digest.update(json.dumps([entity, key, pages]).encode())
    return digest.hexdigest()


def manifests_inside(zone: LandingZone, source: str, entity: str, window: Window) -> list[tuple[str, dict]]:
    """(key, manifest) of each manifest of the entity whose window lies inside `window`, in key order."""
    found = []
    for key in zone.list(manifest_prefix(source, entity)):
        if not key.endswith(".json"):
            continue
        try:  # the name is the window's label: skip the manifests of other windows without reading them
            if not window.covers(Window.from_label(key.rsplit("/", 1)[-1].removesuffix(".json"))):
                continue
        except ValueError:
            pass  # not named by a label: its body decides
        manifest = json.loads(zone.read_bytes(key))
        landed = Window(parse_iso(manifest["window_start"]), parse_iso(manifest["window_end"]))
        if window.covers(landed):
            found.append((key, manifest))
    return found


def score_options(config: PipelineConfig) -> ScoreOptions:
    """The model is resolved now, not inside the job: the request (and so the cache key) names the version."""
    from spark_jobs.fraud.registry import latest_version, version_uri

    root = config.settings.models_root
    version = latest_version(root)
    return ScoreOptions(
        model_uri=version_uri(root, version) if version else None,
        models_root=root,
        threshold=config.settings.fraud_threshold,
    )


def lake_request(
    config: PipelineConfig, window: Window, jobs: tuple[JobName, ...], run_id: str, options: JobOptions
) -> JobRequest:
    """A request against this configuration's landing zone, lake and Delta engine."""
    settings = config.settings
    return JobRequest(
        jobs=jobs,
        landing_uri=get_landing_zone(config).uri_of("").rstrip("/"),
        lake_uri=settings.lake_root,
        window=window,
        run_id=run_id,
        delta_engine=settings.delta_engine,
        source=settings.source_name,
        options=options,
    )


def spark_request(config: PipelineConfig, window: Window, jobs: tuple[JobName, ...] = JOBS) -> JobRequest:
    # run_id is deterministic: a re-run of a window re-processes the rows its first attempt stamped.
    return lake_request(config, window, jobs, window.label, JobOptions(score=score_options(config)))


@task(
    name="run-spark-jobs",
    task_run_name="spark-{request.run_id}",
    cache_policy=INPUTS + TASK_SOURCE,
    cache_expiration=timedelta(hours=12),
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=60),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_when(is_transient_spark_failure),
    persist_result=True,
)
def run_spark_jobs(config: PipelineConfig, request: JobRequest, fingerprint: str) -> TransformResult:
    """One Spark application for all the jobs: one JVM (or one EMR job run) instead of six.

    It holds the one-writer limit while Spark runs: the alerts, daily and backfill runs MERGE into the same tables.
    """
    settings = config.settings
    with lake_writer(
        f"Spark run {request.run_id}", settings.lake_writer_timeout_s, lease_seconds=settings.lake_writer_lease_s
    ):
        result = get_runner(config).run(request)
    get_run_logger().info("Spark %s finished in %.1f s (%s)", result.job_run_id, result.duration_s or 0, result.state)
    return TransformResult(
        jobs=tuple(result.results[job] for job in request.jobs),
        job_run_id=result.job_run_id,
        duration_s=result.duration_s,
        log_uri=result.log_uri,
        cost=result.cost,
    )


@flow(name="transform")
def transform(
    window: Window, jobs: tuple[JobName, ...] = JOBS, force: bool = False, config: PipelineConfig | None = None
) -> TransformResult:
    config = config or resolve_config()
    request = spark_request(config, window, tuple(jobs))
    fingerprint = landed_fingerprint(config, window)
    state = run_spark_jobs.with_options(refresh_cache=force)(config, request, fingerprint, return_state=True)
    # A cached result repeats an earlier run's figures: say so rather than let them read as this run's work.
    return dataclasses.replace(state.result(), cached=state.name == "Cached")
