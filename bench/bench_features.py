"""Fraud features and model on simulator data, plus a report-only check on real Kaggle rows.

    .venv/bin/python bench/bench_features.py [--cards 400] [--months 12] [--holdout-months 2]
        [--workdir DIR] [--reuse-features] [--holdout-scores FILE.parquet]
        [--kaggle-file FILE.csv [--kaggle-start YYYY-MM-DD --kaggle-end YYYY-MM-DD] | --no-kaggle]
        [--seed 42 [--seeds 3]] [--cold-hours 31 --cold-windows 8]

1. Generates `--cards` cards over `--months` months with the simulator (cardapi.expected.records: exactly what
   the API would serve), turns the records into silver with the lake's own silver transforms.
2. Times the feature stage (all history at once) for that many transactions.
3. Trains the model on the earlier months (time-ordered split) and reports PR-AUC / ROC-AUC / precision /
   recall on the later-months holdout.
4. Replays a Kaggle-format file (default shared/data/kaggle/fraudTrain_head.csv, 5,039 real rows; any other with
   `--kaggle-file`, its window with `--kaggle-start/--kaggle-end`) through the same path and reports
   the model's PR-AUC and recall there (never used for training or threshold choice).
5. Cold start: `--cold-windows` consecutive `--cold-hours` windows from the holdout's start, each scored as an
   empty lake sees it (features from that window alone) and with full history; pooled, because one 31-hour
   window of a few hundred cards rarely holds a fraud burst.
With `--seeds N` it runs seeds SEED .. SEED+N-1 in turn and adds their means (the goals are stated on the mean).
Writes bench/results/features.json and prints it.

For iterating on the model: `--workdir DIR` keeps the silver tables (the slow part: the simulator's records
through the silver transforms) in DIR and reuses them when the simulator settings match; `--reuse-features`
also reuses DIR/features.parquet (only valid while the feature code is unchanged). `--holdout-scores` writes
every holdout purchase with its score, label and features (Parquet) for error analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from cardapi.config import SimulatorConfig
from cardapi.expected import landing_raw_records
from spark_jobs import schemas
from spark_jobs.delta_io import MergeSpec
from spark_jobs.fraud.evaluation import at_threshold
from spark_jobs.fraud.model import LABEL, GbtParams, with_label
from spark_jobs.fraud.registry import load_model, save_model
from spark_jobs.fraud.scoring import score_features
from spark_jobs.fraud.training import TrainedModel, train
from spark_jobs.session import get_spark
from spark_jobs.transforms import silver as T
from spark_jobs.transforms.features import category_amount_reference, transaction_features
from tests.devdata import KAGGLE_HEAD as KAGGLE_HEAD_FILE
from tests.devdata import shared_file

KAGGLE_HEAD = shared_file(KAGGLE_HEAD_FILE)


def shown_path(path: Path) -> str:
    """The file as the results name it: `shared/<relative>` for the shared data, else its name only, so the
    committed results never carry this machine's folders."""
    shared = shared_file("")
    try:
        return f"shared/{path.resolve().relative_to(shared.resolve())}"
    except ValueError:
        return path.name


RESULTS = Path(__file__).resolve().parent / "results" / "features.json"
BENCH_PAN_KEY = "bench-only-pan-key"
PAGE = 5_000


