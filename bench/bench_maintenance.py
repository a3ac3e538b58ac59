"""The small-files cost of daily merges, and what the `maintain` job (compaction, checkpoint, vacuum) wins back.

    .venv/bin/python bench/bench_maintenance.py [--days 90] [--rows-per-day 2000] [--update-shares 0 0.02]
        [--rounds 3] [--workdir DIR]

1. Merges `--days` daily batches into one Delta table with silver transactions' merge specification (key
   `transaction_id`, partitions by `transaction_month`, newest `updated_at` wins) through the lake's own
   delta-rs engine, as the daily runs do: each batch is a day of new rows plus a share of earlier rows changing
   state. One scenario per `--update-shares` value: 0 is insert-only (transactions arrive once), 0.02 has earlier
   rows changing every day (rewards being decided 45 days later), so merges also rewrite old partitions' files.
2. Measures the table as the daily runs leave it: data files, bytes (live and on storage, where replaced files
   stay until a vacuum), log versions; a full scan and a one-month
   scan in Spark (count and sum), and the next daily merge (each on a fresh copy of the table); medians of
   `--rounds`.
3. Runs the maintain job's steps on it (`DeltaIO.compact` with checkpoint, `DeltaIO.vacuum` at retention 0 so the
   replaced files are gone at once; production keeps 168 h), timing each.
4. Measures again and writes bench/results/maintenance.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.delta_io import MergeSpec, get_delta_io
from spark_jobs.delta_io.base import DeltaIO
from spark_jobs.session import get_spark

RESULTS = Path(__file__).resolve().parent / "results" / "maintenance.json"
# silver/transactions' specification (spark_jobs/jobs/silver.py), with the default version and tiebreak columns.
SPEC = MergeSpec(keys=("transaction_id",), partition_by=("transaction_month",))
FIRST_DAY = datetime(2025, 1, 1, tzinfo=UTC)


def daily_batch(spark: SparkSession, day: int, rows: int, update_share: float) -> DataFrame:
    """Day `day`'s new transactions, plus a share of earlier days' rows in a newer state."""
    start = FIRST_DAY + timedelta(days=day)
    fresh = spark.range(rows).select(
        F.format_string(f"t{day:05d}-%08d", F.col("id")).alias("transaction_id"),
        F.lit(start).cast("timestamp").alias("transaction_ts"),
    )
    updates = int(rows * update_share) if day else 0
    # Deterministic picks among earlier days' rows (every run merges the same batches), on their own day.
    earlier = (
        spark.range(updates)
        .select(
            ((F.col("id") * 7919) % max(day, 1)).cast("int").alias("day"), ((F.col("id") * 104729) % rows).alias("n")
        )
        .select(
            F.format_string("t%05d-%08d", "day", "n").alias("transaction_id"),
            F.expr(f"timestamp'{FIRST_DAY:%Y-%m-%d %H:%M:%S}' + make_interval(0, 0, 0, day)").alias("transaction_ts"),
        )
    )
    return (
        fresh.unionByName(earlier)
        .withColumn("transaction_month", F.date_format("transaction_ts", "yyyy-MM"))
        .withColumn("card_token", F.sha2(F.substring("transaction_id", -3, 3), 256))
        .withColumn("amount_minor", (F.abs(F.hash("transaction_id")) % 20000).cast("long"))
        .withColumn("currency", F.lit("GBP"))
        .withColumn("merchant_name", F.concat(F.lit("merchant "), F.abs(F.hash("transaction_id")) % 900))
        .withColumn(
            "category",
            F.element_at(
                F.array(*map(F.lit, ("grocery_pos", "gas_transport", "misc_net"))),
                (F.abs(F.hash("transaction_id")) % 3 + 1).cast("int"),
            ),
        )
        .withColumn("status", F.lit("settled" if day else "pending"))
        .withColumn("updated_at", F.lit(start + timedelta(hours=12)).cast("timestamp"))
        .withColumn("record_hash", F.sha2(F.concat_ws("|", "transaction_id", "status", "updated_at"), 256))
    )


def timed(action: Callable[[], Any]) -> float:
    clock = time.perf_counter()
    action()
    return round(time.perf_counter() - clock, 3)


def median_of(rounds: int, action: Callable[[], Any]) -> float:
    return round(statistics.median(timed(action) for _ in range(rounds)), 3)


def measure(spark: SparkSession, delta: DeltaIO, uri: str, args: argparse.Namespace, next_day: int) -> dict[str, Any]:
    files = delta.data_files(uri)
    on_storage = [p for p in Path(uri).rglob("*.parquet") if "_delta_log" not in p.parts]
    month = (FIRST_DAY + timedelta(days=args.days // 2)).strftime("%Y-%m")

    def full_scan() -> None:
        delta.read(spark, uri).agg(F.count("*"), F.sum("amount_minor")).collect()

    def month_scan() -> None:
        delta.read(spark, uri).where(F.col("transaction_month") == month).agg(F.sum("amount_minor")).collect()

    batch = daily_batch(spark, next_day, args.rows_per_day, args.update_share).cache()
    batch.count()
    merges = []
    for i in range(args.rounds):  # each merge on its own copy, so every round sees the same table
        copy = f"{uri}-merge-{i}"
        shutil.copytree(uri, copy)
        merges.append(timed(lambda copy=copy: delta.merge(batch, copy, SPEC)))
        shutil.rmtree(copy)
    batch.unpersist()
    return {
        "data_files": files.count,
        "data_mb": round(files.bytes / 1e6, 2),
        "files_on_storage": len(on_storage),
        "mb_on_storage": round(sum(p.stat().st_size for p in on_storage) / 1e6, 2),
        "log_versions": (delta.version(uri) or 0) + 1,
        "full_scan_s": median_of(args.rounds, full_scan),
        "month_scan_s": median_of(args.rounds, month_scan),
        "next_daily_merge_s": round(statistics.median(merges), 3),
    }


def scenario(spark: SparkSession, delta: DeltaIO, args: argparse.Namespace, update_share: float) -> dict[str, Any]:
    uri = str(args.workdir / f"transactions-{update_share:g}")
    scenario_args = argparse.Namespace(**{**vars(args), "update_share": update_share})
    clock = time.perf_counter()
    for day in range(args.days):
        delta.merge(daily_batch(spark, day, args.rows_per_day, update_share), uri, SPEC)
    build_s = round(time.perf_counter() - clock, 1)
    rows = delta.read(spark, uri).count()

    before = measure(spark, delta, uri, scenario_args, args.days)
    compact_s = timed(lambda: delta.compact(uri))
    clock = time.perf_counter()
    vacuumed = delta.vacuum(uri, retention_hours=0)
    vacuum_s = round(time.perf_counter() - clock, 3)
    after = measure(spark, delta, uri, scenario_args, args.days)
    assert delta.read(spark, uri).count() == rows, "maintenance changed the row count"
    ratio_keys = (
        "data_files",
        "files_on_storage",
        "mb_on_storage",
        "full_scan_s",
        "month_scan_s",
        "next_daily_merge_s",
    )
    return {
        "update_share": update_share,
        "rows": rows,
        "build_s": build_s,
        "before": before,
        "maintenance": {"compact_s": compact_s, "vacuum_s": vacuum_s, "files_vacuumed": vacuumed},
        "after": after,
        "before_over_after": {k: round(before[k] / after[k], 2) if after[k] else None for k in ratio_keys},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--update-shares", type=float, nargs="+", default=[0.0, 0.02])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cardlake-bench-maintenance")
    args = parser.parse_args(argv)

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    spark = get_spark("bench-maintenance")
    delta = get_delta_io("delta-rs", spark)
    report = {
        "command": "python bench/bench_maintenance.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "days": args.days,
        "rows_per_day": args.rows_per_day,
        "rounds": args.rounds,
        "scenarios": [scenario(spark, delta, args, share) for share in args.update_shares],
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    spark.stop()
    return report


if __name__ == "__main__":
    main()
