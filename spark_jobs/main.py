"""Entry point of every Spark job, unchanged between local spark-submit and EMR Serverless.

    spark-submit spark_jobs/main.py --job silver,gold --landing-uri URI --lake-uri URI \
        --window-start 2025-06-01T00:00:00Z --window-end 2025-07-01T00:00:00Z --run-id ID

The arguments are `contracts.jobs.JobRequest`'s; each job's `JobResult` is written to
`contracts.lake.job_result_uri(lake, run_id, job)` for the caller (docs/contracts.md section 4).

    spark-submit spark_jobs/main.py --stream --landing-uri URI --lake-uri URI [--options JSON] ...

runs the alerts stream instead, until it is cancelled (`contracts.jobs.StreamRequest`, docs/stream.md).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

if __package__ in (None, ""):
    # Run as a script by spark-submit: make the repository (or the shipped zip) importable.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from contracts.jobs import PAN_KEY_ENV, STREAM_ARG, JobRequest, LocalSpark, StreamRequest
from contracts.lake import job_result_uri
from contracts.results import JobOutcome, JobResult
from spark_jobs.session import get_spark


def resolve_pan_key(secret_id: str | None) -> str:
    """The PAN token key: the environment (set by the local runner) or Secrets Manager (EMR); never an argument."""
    key = os.environ.get(PAN_KEY_ENV, "")
    if key:
        return key
    if secret_id:
        import boto3

        return str(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])
    raise SystemExit(f"no PAN token key: set {PAN_KEY_ENV} or pass --pan-key-secret-id")


def _write_result(uri: str, result: JobResult, spark: Any) -> None:
    """Through Hadoop's FileSystem, which Spark already has configured for the lake (local or S3)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(result.to_json().encode()))
    finally:
        stream.close()


def run_request(request: JobRequest, pan_key: str, local: LocalSpark | None = None) -> dict[str, JobResult]:
    """Run the request's jobs in order on the active (or a new) SparkSession; each result is written as it ends."""
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.jobs.context import JobContext

    spark = get_spark(f"cardlake-{','.join(request.jobs)}", local)
    ctx = JobContext(
        spark=spark,
        delta=get_delta_io(request.delta_engine, spark),
        landing_uri=request.landing_uri,
        lake_uri=request.lake_uri,
        window=request.window,
        run_id=request.run_id,
        source=request.source,
        pan_key=pan_key,
    )
    results: dict[str, JobResult] = {}
    for job in request.jobs:
        started = datetime.now(UTC)
        clock = time.monotonic()
        module = importlib.import_module(f"spark_jobs.jobs.{job}")
        outcome: JobOutcome = module.run(ctx, request.options.for_job(job))
        result = JobResult.of(
            outcome,
            job=job,
            run_id=request.run_id,
            started_at=started.isoformat(),
            finished_at=datetime.now(UTC).isoformat(),
            duration_s=round(time.monotonic() - clock, 2),
        )
        _write_result(job_result_uri(request.lake_uri, request.run_id, job), result, spark)
        results[job] = result
    return results


def run_jobs(argv: list[str]) -> dict[str, JobResult]:
    request, pan_key_secret_id = JobRequest.from_argv(argv)
    return run_request(request, resolve_pan_key(pan_key_secret_id))


def run_stream(argv: list[str]) -> None:
    from spark_jobs.stream_driver import run_stream as run_stream_request

    request, pan_key_secret_id = StreamRequest.from_argv(argv)
    run_stream_request(request, resolve_pan_key(pan_key_secret_id))


def main() -> None:
    if sys.argv[1:2] == [STREAM_ARG]:
        run_stream(sys.argv[1:])
        return
    results = run_jobs(sys.argv[1:])
    print(json.dumps({job: [t.table for t in r.tables] for job, r in results.items()}))


if __name__ == "__main__":
    main()
