"""A tiny stand-in for spark_jobs/main.py with the same arguments and result files (contracts section 4).

Jobs: `count` (a real Spark job when a SparkSession can start), `echo` (no Spark), `fail`, `sleep` (spawns a
grandchild and waits, for interruption tests).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job", required=True)
    parser.add_argument("--landing-uri", required=True)
    parser.add_argument("--lake-uri", required=True)
    parser.add_argument("--window-start", required=True)
    parser.add_argument("--window-end", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--delta-engine", default="delta-rs")
    parser.add_argument("--pan-key-secret-id")
    return parser.parse_args(argv)


def _metrics(job: str, lake: Path) -> dict:
    key = os.environ.get("CARDLAKE_PAN_TOKEN_KEY", "")
    metrics: dict = {"pan_key_sha256": hashlib.sha256(key.encode()).hexdigest(), "argv": sys.argv[1:]}
    if job == "count":
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
        metrics["rows"] = spark.range(1000).filter("id % 2 = 0").count()
    elif job == "fail":
        print("about to fail", file=sys.stderr)
        raise RuntimeError("fake job failed on purpose: window has no manifest")
    elif job == "sleep":
        child = subprocess.Popen(["sleep", "60"])
        (lake / "pids.json").write_text(json.dumps({"job": os.getpid(), "child": child.pid}))
        time.sleep(60)
    return metrics


def run_jobs(argv: list[str]) -> dict:
    args = _parse(argv)
    lake = Path(args.lake_uri)
    results = {}
    for job in args.job.split(","):
        started = datetime.now(UTC).isoformat()
        result = {
            "job": job,
            "run_id": args.run_id,
            "status": "succeeded",
            "metrics": _metrics(job, lake),
            "started_at": started,
            "finished_at": datetime.now(UTC).isoformat(),
        }
        out = lake / "_runs" / args.run_id / f"{job}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result))
        results[job] = result
    return results


def main() -> None:
    run_jobs(sys.argv[1:])


if __name__ == "__main__":
    main()
