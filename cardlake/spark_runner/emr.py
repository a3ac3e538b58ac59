"""Spark on EMR Serverless: upload the code, start one job run per request, wait, report cost, never orphan it.

Modelled on Airflow's EmrServerlessStartJobOperator: an idempotency token per request, polling until a
terminal state, the failure reason from `stateDetails`, and `cancel_job_run` when the caller goes away.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from blocks.emr import EmrServerlessApplication
from cardlake.spark_runner.base import (
    SparkJobFailed,
    SparkJobResult,
    SparkRunner,
    read_job_results,
)
from cardlake.spark_runner.local import DEFAULT_ENTRY_POINT, PROJECT_ROOT
from cardlake.spark_runner.packaging import CodeBundle, build_code_bundle, upload_if_absent
from contracts.jobs import JobRequest
from contracts.results import SparkCost

log = logging.getLogger(__name__)

RUNNING_STATES = frozenset({"SUBMITTED", "PENDING", "SCHEDULED", "QUEUED", "RUNNING"})
FAILED_STATES = frozenset({"FAILED", "CANCELLED"})
RETRYABLE_ERRORS = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded", "InternalServerException"}
)
CLIENT_TOKEN_MAX = 64  # StartJobRun.clientToken: 1-64 chars of [A-Za-z0-9._-]
MAX_RESTARTS = 20  # successive failed attempts of one request that a retry may chain past
# delta-spark, its storage layer and the S3DynamoDBLogStore of the Delta release ADR 0001 pins (3.3 on emr-7.9.0;
# Maven `io.delta:delta-storage-s3-dynamodb:3.3.0`).
DELTA_JARS = (
    "/usr/share/aws/delta/lib/delta-spark.jar,/usr/share/aws/delta/lib/delta-storage.jar,"
    "/usr/share/aws/delta/lib/delta-storage-s3-dynamodb.jar"
)
# Every commit to an s3:// Delta table goes through the DynamoDB log store: the default S3 log store is safe for
# one driver only, and the daily, alerts and backfill job runs are separate drivers (docs/adr/0015).
LOG_STORE_CLASS = "io.delta.storage.S3DynamoDBLogStore"
LOG_STORE_KEYS = ("spark.delta.logStore.s3.impl", "spark.delta.logStore.s3a.impl")
DDB_TABLE_KEY = "spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName"
DDB_REGION_KEY = "spark.io.delta.storage.S3DynamoDBLogStore.ddb.region"
# What EMR needs to run the jobs: the jobs and the contracts they build against (the layer check keeps
# spark_jobs from importing anything else of the project).
CODE_PACKAGES = ("spark_jobs", "contracts")

ClientFactory = Callable[[str], Any]
STALE_AFTER = timedelta(seconds=30)


class SparkJobTimeout(SparkJobFailed):
    """The runner stopped waiting (and cancelled the job run)."""


def client_token(application_id: str, run_id: str, jobs: tuple[str, ...], code_sha256: str, after: str = "") -> str:
    """Same request, same token: a Prefect retry re-attaches to the job run instead of starting a second one.

    `after` names a failed job run of the same request, so the retry that follows a failure gets a new token.
    """
    material = "|".join([application_id, run_id, ",".join(jobs), code_sha256, after])
    return hashlib.sha256(material.encode()).hexdigest()[:CLIENT_TOKEN_MAX]


class EmrServerlessRunner(SparkRunner):
    def __init__(
        self,
        block: EmrServerlessApplication,
        clients: ClientFactory | None = None,
        *,
        entry_point: Path = DEFAULT_ENTRY_POINT,
        code_root: Path = PROJECT_ROOT,
        code_packages: tuple[str, ...] = CODE_PACKAGES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.block = block
        if clients is None:
            import boto3

            clients = boto3.session.Session(region_name=block.region).client
        self._clients = clients
        self.entry_point = Path(entry_point)
        self.code_root = Path(code_root)
        self.code_packages = code_packages
        self._sleep = sleep
        self._clock = clock
        self.emr = clients("emr-serverless")
        self.s3 = clients("s3")

    # -- the request ------------------------------------------------------------------------------

    def upload_code(self) -> CodeBundle:
        bundle = build_code_bundle(self.code_root, self.code_packages, self.entry_point)
        for uri, body in (
            (bundle.zip_uri(self.block.code_uri), bundle.zip_bytes),
            (bundle.entry_uri(self.block.code_uri), bundle.entry_bytes),
        ):
            uploaded = self._call(upload_if_absent, self.s3, uri, body)
            log.info("%s %s", "uploaded" if uploaded else "already present:", uri)
        return bundle

    def spark_submit_parameters(self, bundle: CodeBundle) -> str:
        conf: dict[str, str] = {
            "spark.jars": DELTA_JARS,
            "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
            "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
            "spark.sql.session.timeZone": "UTC",
        }
        python = self.block.python_path
        if self.block.venv_archive_uri:
            python = "./environment/bin/python"  # Spark unpacks the archive into ./<#fragment>
            conf["spark.archives"] = f"{self.block.venv_archive_uri}#environment"
        if python:
            conf["spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON"] = python
            conf["spark.emr-serverless.driverEnv.PYSPARK_PYTHON"] = python
            conf["spark.executorEnv.PYSPARK_PYTHON"] = python
        conf.update(self.log_store_conf())
        overridden = [key for key, value in self.block.spark_conf.items() if conf.get(key, value) != value]
        if any(key in overridden for key in (*LOG_STORE_KEYS, DDB_TABLE_KEY, DDB_REGION_KEY, "spark.jars")):
            raise ValueError(
                f"the EMR block's spark_conf overrides {overridden}: the S3 lake's commits must go through "
                "S3DynamoDBLogStore and the block's `delta_log_table` (docs/adr/0015); remove them from spark_conf"
            )
        conf.update(self.block.spark_conf)
        parts = ["--py-files", bundle.zip_uri(self.block.code_uri)]
        for key, value in conf.items():
            parts += ["--conf", f"{key}={value}"]
        return " ".join(parts)

    def log_store_conf(self) -> dict[str, str]:
        """delta-spark's S3DynamoDBLogStore for s3:// and s3a:// tables, on the table Terraform creates."""
        conf = dict.fromkeys(LOG_STORE_KEYS, LOG_STORE_CLASS)
        conf[DDB_TABLE_KEY] = self.block.delta_log_table
        conf[DDB_REGION_KEY] = self.block.region
        return conf

    def start_job_run_params(self, request: JobRequest, bundle: CodeBundle, after: str = "") -> dict[str, Any]:
        request = dataclasses.replace(request, delta_engine="delta-spark")  # EMR ships the delta-spark jars
        name = f"cardlake-{'-'.join(request.jobs)}-{request.run_id}"[:256]
        return {
            "applicationId": self.block.application_id,
            "clientToken": client_token(self.block.application_id, request.run_id, request.jobs, bundle.sha256, after),
            "executionRoleArn": self.block.execution_role_arn,
            "name": name,
            "jobDriver": {
                "sparkSubmit": {
                    "entryPoint": bundle.entry_uri(self.block.code_uri),
                    "entryPointArguments": request.to_argv(self.block.pan_key_secret_arn),
                    "sparkSubmitParameters": self.spark_submit_parameters(bundle),
                }
            },
            "configurationOverrides": {
                "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": self.block.logs_uri}}
            },
            "executionTimeoutMinutes": self.block.execution_timeout_minutes,
            "tags": {**self.block.tags, "cardlake-run-id": request.run_id},
        }

    def driver_log_uri(self, job_run_id: str) -> str:
        app = self.block.application_id
        return f"{self.block.logs_uri}applications/{app}/jobs/{job_run_id}/SPARK_DRIVER/stderr.gz"

    # -- running ----------------------------------------------------------------------------------

    def run(self, request: JobRequest) -> SparkJobResult:
        bundle = self.upload_code()
        after = ""
        for _ in range(MAX_RESTARTS):
            params = self.start_job_run_params(request, bundle, after)
            response = self._call(self.emr.start_job_run, **params)
            job_run_id = response["jobRunId"]
            log.info("EMR Serverless job run %s (clientToken %s)", job_run_id, params["clientToken"])
            job_run = self._watch(job_run_id)
            if job_run["state"] == "SUCCESS":
                return self._result(request, job_run)
            if not _earlier_attempt(job_run, response):
                raise SparkJobFailed(
                    job_run["state"], job_run.get("stateDetails", ""), self.driver_log_uri(job_run_id), job_run_id
                )
            # The token handed back a run that failed before this call: an earlier attempt that this retry
            # should replace. Chaining the token on that run keeps the new token deterministic too.
            log.warning("job run %s is an earlier attempt that ended %s; starting afresh", job_run_id, job_run["state"])
            after = job_run_id
        raise SparkJobFailed("FAILED", f"{MAX_RESTARTS} failed attempts of run {request.run_id}", None)

    def _watch(self, job_run_id: str) -> dict[str, Any]:
        """Poll until a terminal state; on any interruption or timeout cancel the run before re-raising."""
        try:
            return self._poll(job_run_id)
        except BaseException as exc:  # KeyboardInterrupt, CancelledError, Prefect's TerminationSignal, timeout
            final_state = self._cancel_interrupted(job_run_id, exc, "job run")
            if isinstance(exc, TimeoutError):
                raise SparkJobTimeout(
                    f"TIMED_OUT, then {final_state}",
                    f"no terminal state after {self.block.effective_poll_timeout_s:.0f} s; "
                    "the runner cancelled the job run",
                    self.driver_log_uri(job_run_id),
                    job_run_id,
                ) from exc
            raise

    def _poll(self, job_run_id: str) -> dict[str, Any]:
        deadline = self._clock() + self.block.effective_poll_timeout_s
        interval = self.block.poll_interval_s
        while True:
            job_run = self._get(job_run_id)
            if job_run["state"] not in RUNNING_STATES:
                return job_run
            if self._clock() + interval > deadline:
                raise TimeoutError(f"job run {job_run_id} still {job_run['state']}")
            log.debug("job run %s is %s; next check in %.0f s", job_run_id, job_run["state"], interval)
            self._sleep(interval)
            interval = min(interval * self.block.poll_backoff, self.block.poll_max_interval_s)

    def _cancel_interrupted(self, job_run_id: str, exc: BaseException, what: str) -> str:
        """Cancel a run that `exc` interrupted the wait for (never leave it running unseen); its final state, or
        UNKNOWN when the cancel itself failed (the original exception is kept; the log says the run may live on)."""
        log.warning("stopping EMR Serverless %s %s: %s", what, job_run_id, type(exc).__name__)
        try:
            return self.cancel(job_run_id)
        except Exception as cancel_error:
            log.error("could not cancel job run %s (%s): cancel it by hand", job_run_id, cancel_error)
            return "UNKNOWN"

    def cancel(self, job_run_id: str) -> str:
        """Cancel a job run and watch it end; returns the last state seen."""
        try:
            self._call(self.emr.cancel_job_run, applicationId=self.block.application_id, jobRunId=job_run_id)
        except ClientError as exc:  # e.g. it finished in the meantime: the state check below tells
            log.warning("cancel_job_run %s: %s", job_run_id, exc)
        deadline = self._clock() + self.block.cancel_wait_s
        while True:
            state = self._get(job_run_id)["state"]
            if state not in RUNNING_STATES | {"CANCELLING"} or self._clock() >= deadline:
                break
            self._sleep(min(self.block.poll_interval_s, self.block.poll_max_interval_s))
        level = logging.INFO if state not in RUNNING_STATES else logging.ERROR
        log.log(level, "job run %s is %s after cancellation", job_run_id, state)
        return state

    def _get(self, job_run_id: str) -> dict[str, Any]:
        response = self._call(self.emr.get_job_run, applicationId=self.block.application_id, jobRunId=job_run_id)
        return dict(response["jobRun"])

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call an AWS API, backing off on throttling and transient server errors."""
        delay, attempts = 1.0, 8
        for attempt in range(1, attempts + 1):
            try:
                return fn(*args, **kwargs)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in RETRYABLE_ERRORS or attempt == attempts:
                    raise
                log.info("%s from AWS; retrying in %.0f s", code, delay)
                self._sleep(delay)
                delay = min(delay * 2, self.block.poll_max_interval_s)
        raise AssertionError("unreachable")

    def _result(self, request: JobRequest, job_run: dict[str, Any]) -> SparkJobResult:
        total = job_run.get("totalResourceUtilization") or {}
        billed = job_run.get("billedResourceUtilization") or total
        cost = None
        if billed:
            cost = self.block.estimate_cost_usd(
                billed.get("vCPUHour", 0.0), billed.get("memoryGBHour", 0.0), billed.get("storageGBHour", 0.0)
            )
        job_run_id = job_run["jobRunId"]
        return SparkJobResult(
            job_run_id=job_run_id,
            state=job_run["state"],
            results=read_job_results(request.lake_uri, request.run_id, request.jobs, self.s3),
            cost=SparkCost(
                vcpu_hours=total.get("vCPUHour"),
                memory_gb_hours=total.get("memoryGBHour"),
                storage_gb_hours=total.get("storageGBHour"),
                estimated_cost_usd=cost,
            ),
            log_uri=self.driver_log_uri(job_run_id),
            duration_s=job_run.get("totalExecutionDurationSeconds"),
            details={"billed_resource_utilization": billed} if billed else {},
        )


def _earlier_attempt(job_run: dict[str, Any], start_response: dict[str, Any]) -> bool:
    """A failed run created well before the StartJobRun call (server clock on both sides) is not this call's."""
    date = start_response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    created = job_run.get("createdAt")
    if job_run["state"] not in FAILED_STATES or not date or not isinstance(created, datetime):
        return False
    return created < parsedate_to_datetime(date) - STALE_AFTER