def add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def silver_from_records(spark: SparkSession, config: SimulatorConfig, start: date, end: date) -> dict[str, DataFrame]:
    """Contract records -> silver DataFrames, through the lake's own silver transforms (no HTTP, no landing)."""
    pages: list[tuple[str, str]] = []
    batch: list[str] = []
    for body in landing_raw_records(config, "transactions", start - timedelta(days=2), end + timedelta(days=120)):
        batch.append(body.decode())
        if len(batch) == PAGE:
            pages.append((f"bench-{len(pages):05d}", '{"data": [' + ",".join(batch) + "]}"))
            batch = []
    if batch:
        pages.append((f"bench-{len(pages):05d}", '{"data": [' + ",".join(batch) + "]}"))
    raw = spark.createDataFrame(pages, ["source_file", "value"])
    checked = (
        raw.transform(T.records_from_pages)
        .transform(T.parsed_with(schemas.RAW_TRANSACTION))
        .transform(T.with_transaction_rejection)
    )
    wide = T.accepted(checked).transform(T.normalised_transactions(BENCH_PAN_KEY, "bench")).cache()
    transactions = MergeSpec(keys=("transaction_id",)).latest_per_key(wide.transform(T.silver_transactions))
    return {
        "transactions": transactions.where(F.col("transaction_ts") < F.lit(str(end))).cache(),
        "cardholders": wide.transform(T.silver_cardholders).dropDuplicates(["cardholder_id"]),
        "addresses": wide.transform(T.silver_addresses).dropDuplicates(["address_id"]),
        "merchants": wide.transform(T.silver_merchants).dropDuplicates(["merchant_id"]),
    }


SILVER_TABLES = ("transactions", "cardholders", "addresses", "merchants")


def cached_silver(
    spark: SparkSession, config: SimulatorConfig, start: date, end: date, workdir: Path
) -> dict[str, DataFrame]:
    """Silver tables from workdir/silver when they were built with the same simulator settings, else built and
    saved there."""
    root = workdir / "silver"
    stamp = root / "config.json"
    wanted = config.model_dump_json()
    if not (stamp.exists() and stamp.read_text() == wanted):
        shutil.rmtree(root, ignore_errors=True)
        for name, df in silver_from_records(spark, config, start, end).items():
            df.write.mode("overwrite").parquet(str(root / name))
        stamp.write_text(wanted)
    return {name: spark.read.parquet(str(root / name)) for name in SILVER_TABLES}


def write_holdout_scores(trained: TrainedModel, labelled: DataFrame, path: str) -> None:
    """Every holdout purchase with fraud_score, label and its features, for error analysis."""
    holdout = labelled.where(F.col("transaction_month") >= trained.metrics["holdout_window"]["from_month"])
    scored = trained.predict(holdout)
    scored.select(*labelled.columns, "fraud_score").drop("row_hash", "run_id").write.mode("overwrite").parquet(path)


def features_of(silver: dict[str, DataFrame]) -> DataFrame:
    tx = silver["transactions"]
    return transaction_features(tx, silver["cardholders"], silver["addresses"], category_amount_reference(tx))


def cold_start(
    spark: SparkSession,
    silver: dict[str, DataFrame],
    features: DataFrame,
    trained: TrainedModel,
    hours: int,
    windows: int,
) -> dict[str, object]:
    """Consecutive `hours`-long windows from the holdout's start, scored twice with the same model: with the lake's
    full history, and each as an empty lake would see it (features from that window alone: no card or category
    history at all). One window of a few hundred cards rarely holds a fraud burst, so `windows` independent
    cold starts are pooled: the same rows, two histories."""
    first = trained.metrics["holdout_window"]["from_month"]
    t0 = datetime.fromisoformat(f"{first}-01T00:00:00")
    ts = F.col("transaction_ts")
    labels = silver["transactions"].select("transaction_id", F.col("is_fraud").cast("int").alias(LABEL))
    full_rows: list[DataFrame] = []
    empty_rows: list[DataFrame] = []
    for i in range(windows):
        start, end = t0 + timedelta(hours=i * hours), t0 + timedelta(hours=(i + 1) * hours)
        in_window = (ts >= F.lit(start)) & (ts < F.lit(end))
        young = {**silver, "transactions": silver["transactions"].where(in_window)}
        full_rows.append(features.where(in_window))
        empty_rows.append(features_of(young).join(labels.select("transaction_id"), "transaction_id"))

    def pr_auc(parts: list[DataFrame]) -> dict[str, Any]:
        rows = parts[0]
        for part in parts[1:]:
            rows = rows.unionByName(part)
        scored = trained.predict(with_label(rows, silver["transactions"])).select("fraud_score", LABEL).collect()
        result = at_threshold([r[0] for r in scored], [int(r[1]) for r in scored], trained.metrics["threshold"])
        return result.as_dict()

    full = pr_auc(full_rows)
    empty = pr_auc(empty_rows)
    ratio = (empty["pr_auc"] / full["pr_auc"]) if full["pr_auc"] and empty["pr_auc"] is not None else None
    last = t0 + timedelta(hours=windows * hours)
    return {
        "window": [t0.isoformat(), last.isoformat()],
        "windows": windows,
        "hours_per_window": hours,
        "full_history": full,
        "empty_lake": empty,
        "ratio": ratio,
    }


