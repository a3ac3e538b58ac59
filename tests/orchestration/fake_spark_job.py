"""A tiny stand-in for spark_jobs/main.py: the same arguments (`JobRequest.from_argv`) and result files.

Each requested job behaves as `FAKE_SPARK_JOBS` (JSON: job name -> behaviour) says, default `echo`:
`count` (a real Spark job: 1000 rows, 500 even), `echo` (no Spark; reports the key's hash and argv in its notes),
`fail`, `sleep` (spawns a grandchild and waits, for interruption tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from contracts.jobs import PAN_KEY_ENV, JobRequest, LocalSpark
from contracts.lake import job_result_uri
from contracts.results import JobResult, TableCounts


def _result(job: str, behaviour: str, key: str, argv: list[str], lake: Path, run_id: str) -> JobResult:
    notes = (f"pan_key_sha256={hashlib.sha256(key.encode()).hexdigest()}", f"argv={json.dumps(argv)}")
    tables: tuple[TableCounts, ...] = ()
    if behaviour == "count":
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
        rows = spark.range(1000).filter("id % 2 = 0").count()
        tables = (TableCounts("even_rows", read=rows, accepted=rows),)
    elif behaviour == "fail":
        print("about to fail", file=sys.stderr)
        raise RuntimeError("fake job failed on purpose: window has no manifest")
    elif behaviour == "sleep":
        child = subprocess.Popen(["sleep", "60"])
        (lake / "pids.json").write_text(json.dumps({"job": os.getpid(), "child": child.pid}))
        time.sleep(60)
    return JobResult(tables=tables, notes=notes, job=job, run_id=run_id)


def run_request(request: JobRequest, pan_key: str, local: LocalSpark | None = None) -> dict[str, JobResult]:
    behaviours = json.loads(os.environ.get("FAKE_SPARK_JOBS", "{}"))
    lake = Path(request.lake_uri)
    results = {}
    for job in request.jobs:
        result = _result(job, behaviours.get(job, "echo"), pan_key, sys.argv[1:], lake, request.run_id)
        out = Path(job_result_uri(request.lake_uri, request.run_id, job))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.to_json())
        results[job] = result
    return results


def main() -> None:
    request, _ = JobRequest.from_argv(sys.argv[1:])
    run_request(request, os.environ.get(PAN_KEY_ENV, ""))


if __name__ == "__main__":
    main()
