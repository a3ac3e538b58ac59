"""The features job when a day is appended to a long history: what a daily run or a stream micro-batch pays.

    .venv/bin/python bench/bench_features_append.py [--cards 400] [--months 12] [--append-days 3]
        [--workdir DIR] [--out bench/results/features_append.json] [--label TEXT]

1. Builds silver for `--cards` cards over `--months` months with the simulator, through the lake's own silver
   transforms (bench_features' builder, cached in `--workdir` when given), and writes it as the lake's Delta
   tables, minus the last `--append-days` days.
2. Runs the features job once over that history (every row new: the initial backfill), timed.
3. Appends the held-back days one at a time (each its own run id, as a daily run lands them) and times the
   incremental features job for each: the figure a daily run and every stream micro-batch pay.
4. Checks the table the appends left against a full recomputation of every row (row hashes equal), and fails
   loudly when they differ: a faster job that computes different features is no result.

Writes `--out` and prints it. For a before/after comparison run the same script from a checkout of the older code.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_features import add_months, cached_silver  # noqa: E402
from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from quoted_command import public_command  # noqa: E402

from cardapi.config import SimulatorConfig  # noqa: E402
from contracts import lake  # noqa: E402
from contracts.jobs import FeaturesOptions  # noqa: E402
from contracts.landing import Window  # noqa: E402
from spark_jobs.delta_io import DeltaIO, MergeSpec, get_delta_io  # noqa: E402
from spark_jobs.jobs import features as features_job  # noqa: E402
from spark_jobs.jobs.context import JobContext  # noqa: E402
from spark_jobs.session import get_spark  # noqa: E402
from spark_jobs.transforms.features import category_amount_reference, transaction_features  # noqa: E402

RESULTS = HERE / "results" / "features_append.json"
KEYED_BY_FIRST_COLUMN = ("cardholders", "addresses", "merchants")


def timed_features_run(spark: SparkSession, delta: DeltaIO, lake_uri: str, run_id: str) -> dict[str, Any]:
    ctx = JobContext(spark, delta, "", lake_uri, Window(datetime(2000, 1, 1), datetime(2000, 1, 2)), run_id)
    started = time.perf_counter()
    outcome = features_job.run(ctx, FeaturesOptions())
    seconds = time.perf_counter() - started
    counts = outcome.table(lake.GOLD_TRANSACTION_FEATURES.path)
    return {
        "run_id": run_id,
        "seconds": round(seconds, 2),
        "transactions": counts.read,
        "inserted": counts.inserted,
        "updated": counts.updated,
        "note": counts.note,
    }


def append(delta: DeltaIO, rows: DataFrame, lake_uri: str, run_id: str) -> int:
    batch = rows.withColumn("run_id", F.lit(run_id))
    return delta.merge(batch, lake.SILVER_TRANSACTIONS.uri(lake_uri), MergeSpec(keys=("transaction_id",))).source_rows


def full_recompute_hashes(spark: SparkSession, delta: DeltaIO, lake_uri: str) -> dict[str, str]:
    def read(table: lake.LakeTable) -> DataFrame:
        return delta.read(spark, table.uri(lake_uri))

    tx = read(lake.SILVER_TRANSACTIONS)
    features = transaction_features(
        tx, read(lake.SILVER_CARDHOLDERS), read(lake.SILVER_ADDRESSES), category_amount_reference(tx)
    )
    return {r["transaction_id"]: r["row_hash"] for r in features.select("transaction_id", "row_hash").collect()}


def stored_hashes(spark: SparkSession, delta: DeltaIO, lake_uri: str) -> dict[str, str]:
    table = delta.read(spark, lake.GOLD_TRANSACTION_FEATURES.uri(lake_uri)).select("transaction_id", "row_hash")
    return {r["transaction_id"]: r["row_hash"] for r in table.collect()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=400)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--append-days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, help="keep and reuse the simulated silver here")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--label", default="", help="what code was measured (e.g. a commit), kept in the result")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cardlake-features-append-"))
    workdir.mkdir(parents=True, exist_ok=True)
    lake_uri = str(workdir / "lake")
    shutil.rmtree(lake_uri, ignore_errors=True)
    end = add_months(args.start, args.months)
    first_appended = end - timedelta(days=args.append_days)

    spark = get_spark("bench-features-append")
    spark.sparkContext.setLogLevel("ERROR")
    delta = get_delta_io("delta-rs", spark)
    config = SimulatorConfig(n_cards=args.cards, start=args.start, end=end, seed=args.seed)
    silver = cached_silver(spark, config, args.start, end, workdir)
    for name in KEYED_BY_FIRST_COLUMN:
        df = silver[name]
        delta.merge(df, f"{lake_uri}/silver/{name}", MergeSpec(keys=(df.columns[0],)))
    transactions = silver["transactions"]
    history = transactions.where(F.col("transaction_date") < F.lit(first_appended))
    append(delta, history, lake_uri, "history")
    initial = timed_features_run(spark, delta, lake_uri, "history")
    print(f"initial features: {initial['transactions']:,} transactions in {initial['seconds']} s", flush=True)

    appended: list[dict[str, Any]] = []
    for offset in range(args.append_days):
        day = first_appended + timedelta(days=offset)
        run_id = f"append-{day.isoformat()}"
        rows = append(delta, transactions.where(F.col("transaction_date") == F.lit(day)), lake_uri, run_id)
        run = {"day": day.isoformat(), "silver_rows_before": initial["transactions"] + sum(
            a["transactions"] for a in appended), **timed_features_run(spark, delta, lake_uri, run_id)}  # fmt: skip
        assert run["transactions"] == rows, f"{day}: {rows} appended, the job read {run['transactions']}"
        appended.append(run)
        print(f"{day}: {rows:,} transactions appended, features in {run['seconds']} s ({run['note']})", flush=True)

    expected, stored = full_recompute_hashes(spark, delta, lake_uri), stored_hashes(spark, delta, lake_uri)
    differing = sorted(k for k in expected.keys() | stored.keys() if expected.get(k) != stored.get(k))
    report = {
        "label": args.label,
        "command": public_command("bench/bench_features_append.py", sys.argv[1:]),
        "simulator": {
            "cards": args.cards,
            "months": args.months,
            "start": args.start.isoformat(),
            "end": end.isoformat(),
            "seed": args.seed,
        },
        "initial": initial,
        "appended_days": appended,
        "append_seconds_median": statistics.median(a["seconds"] for a in appended) if appended else None,
        "rows_in_lake": len(expected),
        "matches_full_recomputation": not differing,
        "differing_rows": len(differing),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    spark.stop()
    if differing:
        raise SystemExit(f"{len(differing)} feature row(s) differ from a full recomputation, e.g. {differing[:3]}")


if __name__ == "__main__":
    main()
