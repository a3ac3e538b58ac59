"""The Spark runner interface: one request in, one result out, the same for every place Spark runs.

The request is `contracts.jobs.JobRequest`; each job writes its `JobResult` to
`contracts.lake.job_result_uri(...)`, which the runner reads back, so callers never parse driver logs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from contracts.jobs import JobRequest
from contracts.lake import job_result_uri
from contracts.results import JobResult, SparkCost


@dataclass
class SparkJobResult:
    job_run_id: str
    state: str
    results: dict[str, JobResult]  # job name -> its result file, in the order the jobs ran
    cost: SparkCost = field(default_factory=SparkCost)
    log_uri: str | None = None
    duration_s: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class SparkJobFailed(RuntimeError):
    """A Spark job run that did not succeed; the message names the state, the reason and where the log is."""

    def __init__(self, state: str, state_details: str, log_location: str | None, job_run_id: str = "") -> None:
        self.state = state
        self.state_details = state_details
        self.log_location = log_location
        self.job_run_id = job_run_id
        run = f" {job_run_id}" if job_run_id else ""
        details = state_details or "no details given"
        separator = "\n" if "\n" in details else " "  # a log tail reads better starting on its own line
        super().__init__(
            f"Spark job run{run} ended in state {state}:{separator}{details}\n"
            f"Driver log: {log_location or 'not available'}"
        )


class SparkRunner(ABC):
    @abstractmethod
    def run(self, request: JobRequest) -> SparkJobResult:
        """Run the request's jobs to completion and return their results, or raise SparkJobFailed."""


def read_job_results(
    lake_uri: str, run_id: str, jobs: Iterable[str], s3_client: Any | None = None
) -> dict[str, JobResult]:
    """Each job's result file, from a local lake or an s3:// one; a missing file is an error, not an empty dict."""
    results: dict[str, JobResult] = {}
    missing: list[str] = []
    for job in jobs:
        location = job_result_uri(lake_uri, run_id, job)
        text = _read_text(location, s3_client)
        if text is None:
            missing.append(location)
            continue
        try:
            results[job] = JobResult.from_json(text)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"job result {location} is not valid JSON: {exc}") from exc
    if missing:
        raise FileNotFoundError("the Spark run reported success but wrote no result for: " + ", ".join(missing))
    return results


def _read_text(location: str, s3_client: Any | None) -> str | None:
    parsed = urlparse(location)
    if parsed.scheme in ("s3", "s3a"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        try:
            body = s3_client.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"]
        except s3_client.exceptions.NoSuchKey:
            return None
        return body.read().decode("utf-8")
    path = Path(parsed.path if parsed.scheme == "file" else location)
    return path.read_text(encoding="utf-8") if path.exists() else None
