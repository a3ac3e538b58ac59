"""The alerts stream on EMR Serverless: one job run in STREAMING mode, started, reported and stopped on demand.

Unlike a batch request, nothing waits for the end: `start` returns once the job run is RUNNING, `status` reports
the newest stream job run, `stop` cancels it (CancelJobRun) and watches it end. A STREAMING job run has no
execution timeout; EMR restarts a failed attempt itself, up to `retryPolicy.maxFailedAttemptsPerHour`, and each
attempt resumes from the checkpoint under the lake (docs/stream.md, docs/emr.md).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cardlake.spark_runner.base import SparkJobFailed
from cardlake.spark_runner.emr import FAILED_STATES, RUNNING_STATES, EmrServerlessRunner, SparkJobTimeout, client_token
from cardlake.spark_runner.packaging import CodeBundle
from contracts.jobs import StreamRequest

log = logging.getLogger(__name__)

STREAM_JOB_NAME = "cardlake-stream"  # how the stream's job runs are told apart from the batch's
STREAM_MODE = "STREAMING"
# The states in which a stream job run holds the checkpoint: a second one must not start beside it.
LIVE_STATES = RUNNING_STATES | {"CANCELLING"}


@dataclass(frozen=True)
class StreamRun:
    job_run_id: str
    state: str
    state_details: str
    log_uri: str
    attempt: int | None = None
    created_at: datetime | None = None
    already_running: bool = False  # `start` found this run under way and started none

    def failure(self) -> SparkJobFailed | None:
        """The readable error of a stream that ended FAILED (or was cancelled by someone else), else None."""
        if self.state not in FAILED_STATES:
            return None
        return SparkJobFailed(self.state, self.state_details, self.log_uri, self.job_run_id)


class EmrStreamRunner(EmrServerlessRunner):
    """Starts, reports and stops the stream's job run; the upload, parameters and AWS call retries are the batch
    runner's, so both run the same code bundle the same way."""

    def start_stream_params(self, request: StreamRequest, bundle: CodeBundle, after: str = "") -> dict[str, Any]:
        request = dataclasses.replace(request, delta_engine="delta-spark")  # EMR ships the delta-spark jars
        block = self.block
        return {
            "applicationId": block.application_id,
            # Same code and the same last stream run, same token: a retried start re-attaches, a start after a stop
            # (a new last run) starts afresh.
            "clientToken": client_token(block.application_id, STREAM_JOB_NAME, ("stream",), bundle.sha256, after),
            "executionRoleArn": block.execution_role_arn,
            "name": STREAM_JOB_NAME,
            "mode": STREAM_MODE,
            "retryPolicy": {"maxFailedAttemptsPerHour": block.stream_max_failed_attempts_per_hour},
            "jobDriver": {
                "sparkSubmit": {
                    "entryPoint": bundle.entry_uri(block.code_uri),
                    "entryPointArguments": request.to_argv(block.pan_key_secret_arn),
                    "sparkSubmitParameters": self.spark_submit_parameters(bundle),
                }
            },
            "configurationOverrides": {
                "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": block.logs_uri}}
            },
            # No executionTimeoutMinutes: a stream runs until it is cancelled.
            "tags": {**block.tags, "cardlake-run-id": STREAM_JOB_NAME},
        }

    # -- the three commands -----------------------------------------------------------------------

    def start_stream(self, request: StreamRequest) -> StreamRun:
        """Start the stream (or find the one under way) and return once it is RUNNING; raise SparkJobFailed if it
        ends before that, SparkJobTimeout (after cancelling it) if it is not RUNNING within the start timeout."""
        newest = self._newest_stream_run()
        if newest is not None and newest["state"] == "CANCELLING":
            raise RuntimeError(
                f"the stream's job run {newest['id']} is still CANCELLING: start it again once that has ended"
            )
        if newest is not None and newest["state"] in RUNNING_STATES:
            log.info("stream job run %s is already %s", newest["id"], newest["state"])
            # Someone else's start: wait for it, but an interruption here must not cancel their stream.
            return dataclasses.replace(self._poll_until_running(newest["id"]), already_running=True)
        bundle = self.upload_code()
        params = self.start_stream_params(request, bundle, after=newest["id"] if newest else "")
        job_run_id = self._call(self.emr.start_job_run, **params)["jobRunId"]
        log.info("EMR Serverless stream job run %s (clientToken %s)", job_run_id, params["clientToken"])
        return self._until_running(job_run_id)

    def stream_status(self) -> StreamRun | None:
        """The newest stream job run, in whatever state; None if the stream never ran on this application."""
        newest = self._newest_stream_run()
        return None if newest is None else self._stream_run(self._get(newest["id"]))

    def stop_stream(self) -> StreamRun | None:
        """Cancel the live stream job run and watch it end; None if none was live."""
        newest = self._newest_stream_run()
        if newest is None or newest["state"] not in LIVE_STATES:
            return None
        self.cancel(newest["id"])
        return self._stream_run(self._get(newest["id"]))

    # -- helpers ----------------------------------------------------------------------------------

    def _newest_stream_run(self) -> dict[str, Any] | None:
        runs: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page_args: dict[str, Any] = {"applicationId": self.block.application_id, "mode": STREAM_MODE}
            if token:
                page_args["nextToken"] = token
            page = self._call(self.emr.list_job_runs, **page_args)
            runs += [run for run in page.get("jobRuns", []) if run.get("name") == STREAM_JOB_NAME]
            token = page.get("nextToken")
            if not token:
                break
        return max(runs, key=lambda run: run["createdAt"], default=None)

    def _until_running(self, job_run_id: str) -> StreamRun:
        try:
            return self._poll_until_running(job_run_id)
        except BaseException as exc:  # interrupted or timed out while starting: never leave it starting unseen
            final_state = self._cancel_interrupted(job_run_id, exc, "stream job run")
            if isinstance(exc, TimeoutError):
                raise SparkJobTimeout(
                    f"NOT RUNNING, then {final_state}",
                    f"the stream was not RUNNING after {self.block.stream_start_timeout_s:.0f} s; "
                    "the runner cancelled the job run",
                    self.driver_log_uri(job_run_id),
                    job_run_id,
                ) from exc
            raise

    def _poll_until_running(self, job_run_id: str) -> StreamRun:
        deadline = self._clock() + self.block.stream_start_timeout_s
        interval = self.block.poll_interval_s
        while True:
            run = self._stream_run(self._get(job_run_id))
            if run.state == "RUNNING":
                return run
            if run.state not in RUNNING_STATES:  # ended before it ran: FAILED, CANCELLED, or SUCCESS of a stream
                raise SparkJobFailed(run.state, run.state_details, run.log_uri, job_run_id)
            if self._clock() + interval > deadline:
                raise TimeoutError(f"stream job run {job_run_id} still {run.state}")
            self._sleep(interval)
            interval = min(interval * self.block.poll_backoff, self.block.poll_max_interval_s)

    def _stream_run(self, job_run: dict[str, Any]) -> StreamRun:
        job_run_id = job_run["jobRunId"]
        return StreamRun(
            job_run_id=job_run_id,
            state=job_run["state"],
            state_details=job_run.get("stateDetails", ""),
            log_uri=self.driver_log_uri(job_run_id),
            attempt=job_run.get("attempt"),
            created_at=job_run.get("createdAt"),
        )
