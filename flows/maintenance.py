"""Prefect flow: Delta maintenance of the whole lake (compaction, checkpoint, vacuum) as one Spark job.

Scheduled weekly by the `maintenance` deployments (prefect.yaml), and `cardlake maintain` by hand. It holds the
one-lake-writer limit like every other writer: a compaction commits to the same tables the daily and alert runs
merge into. Never cached: each run looks at the tables as they are now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from cardlake.config import PipelineConfig, resolve_config
from cardlake.lake_writer import lake_writer
from cardlake.spark_runner import get_runner
from contracts import names
from contracts.jobs import JobOptions, JobRequest, MaintainOptions
from contracts.landing import Window
from contracts.results import JobResult
from flows.retries import is_transient_spark_failure, retry_when
from flows.transform import lake_request

# The request names a window like every job request; maintenance reads no landing data, so it is the past week.
MAINTENANCE_WINDOW = timedelta(days=7)


def maintenance_request(config: PipelineConfig, options: MaintainOptions, now: datetime) -> JobRequest:
    end = now.astimezone(UTC).replace(microsecond=0)
    window = Window(end - MAINTENANCE_WINDOW, end)
    return lake_request(config, window, ("maintain",), f"maintain-{window.label}", JobOptions(maintain=options))


@task(
    name="run-maintenance-job",
    task_run_name="maintain-{request.run_id}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=60),
    retry_condition_fn=retry_when(is_transient_spark_failure),
)
def run_maintenance_job(config: PipelineConfig, request: JobRequest) -> JobResult:
    settings = config.settings
    with lake_writer(
        f"lake maintenance {request.run_id}", settings.lake_writer_timeout_s, lease_seconds=settings.lake_writer_lease_s
    ):
        result = get_runner(config).run(request)
    return result.results["maintain"]


@flow(name=names.MAINTENANCE_FLOW)
def maintenance(
    retention_hours: float = MaintainOptions.retention_hours,
    compact: bool = True,
    vacuum: bool = True,
    config: PipelineConfig | None = None,
) -> JobResult:
    """Compact and vacuum every lake table; the result lists each table's files before and after."""
    config = config or resolve_config()
    options = MaintainOptions(retention_hours=retention_hours, compact=compact, vacuum=vacuum)
    result = run_maintenance_job(config, maintenance_request(config, options, datetime.now(UTC)))
    for note in result.notes:
        get_run_logger().info(note)
    return result