def kaggle_days(path: Path) -> tuple[date, date]:
    """The file's first day and the day after its last; a missing or malformed file stops the bench at once."""
    from cardapi.replay_kaggle import ReplayError, index_kaggle_csv

    if not path.is_file():
        sys.exit(
            f"bench_features: no Kaggle file at {path}; pass --kaggle-file FILE (any Kaggle-format CSV), "
            "set CARDLAKE_SHARED_DIR, or --no-kaggle to skip the real-data report"
        )
    try:
        days = index_kaggle_csv(path)[0]
    except ReplayError as problem:
        sys.exit(f"bench_features: {problem}")
    epoch = date(1970, 1, 1)
    return epoch + timedelta(days=min(days)), epoch + timedelta(days=max(days) + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=400)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--holdout-months", type=int, default=2)
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--workdir", type=Path, help="keep and reuse silver (and features) here")
    parser.add_argument("--reuse-features", action="store_true", help="reuse WORKDIR/features.parquet")
    parser.add_argument("--holdout-scores", help="write the holdout's scores and features to this Parquet path")
    parser.add_argument(
        "--kaggle-file",
        type=Path,
        default=KAGGLE_HEAD,
        help=f"a Kaggle-format file for the real-data report (default: shared/{KAGGLE_HEAD_FILE})",
    )
    parser.add_argument("--kaggle-start", type=date.fromisoformat, help="window start, YYYY-MM-DD (default: file's)")
    parser.add_argument("--kaggle-end", type=date.fromisoformat, help="window end, exclusive (default: file's)")
    parser.add_argument("--no-kaggle", action="store_true", help="skip the real-data report on purpose")
    parser.add_argument("--seed", type=int, default=42, help="the simulator's and the trees' seed")
    parser.add_argument("--seeds", type=int, default=1, help="run seeds SEED .. SEED+N-1 and report their mean")
    parser.add_argument("--cold-hours", type=int, default=31, help="length of the cold-start window")
    parser.add_argument("--cold-windows", type=int, default=8, help="cold starts pooled (consecutive windows)")
    args = parser.parse_args()
    kaggle_span = (date.min, date.min) if args.no_kaggle else kaggle_days(args.kaggle_file)
    if args.reuse_features and not args.workdir:
        parser.error("--reuse-features needs --workdir")

    spark = get_spark("bench-features")
    spark.sparkContext.setLogLevel("ERROR")
    reports = [run_seed(spark, args, kaggle_span, seed) for seed in range(args.seed, args.seed + args.seeds)]
    report = reports[0] if len(reports) == 1 else across_seeds(reports)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    spark.stop()


