"""The retry conditions of the real tasks: a transient failure is retried, a permanent one fails at once.

The end-to-end cases run a failing `spark-submit` (a script that exits non-zero after printing the error a real
job would print) through a Prefect task that carries the Spark task's own retry options, and count the launches.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect import flow, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import Failed
from pydantic import SecretStr

from cardlake.config import PanKey
from cardlake.source.errors import PermanentApiError, TransientApiError
from cardlake.spark_runner import SparkJobFailed
from cardlake.spark_runner.local import LocalSubmitRunner
from cardlake.warehouse import WarehouseError
from contracts.jobs import JobRequest
from contracts.landing import Window
from flows.extract import extract_entity
from flows.load import load_star_tables
from flows.transform import run_spark_jobs

TASK_RUN = TaskRun(task_key="retry-test", dynamic_key="0", name="retry-test")
THROTTLED = "botocore.errorfactory.ThrottlingException: Rate exceeded for StartJobRun"
BUG = "pyspark.errors.exceptions.captured.AnalysisException: [UNRESOLVED_COLUMN] `amount_gbpp` cannot be resolved"


def retried(task_obj, exc: BaseException) -> bool:
    return task_obj.retry_condition_fn(task_obj, TASK_RUN, Failed(data=exc))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (SparkJobFailed("FAILED (exit code 1)", THROTTLED, "/tmp/x.log"), True),
        (SparkJobFailed("FAILED", "Job run failed: insufficient capacity in the application", None), True),
        (SparkJobFailed("FAILED (exit code 1)", BUG, "/tmp/x.log"), False),
        (ConnectionError("connection reset"), True),
        (ValueError("window_end must be after window_start"), False),
    ],
    ids=["throttling", "capacity", "bug", "connection", "bad-request"],
)
def test_spark_task_retries_only_transient_failures(exc: BaseException, expected: bool):
    assert retried(run_spark_jobs, exc) is expected


def test_extract_and_load_tasks_retry_only_transient_failures():
    assert retried(extract_entity, TransientApiError("429 after 5 attempts", "/transactions", 5))
    assert not retried(extract_entity, PermanentApiError("404 Not Found", 404, "/transactions"))
    assert retried(load_star_tables, ConnectionError("server closed the connection"))
    assert not retried(load_star_tables, WarehouseError("column amount_gbp has type VARCHAR"))


def fake_spark_submit(tmp_path: Path, message: str) -> tuple[Path, Path]:
    """An executable standing in for spark-submit: logs one launch, prints the job's error, exits 1."""
    launches = tmp_path / "launches.txt"
    script = tmp_path / "spark-submit"
    script.write_text(f"#!/bin/sh\necho launched >> '{launches}'\necho '{message}'\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, launches


@pytest.mark.slow
@pytest.mark.prefect
@pytest.mark.parametrize(
    ("message", "launches_expected"),
    [(THROTTLED, run_spark_jobs.retries + 1), (BUG, 1)],
    ids=["throttled-is-retried", "bug-fails-at-once"],
)
def test_a_failing_spark_submit_is_retried_by_prefect_only_when_transient(
    prefect_harness, tmp_path: Path, message: str, launches_expected: int
):
    script, launches = fake_spark_submit(tmp_path, message)
    request = JobRequest(
        jobs=("silver",),
        landing_uri=str(tmp_path / "landing"),
        lake_uri=str(tmp_path / "lake"),
        window=Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC)),
        run_id="retry-test",
    )
    key = PanKey(value=SecretStr("k"), is_local_default=False)

    # The Spark task's own retry options, with no delay between attempts.
    @task(retries=run_spark_jobs.retries, retry_delay_seconds=0, retry_condition_fn=run_spark_jobs.retry_condition_fn)
    def spark_step() -> str:
        runner = LocalSubmitRunner(key, tmp_path / "logs", spark_submit=script, entry_point=tmp_path / "main.py")
        return runner.run(request).state

    @flow
    def retry_flow() -> str:
        return spark_step()

    state = retry_flow(return_state=True)
    assert state.is_failed()
    with pytest.raises(SparkJobFailed, match="ThrottlingException" if message == THROTTLED else "UNRESOLVED_COLUMN"):
        state.result()
    assert launches.read_text().splitlines() == ["launched"] * launches_expected
