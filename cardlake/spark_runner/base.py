"""The Spark runner interface: one request in, one result out, the same for every place Spark runs.

Arguments follow docs/contracts.md section 4; each job writes `<lake>/_runs/<run_id>/<job>.json`, which the
runner reads back so callers never parse driver logs.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from cardlake.settings import iso

DELTA_ENGINES = ("delta-rs", "delta-spark")


@dataclass(frozen=True)
class SparkJobRequest:
    jobs: tuple[str, ...]  # e.g. ("silver", "gold"), run in this order by spark_jobs/main.py
    landing_uri: str
    lake_uri: str
    window_start: datetime
    window_end: datetime
    run_id: str
    delta_engine: str = "delta-rs"
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.jobs:
            raise ValueError("SparkJobRequest needs at least one job name")
        bad = [job for job in self.jobs if not job or "," in job or job.strip() != job]
        if bad:
            raise ValueError(f"invalid job names {bad!r}: names are joined with commas for --job")
        if self.delta_engine not in DELTA_ENGINES:
            raise ValueError(f"delta_engine must be one of {DELTA_ENGINES}, got {self.delta_engine!r}")
        if self.window_end <= self.window_start:
            raise ValueError(f"window_end {self.window_end} must be after window_start {self.window_start}")
        if not self.run_id:
            raise ValueError("run_id must not be empty")


@dataclass
class SparkJobResult:
    job_run_id: str
    state: str
    results: dict[str, dict[str, Any]]  # job name -> the parsed <lake>/_runs/<run_id>/<job>.json
    vcpu_hours: float | None = None
    memory_gb_hours: float | None = None
    storage_gb_hours: float | None = None
    estimated_cost_usd: float | None = None
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
    def run(self, request: SparkJobRequest) -> SparkJobResult:
        """Run the request's jobs to completion and return their results, or raise SparkJobFailed."""


def build_job_args(request: SparkJobRequest, pan_key_secret_id: str | None = None) -> list[str]:
    """The spark_jobs/main.py arguments of contracts section 4 (the PAN key itself is never an argument)."""
    args = [
        "--job",
        ",".join(request.jobs),
        "--landing-uri",
        request.landing_uri,
        "--lake-uri",
        request.lake_uri,
        "--window-start",
        iso(request.window_start),
        "--window-end",
        iso(request.window_end),
        "--run-id",
        request.run_id,
        "--delta-engine",
        request.delta_engine,
    ]
    if pan_key_secret_id:
        args += ["--pan-key-secret-id", pan_key_secret_id]
    return args + list(request.extra_args)


def result_key(lake_uri: str, run_id: str, job: str) -> str:
    return f"{lake_uri.rstrip('/')}/_runs/{run_id}/{job}.json"


def read_job_results(
    lake_uri: str, run_id: str, jobs: Iterable[str], s3_client: Any | None = None
) -> dict[str, dict[str, Any]]:
    """Each job's result file, from a local lake or an s3:// one; a missing file is an error, not an empty dict."""
    results: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for job in jobs:
        location = result_key(lake_uri, run_id, job)
        text = _read_text(location, s3_client)
        if text is None:
            missing.append(location)
            continue
        try:
            results[job] = json.loads(text)
        except json.JSONDecodeError as exc:
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