def across_seeds(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Several seeds: each run's report, and the mean of the figures the goals are stated on."""

    def mean(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if len(known) == len(values) else None

    return {
        "seeds": [r["seed"] for r in reports],
        "mean_simulator_holdout_pr_auc": mean([r["simulator_holdout"]["pr_auc"] for r in reports]),
        "mean_cold_start_ratio": mean([r["cold_start"]["ratio"] for r in reports]),
        "mean_kaggle_head_pr_auc": mean([r["kaggle_head"].get("pr_auc") for r in reports]),
        "runs": reports,
    }


def run_seed(
    spark: SparkSession, args: argparse.Namespace, kaggle_span: tuple[date, date], seed: int
) -> dict[str, Any]:
    """One seed: simulate, build silver and features, train, score the holdout, the cold starts and Kaggle."""
    start = date.fromisoformat(args.start)
    end = add_months(start, args.months)
    config = SimulatorConfig(n_cards=args.cards, start=start, end=end, seed=seed)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="bench-features-"))
    work = base if args.seeds == 1 else base / f"seed-{seed}"  # a cache per seed, never rebuilt in turn
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    if args.workdir:
        silver = cached_silver(spark, config, start, end, work)
    else:
        silver = silver_from_records(spark, config, start, end)
    n_tx = silver["transactions"].count()
    silver_s = time.perf_counter() - t0

    features_path = work / "features.parquet"
    feature_s: float | None = None
    if not (args.reuse_features and features_path.exists()):
        t0 = time.perf_counter()
        features_of(silver).write.mode("overwrite").parquet(str(features_path))
        feature_s = time.perf_counter() - t0
    features = spark.read.parquet(str(features_path))

    t0 = time.perf_counter()
    labelled = with_label(features, silver["transactions"]).cache()
    trained = train(labelled, holdout_months=args.holdout_months, params=GbtParams(seed=seed))
    train_s = time.perf_counter() - t0
    if args.holdout_scores:
        write_holdout_scores(trained, labelled, args.holdout_scores)
    shutil.rmtree(work / "models", ignore_errors=True)
    version = save_model(work / "models", trained.pipeline, trained.metrics, trained.reference)
    model = load_model(models_root=work / "models")

    cold = cold_start(spark, silver, features, trained, args.cold_hours, args.cold_windows)
    kaggle: dict[str, Any] = {"skipped": "--no-kaggle"}
    if not args.no_kaggle:
        kstart, kend = args.kaggle_start or kaggle_span[0], args.kaggle_end or kaggle_span[1]
        kconfig = SimulatorConfig(replay_kaggle=args.kaggle_file, start=kstart, end=kend)
        ksilver = silver_from_records(spark, kconfig, kstart, kend)
        kscored = score_features(features_of(ksilver), model).join(
            ksilver["transactions"].select("transaction_id", F.col("is_fraud").cast("int").alias(LABEL)),
            "transaction_id",
        )
        rows = kscored.select("fraud_score", LABEL).collect()
        if not rows:
            sys.exit(f"bench_features: no rows of {args.kaggle_file} between {kstart} and {kend}")
        result = at_threshold([r[0] for r in rows], [r[1] for r in rows], model.threshold).as_dict()
        kaggle = {"file": shown_path(Path(args.kaggle_file)), "start": str(kstart), "end": str(kend), **result}

    m = trained.metrics
    report = {
        "simulator": {"cards": args.cards, "months": args.months, "start": str(start), "end": str(end)},
        "transactions": n_tx,
        "silver_build_seconds": round(silver_s, 1),
        "feature_stage_seconds": round(feature_s, 1) if feature_s else None,
        "feature_rows_per_second": round(n_tx / feature_s) if feature_s else None,
        "training_seconds": round(train_s, 1),
        "model_version": version,
        "threshold": m["threshold"],
        "rows": m["rows"],
        "windows": {k: m[k] for k in ("train_window", "validation_window", "holdout_window")},
        "simulator_holdout": m["holdout"],
        "simulator_holdout_by_month": m["holdout_by_month"],
        "simulator_validation": m["validation"],
        "feature_importances": {k: round(v, 4) for k, v in m["feature_importances"].items()},
        "seed": seed,
        "cold_start": cold,
        "kaggle_head": kaggle,
        "cores": os.cpu_count(),
    }
    if not args.workdir:
        shutil.rmtree(base, ignore_errors=True)
    return report


if __name__ == "__main__":
    main()
