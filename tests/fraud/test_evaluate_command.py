"""`cardlake fraud evaluate` on a hand-made labelled lake (Delta tables written with deltalake, no Spark).

The six scored, labelled purchases of the window, highest score first (F fraud, L legitimate):

    score  0.9 F (card A)  0.8 L (A)  0.7 F (B)  0.4 L (B)  0.3 F (C)  0.1 L (C)

Average precision is the precision at each fraud, averaged over the 3 frauds:
    (1/1 + 2/3 + 3/5) / 3 = (15 + 10 + 9) / 45 = 34/45 = 0.7556
ROC-AUC: of the 3 x 3 (fraud, legitimate) pairs, 0.9 beats 3, 0.7 beats 2, 0.3 beats 1: 6/9.
At the scores' threshold 0.5: 0.9, 0.8, 0.7 are alerts, 2 of them frauds: precision 2/3, recall 2/3.
Precision >= 0.9 is only reached at the top score: recall 1/3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from cardlake.fraud_evaluation import (
    EvaluationError,
    card_bootstrap,
    evaluate,
    load_labelled_scores,
    psi,
    run_evaluation,
    window_of,
)
from contracts import lake

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW = window_of(datetime(2025, 1, 1), datetime(2025, 3, 1))

# transaction_id, time, card, amount, is_fraud, is_refund, score (None: not scored)
ROWS = [
    ("t1", datetime(2025, 1, 10, 9, tzinfo=UTC), "A", 900.0, True, False, 0.9),
    ("t2", datetime(2025, 1, 10, 12, tzinfo=UTC), "A", 20.0, False, False, 0.8),
    ("t3", datetime(2025, 1, 11, 2, tzinfo=UTC), "B", 700.0, True, False, 0.7),
    ("t4", datetime(2025, 2, 10, 8, tzinfo=UTC), "B", 15.0, False, False, 0.4),
    ("t5", datetime(2025, 2, 10, 9, tzinfo=UTC), "C", 300.0, True, False, 0.3),
    ("t6", datetime(2025, 2, 10, 10, tzinfo=UTC), "C", 10.0, False, False, 0.1),
    # outside the window, a refund, an unscored purchase: none of them counts
    ("t7", datetime(2025, 3, 5, 10, tzinfo=UTC), "A", 999.0, True, False, 0.0),
    ("t8", datetime(2025, 1, 12, 10, tzinfo=UTC), "A", 50.0, False, True, None),
    ("t9", datetime(2025, 1, 13, 10, tzinfo=UTC), "C", 60.0, True, False, None),
]


def _silver(rows: list[tuple]) -> pa.Table:
    return pa.table(
        {
            "transaction_id": [r[0] for r in rows],
            "transaction_ts": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "transaction_month": [r[1].strftime("%Y-%m") for r in rows],
            "card_token": [r[2] for r in rows],
            "amount_gbp": pa.array([Decimal(f"{r[3]:.2f}") for r in rows], pa.decimal128(18, 2)),
            "is_fraud": pa.array([r[4] for r in rows], pa.bool_()),
            "is_refund": [r[5] for r in rows],
        }
    )


def _scores(rows: list[tuple], threshold: float = 0.5) -> pa.Table:
    scored = [r for r in rows if r[6] is not None]
    return pa.table(
        {
            "transaction_id": [r[0] for r in scored],
            "fraud_score": pa.array([r[6] for r in scored], pa.float64()),
            "model_version": ["v20250101T000000Z"] * len(scored),
            "threshold": [threshold] * len(scored),
            "is_alert": [r[6] >= threshold for r in scored],
        }
    )


def _features(rows: list[tuple]) -> pa.Table:
    return pa.table(
        {
            "transaction_id": [r[0] for r in rows],
            "transaction_ts": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "transaction_month": [r[1].strftime("%Y-%m") for r in rows],
            "amount_gbp": [r[3] for r in rows],
            "txn_count_24h": pa.array([1 if r[1].month == 1 else 9 for r in rows], pa.int64()),
        }
    )


def make_lake(root: Path, rows: list[tuple] = ROWS, *, scores: bool = True) -> Path:
    write_deltalake(lake.SILVER_TRANSACTIONS.uri(str(root)), _silver(rows), partition_by=["transaction_month"])
    write_deltalake(lake.GOLD_TRANSACTION_FEATURES.uri(str(root)), _features(rows), partition_by=["transaction_month"])
    if scores:
        write_deltalake(lake.GOLD_TRANSACTION_SCORES.uri(str(root)), _scores(rows))
    return root


def test_metrics_on_the_hand_made_lake_match_the_hand_computation(tmp_path: Path):
    root = make_lake(tmp_path / "lake")
    result = run_evaluation(str(root), WINDOW, tmp_path / "out", feature_columns=("txn_count_24h",))

    assert (result.rows, result.positives) == (6, 3)
    assert result.unscored == 1  # t9: labelled but never scored
    assert result.pr_auc == pytest.approx(34 / 45)
    assert result.roc_auc == pytest.approx(6 / 9)
    assert (result.threshold, result.threshold_source) == (0.5, "the scores' threshold")
    assert (result.precision, result.recall, result.flagged) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert result.recall_at_precision_0_9 == pytest.approx(1 / 3)
    assert result.alerts_per_day == {"2025-01-10": 2, "2025-01-11": 1, "2025-02-10": 0}
    assert result.model_versions == ["v20250101T000000Z"]


def test_intervals_contain_the_point_estimates_and_are_reproducible(tmp_path: Path):
    root = make_lake(tmp_path / "lake")
    first = run_evaluation(str(root), WINDOW, tmp_path / "a", resamples=200, seed=3)
    again = run_evaluation(str(root), WINDOW, tmp_path / "b", resamples=200, seed=3)
    for name, point in [
        ("pr_auc", first.pr_auc),
        ("roc_auc", first.roc_auc),
        ("precision", first.precision),
        ("recall", first.recall),
    ]:
        interval = first.intervals[name]
        assert interval.low is not None and interval.high is not None
        assert interval.low <= point <= interval.high, name
        assert interval.high > interval.low, f"{name}: three cards must give a wide interval"
    assert first.intervals == again.intervals


def test_the_bootstrap_resamples_cards_not_rows():
    # Card A: frauds scored 0.9 and 0.1; card B: legitimate purchases scored 0.5 and 0.4. A resample of cards
    # holds k copies of A and m of B, ranked 0.9 (k F), 0.5, 0.4 (2m L), 0.1 (k F), so its average precision is
    # 1/2 * 1 + 1/2 * 2k / (2k + 2m): 0.75 when k = m = 1, 1.0 when m = 0, undefined when k = 0. Resampling
    # rows would also draw 0.1 F without 0.9 F (e.g. 0.5 L, 0.4 L, 0.4 L, 0.1 F: 1/4) and widen the interval.
    scores = np.array([0.9, 0.1, 0.5, 0.4])
    labels = np.array([1, 1, 0, 0])
    cards = np.array(["A", "A", "B", "B"])
    intervals = card_bootstrap(scores, labels, cards, 0.3, resamples=200, seed=1)
    assert (intervals["pr_auc"].low, intervals["pr_auc"].high) == (0.75, 1.0)


def test_plots_are_valid_pngs_and_the_report_is_json(tmp_path: Path):
    result = run_evaluation(str(make_lake(tmp_path / "lake")), WINDOW, tmp_path / "out")
    for key in ("pr_curve", "score_histogram"):
        data = Path(result.files[key]).read_bytes()
        assert data.startswith(PNG_SIGNATURE), key
        assert len(data) > 2000, f"{key} is too small to hold a plot"
    report = json.loads(Path(result.files["report"]).read_text())
    assert report["pr_auc"] == pytest.approx(34 / 45)
    assert report["intervals"]["pr_auc"]["low"] <= report["pr_auc"]


def test_drift_flags_a_month_whose_feature_moved_against_the_first_month(tmp_path: Path):
    rng = np.random.default_rng(5)
    n = 200  # per month, above the minimum a flag needs
    ts = pd.to_datetime(["2025-01-15"] * n + ["2025-02-15"] * n + ["2025-03-15"] * n, utc=True)
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(3 * n)],
            "transaction_ts": ts,
            "card_token": [f"c{i % 40}" for i in range(3 * n)],
            "amount_gbp": rng.lognormal(3, 1, 3 * n),  # the same distribution every month
            "fraud_score": rng.uniform(0, 1, 3 * n),
            "is_fraud": (rng.uniform(0, 1, 3 * n) < 0.1).astype(int),
            "threshold": 0.5,
            "model_version": "v1",
        }
    )
    velocity = np.r_[rng.poisson(2, 2 * n), rng.poisson(8, n)]  # March cards buy four times as often
    features = pd.DataFrame({"transaction_id": frame["transaction_id"], "txn_count_24h": velocity})
    window = window_of(datetime(2025, 1, 1), datetime(2025, 4, 1))
    result = evaluate(frame, window, resamples=5, features=features, feature_columns=("txn_count_24h",))

    by_key = {(d.column, d.month): d for d in result.drift}
    assert {c for c, _ in by_key} == {"fraud_score", "amount_gbp", "txn_count_24h"}
    assert by_key[("txn_count_24h", "2025-01")].psi is None  # the reference month
    assert not by_key[("txn_count_24h", "2025-02")].flagged
    moved = by_key[("txn_count_24h", "2025-03")]
    assert moved.psi is not None and moved.psi > 0.2 and moved.flagged
    assert [d for d in result.drift if d.flagged] == [moved]
    assert "first month" in result.drift_reference


def test_drift_on_a_tiny_month_is_reported_but_not_flagged(tmp_path: Path):
    root = make_lake(tmp_path / "lake")
    result = run_evaluation(str(root), WINDOW, tmp_path / "out", feature_columns=("txn_count_24h",))
    tiny = next(d for d in result.drift if (d.column, d.month) == ("txn_count_24h", "2025-02"))
    assert tiny.psi is not None and tiny.psi > 0.2 and not tiny.flagged  # 3 rows a month: noise


def test_psi_is_zero_for_the_same_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.normal(0, 1, 5000))
    assert psi(reference, reference) == pytest.approx(0.0, abs=1e-9)
    assert psi(reference, pd.Series(rng.normal(0, 1, 5000))) < 0.05
    assert psi(reference, pd.Series(rng.normal(1, 1, 5000))) > 0.2


def test_a_threshold_override_changes_the_operating_point(tmp_path: Path):
    frame, _, _ = load_labelled_scores(str(make_lake(tmp_path / "lake")), WINDOW)
    result = evaluate(frame, WINDOW, threshold=0.25, resamples=10)
    assert (result.precision, result.recall, result.threshold_source) == (0.6, 1.0, "--threshold")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("no-lake", "no lake at"),
        ("no-scores-table", "score the window first"),
        ("no-scores-in-window", "no scores for the"),
        ("no-labels", "no fraud labels"),
    ],
)
def test_the_evaluation_explains_what_is_missing(tmp_path: Path, setup: str, expected: str):
    root = tmp_path / "lake"
    if setup == "no-scores-table":
        make_lake(root, scores=False)
    elif setup == "no-scores-in-window":
        make_lake(root, [(*r[:6], None) for r in ROWS if r[0] != "t7"] + [ROWS[6]])
    elif setup == "no-labels":
        make_lake(root, [(*r[:4], None, *r[5:]) for r in ROWS])
    with pytest.raises(EvaluationError, match=expected):
        load_labelled_scores(str(root), WINDOW)


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CARDLAKE_")}
    environ.update(CARDLAKE_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"), COLUMNS="160")
    command = [sys.executable, "-m", "cardlake.cli", "fraud", "evaluate", *args]
    return subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2025-03-01", "--to", "2025-01-01"], "must be after --from"),
        (["--from", "2025-01-01", "--to", "2025-03-01", "--lake", "/nonexistent/lake"], "no lake at"),
        (["--from", "2024-01-01", "--to", "2024-02-01"], "no transactions in"),
    ],
    ids=["reversed-window", "missing-lake", "empty-window"],
)
def test_the_command_fails_in_one_line(tmp_path: Path, args: list[str], expected: str):
    if "--lake" not in args:
        args = [*args, "--lake", str(make_lake(tmp_path / "lake"))]
    done = _cli(tmp_path, *args)
    assert done.returncode == 1
    assert expected in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1


def test_the_command_prints_the_table_and_writes_the_files(tmp_path: Path):
    root = make_lake(tmp_path / "lake")
    out = tmp_path / "report"
    done = _cli(tmp_path, "--from", "2025-01-01", "--to", "2025-03-01", "--lake", str(root), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "PR-AUC (average precision)" in done.stdout and "0.756" in done.stdout
    assert "only 3 frauds" in done.stdout  # the sentence warns that the intervals are wide
    assert {p.name for p in out.iterdir()} == {"report.json", "pr_curve.png", "score_histogram.png"}


@pytest.mark.prefect
@pytest.mark.slow
def test_the_flow_writes_the_same_report(tmp_path: Path, prefect_harness: None, cardlake_home: Path):
    from flows.fraud import evaluate_fraud_scores

    root = make_lake(tmp_path / "lake")
    report = evaluate_fraud_scores(date(2025, 1, 1), date(2025, 3, 1), out=str(tmp_path / "out"), lake_uri=str(root))
    assert report["pr_auc"] == pytest.approx(34 / 45)
    assert json.loads((tmp_path / "out" / "report.json").read_text())["rows"] == 6


def test_drift_is_against_the_scoring_models_training_reference(tmp_path: Path):
    from spark_jobs.fraud.drift import bins_of
    from spark_jobs.fraud.reference import AmountStats, TrainingReference
    from spark_jobs.fraud.registry import version_uri

    rng = np.random.default_rng(9)
    n = 200
    ts = pd.to_datetime(["2025-01-15"] * n + ["2025-02-15"] * n, utc=True)
    frame = pd.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(2 * n)],
            "transaction_ts": ts,
            "card_token": [f"c{i % 40}" for i in range(2 * n)],
            "amount_gbp": rng.lognormal(3, 1, 2 * n),
            "fraud_score": np.r_[rng.uniform(0, 0.2, n), rng.uniform(0.6, 1.0, n)],  # February scores moved up
            "is_fraud": (rng.uniform(0, 1, 2 * n) < 0.1).astype(int),
            "threshold": 0.5,
            "model_version": "v1",
        }
    )
    training = {"fraud_score": bins_of(rng.uniform(0, 0.2, 5000)), "amount_gbp": bins_of(rng.lognormal(3, 1, 5000))}
    result = evaluate(frame, window_of(datetime(2025, 1, 1), datetime(2025, 3, 1)), resamples=5,
                      training_drift=("v1", training))  # fmt: skip
    flagged = {(d.column, d.month) for d in result.drift if d.flagged}
    assert flagged == {("fraud_score", "2025-02")}  # January matches training; no month is "the reference"
    assert all(d.psi is not None for d in result.drift)
    assert result.drift_reference == "the training reference of model v1"

    # through the command: the registry beside the lake holds the scores' model version and its bins
    root = make_lake(tmp_path / "lake")
    reference = TrainingReference(
        AmountStats(1, 1.0, 0.0), AmountStats(1, 1.0, 0.0), {}, {}, {}, 0.0, 40.0, 10.0,
        drift={"fraud_score": bins_of(rng.uniform(0, 0.05, 1000))},
    )  # fmt: skip
    folder = Path(version_uri(lake.default_models_root(str(root)), "v20250101T000000Z"))
    folder.mkdir(parents=True)
    (folder / "reference.json").write_text(reference.to_json())
    report = run_evaluation(str(root), WINDOW, tmp_path / "out", resamples=5)
    assert report.drift_reference == "the training reference of model v20250101T000000Z"
    assert {d.column for d in report.drift} == {"fraud_score"} and all(d.psi > 0.2 for d in report.drift)
    assert not any(d.flagged for d in report.drift)  # 3 rows a month: reported, never flagged
