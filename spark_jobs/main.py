"""Entry point of every Spark job, unchanged between local spark-submit and EMR Serverless.

    spark-submit spark_jobs/main.py --job silver,gold --landing-uri URI --lake-uri URI \
        --window-start 2025-06-01T00:00:00Z --window-end 2025-07-01T00:00:00Z --run-id ID

Each job's result is written to <lake>/_runs/<run_id>/<job>.json for the caller (see docs/contracts.md §4).
"""

from __future__ import annotations

import argparse
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

JOBS = ("silver", "gold", "features", "score", "star", "export")


def _time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="spark_jobs/main.py", description=__doc__.splitlines()[0])
    parser.add_argument("--job", required=True, help=f"comma-separated, run in order; any of {', '.join(JOBS)}")
    parser.add_argument("--landing-uri", required=True)
    parser.add_argument("--lake-uri", required=True)
    parser.add_argument("--window-start", required=True, type=_time)
    parser.add_argument("--window-end", required=True, type=_time)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--delta-engine", default="delta-rs", choices=("delta-rs", "delta-spark"))
    parser.add_argument("--pan-key-secret-id", default=None, help="Secrets Manager id of the PAN token key (EMR)")
    parser.add_argument("--source", default="cardapi")
    parser.add_argument("--option", action="append", default=[], help="key=value passed to jobs as ctx.options")
    args = parser.parse_args(argv)
    unknown = [j for j in args.job.split(",") if j not in JOBS]
    if unknown:
        parser.error(f"unknown job(s) {', '.join(unknown)}; choose from {', '.join(JOBS)}")
    if args.window_end <= args.window_start:
        parser.error("--window-end must be after --window-start")
    return args


def resolve_pan_key(secret_id: str | None) -> str:
    """The PAN token key: the environment (set by the local runner) or Secrets Manager (EMR); never an argument."""
    key = os.environ.get("CARDLAKE_PAN_TOKEN_KEY", "")
    if key:
        return key
    if secret_id:
        import boto3

        return boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    raise SystemExit("no PAN token key: set CARDLAKE_PAN_TOKEN_KEY or pass --pan-key-secret-id")


def _write_result(lake_uri: str, run_id: str, job: str, body: dict[str, Any], spark: Any) -> None:
    uri = f"{lake_uri.rstrip('/')}/_runs/{run_id}/{job}.json"
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(json.dumps(body, default=str, indent=2).encode()))
    finally:
        stream.close()


def run_jobs(argv: list[str]) -> dict[str, Any]:
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.jobs.context import JobContext
    from spark_jobs.session import get_spark

    args = parse_args(argv)
    spark = get_spark(f"cardlake-{args.job}")
    options = dict(item.split("=", 1) for item in args.option)
    options.setdefault("source", args.source)
    ctx = JobContext(
        spark=spark,
        delta=get_delta_io(args.delta_engine, spark),
        landing_uri=args.landing_uri,
        lake_uri=args.lake_uri,
        window_start=args.window_start,
        window_end=args.window_end,
        run_id=args.run_id,
        pan_key=resolve_pan_key(args.pan_key_secret_id),
        options=options,
    )
    results: dict[str, Any] = {}
    for job in args.job.split(","):
        started = datetime.now(UTC)
        clock = time.monotonic()
        module = importlib.import_module(f"spark_jobs.jobs.{job}")
        metrics = module.run(ctx)
        body = {
            "job": job,
            "run_id": args.run_id,
            "status": "SUCCESS",
            "metrics": metrics,
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "duration_s": round(time.monotonic() - clock, 2),
        }
        _write_result(args.lake_uri, args.run_id, job, body, spark)
        results[job] = body
    return results


def main() -> None:
    results = run_jobs(sys.argv[1:])
    print(json.dumps({job: r["metrics"] for job, r in results.items()}, default=str))


if __name__ == "__main__":
    main()
