"""Cost of `cardlake fraud evaluate` (cardlake/fraud_evaluation.py) on a synthetic labelled lake.

Writes silver/transactions, gold/transaction_scores and gold/transaction_features with deltalake (no Spark): N
purchases over January to March 2025, 2,000 cards, 1% fraud with higher scores, then times the whole evaluation
(read, metrics, 200 card resamples, drift of every numeric feature, PNGs, report).

    .venv/bin/python bench/bench_evaluation.py --rows 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import write_deltalake

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cardlake.fraud_evaluation import run_evaluation, window_of  # noqa: E402
from contracts import lake  # noqa: E402
from spark_jobs.fraud.model import NUMERIC_FEATURES  # noqa: E402


def write_lake(root: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ts = pd.to_datetime("2025-01-01", utc=True) + pd.to_timedelta(rng.uniform(0, 89 * 86400, rows), unit="s")
    times = pa.array(ts.to_pydatetime(), pa.timestamp("us", tz="UTC"))
    months = list(ts.strftime("%Y-%m"))
    fraud = rng.uniform(size=rows) < 0.01
    score = np.clip(rng.beta(1, 8, rows) + fraud * rng.uniform(0.2, 0.8, rows), 0, 1)
    ids = [f"t{i}" for i in range(rows)]
    silver = {
        "transaction_id": ids,
        "transaction_ts": times,
        "transaction_month": months,
        "card_token": [f"c{i}" for i in rng.integers(0, 2000, rows)],
        "amount_gbp": pa.array(np.round(rng.lognormal(3, 1, rows), 2)).cast(pa.decimal128(18, 2)),
        "is_fraud": fraud,
        "is_refund": np.zeros(rows, bool),
    }
    write_deltalake(lake.SILVER_TRANSACTIONS.uri(str(root)), pa.table(silver), partition_by=["transaction_month"])
    scores = {"transaction_id": ids, "fraud_score": score, "model_version": ["v1"] * rows, "threshold": [0.5] * rows}
    write_deltalake(lake.GOLD_TRANSACTION_SCORES.uri(str(root)), pa.table(scores))
    features: dict[str, object] = {"transaction_id": ids, "transaction_ts": times, "transaction_month": months}
    features.update({name: rng.normal(size=rows) for name in NUMERIC_FEATURES})
    write_deltalake(
        lake.GOLD_TRANSACTION_FEATURES.uri(str(root)), pa.table(features), partition_by=["transaction_month"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "lake"
        write_lake(root, args.rows)
        started = time.monotonic()
        result = run_evaluation(
            str(root),
            window_of(datetime(2025, 1, 1), datetime(2025, 4, 1)),
            Path(folder) / "out",
            resamples=args.resamples,
            feature_columns=tuple(NUMERIC_FEATURES),
        )
        seconds = time.monotonic() - started
    pr = result.intervals["pr_auc"]
    print(
        f"rows {result.rows:,}, frauds {result.positives:,}, PR-AUC {result.pr_auc:.3f} [{pr.low:.3f}, {pr.high:.3f}], "
        f"{args.resamples} resamples: {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
