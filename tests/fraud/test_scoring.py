"""Training, the registry, the score job and alert upserts, on a tiny lake."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from contracts import lake as tables
from contracts.jobs import FeaturesOptions, ScoreOptions
from contracts.landing import Window
from contracts.results import JobOutcome
from spark_jobs.delta_io import MergeSpec, get_delta_io
from spark_jobs.fraud.model import GbtParams
from spark_jobs.fraud.registry import LATEST, family_uri, latest_version, load_model
from spark_jobs.jobs import features as features_job
from spark_jobs.jobs import score as score_job
from spark_jobs.jobs.context import JobContext
from tests.fraud.helpers import addresses_df, cardholders_df, labelled_history, merchants_df, transactions_df

pytestmark = pytest.mark.spark

DOBS = {"ch0": date(1960, 1, 2), "ch1": date(1985, 5, 6), "ch2": date(2000, 12, 31)}
HOMES = {"addr0": (36.0, -81.0), "addr1": (40.7, -74.0), "addr2": (34.0, -118.2)}
SHOPS = {"m0": (36.1, -81.1), "m1": (40.0, -75.0), "m2": (34.1, -118.0), "m3": (47.6, -122.3)}
TINY = GbtParams(max_iter=8, max_depth=3, max_bins=32)


def context(spark, lake: str, run_id: str) -> JobContext:
    return JobContext(
        spark=spark,
        delta=get_delta_io("delta-rs", spark),
        landing_uri="",
        lake_uri=lake,
        window=Window(datetime(2025, 1, 1), datetime(2025, 5, 1)),
        run_id=run_id,
    )


def score(spark, lake: str, run_id: str, now: str, **options) -> JobOutcome:
    seen = datetime.fromisoformat(now).replace(tzinfo=UTC)
    return score_job.run(
        context(spark, lake, run_id), ScoreOptions(models_root=f"{lake}/../models", now=seen, **options)
    )


def alerts_of(outcome: JobOutcome):
    return outcome.table(tables.GOLD_FRAUD_ALERTS.path)


def scores_of(outcome: JobOutcome):
    return outcome.table(tables.GOLD_TRANSACTION_SCORES.path)


def build_tiny_lake(spark, root: str) -> str:
    """Silver tables of a labelled hand-made history with obvious fraud bursts, and their features."""
    io = get_delta_io("delta-rs", spark)
    for name, df in (
        ("cardholders", cardholders_df(spark, DOBS)),
        ("addresses", addresses_df(spark, HOMES)),
        ("merchants", merchants_df(spark, SHOPS)),
        ("transactions", transactions_df(spark, labelled_history())),
    ):
        io.merge(df, f"{root}/silver/{name}", MergeSpec(keys=(df.columns[0],)))
    features_job.run(context(spark, root, "run-1"), FeaturesOptions())
    return root


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory) -> str:
    return build_tiny_lake(spark, str(tmp_path_factory.mktemp("fraud-lake") / "lake"))


@pytest.fixture(scope="module")
def trained(spark, lake) -> dict:
    from spark_jobs.fraud.lake import train_from_lake

    return train_from_lake(
        spark, get_delta_io("delta-rs", spark), lake, f"{lake}/../models", holdout_months=1, params=TINY
    )


def test_score_job_without_a_model_is_skipped_not_failed(spark, tmp_path):
    outcome = score_job.run(context(spark, str(tmp_path / "lake"), "run-1"), ScoreOptions())
    assert outcome.status == "skipped"
    assert "LATEST" in outcome.notes[0]


@pytest.mark.slow
def test_training_registers_a_versioned_model(trained, lake):
    root = f"{lake}/../models"
    assert latest_version(root) == trained["version"]
    assert Path(f"{family_uri(root)}/{LATEST}").read_text().strip() == trained["version"]
    saved = json.loads(Path(f"{family_uri(root)}/{trained['version']}/metrics.json").read_text())
    assert saved["train_window"] == {"from_month": "2025-01", "to_month": "2025-02"}
    assert saved["validation_window"]["from_month"] == "2025-03"
    assert saved["holdout_window"] == {"from_month": "2025-04", "to_month": "2025-04"}
    assert {"pr_auc", "roc_auc", "precision", "recall"} <= set(saved["holdout"])
    assert saved["rows"]["holdout_fraud"] == 6 and saved["rows"]["train_fraud"] == 12
    assert "amount_to_card_mean" in saved["features"] and 0 < saved["threshold"] < 1
    assert saved["holdout"]["pr_auc"] > 0.9  # the bursts are obvious: a model that misses them is broken


@pytest.mark.slow
def test_rescoring_never_duplicates_alerts_nor_moves_first_seen(spark, lake, trained):
    io = get_delta_io("delta-rs", spark)
    model = load_model(models_root=f"{lake}/../models")
    first = score(spark, lake, "run-1", "2025-05-01T10:00:00")
    scored = scores_of(first).read
    assert first.status == "ok" and scored > 0 and first.model_version == model.version
    alerts = {r["transaction_id"]: r for r in io.read(spark, f"{lake}/gold/fraud_alerts").collect()}
    assert len(alerts) == alerts_of(first).inserted == alerts_of(first).read > 0
    assert any(t.startswith("fraud-") for t in alerts)
    sample = next(iter(alerts.values()))
    assert sample["alert_status"] == "open" and sample["top_features"] and sample["card_last4"]
    assert sample["first_seen_at"] == datetime(2025, 5, 1, 10, 0)

    # the same run again, and a later window-rescore with the same model: nothing new, nothing moved
    again = score(spark, lake, "run-1", "2025-05-02T10:00:00")
    assert alerts_of(again).written == 0 and scores_of(again).written == 0
    window = score(spark, lake, "rescore", "2025-05-03T10:00:00", select="window")
    assert scores_of(window).read == scored and alerts_of(window).inserted == 0
    after = io.read(spark, f"{lake}/gold/fraud_alerts")
    assert after.count() == len(alerts)
    assert after.select("alert_key").distinct().count() == len(alerts)
    assert after.where(F.col("first_seen_at") != F.lit(datetime(2025, 5, 1, 10, 0))).count() == 0

    # a lower threshold raises more alerts; the existing ones keep their first_seen_at
    lower = score(spark, lake, "run-1", "2025-05-04T10:00:00", threshold=0.0)
    assert alerts_of(lower).inserted == scored - len(alerts)
    final = {r["transaction_id"]: r for r in io.read(spark, f"{lake}/gold/fraud_alerts").collect()}
    assert all(final[t]["first_seen_at"] == datetime(2025, 5, 1, 10, 0) for t in alerts)
    stored = io.read(spark, f"{lake}/gold/transaction_scores")
    assert stored.count() == scored and stored.where("model_version IS NULL").count() == 0


@pytest.mark.slow
def test_an_alert_rescored_below_the_threshold_is_cleared_and_reopens_above_it(spark, lake, trained, tmp_path):
    io = get_delta_io("delta-rs", spark)
    shutil.rmtree(f"{lake}/gold/fraud_alerts", ignore_errors=True)
    shutil.rmtree(f"{lake}/gold/transaction_scores", ignore_errors=True)
    opened = score(spark, lake, "run-1", "2025-05-01T10:00:00", threshold=0.0)  # every scored purchase alerts

    def statuses() -> dict[str, str]:
        return {r["transaction_id"]: r["alert_status"] for r in io.read(spark, f"{lake}/gold/fraud_alerts").collect()}

    assert set(statuses().values()) == {"open"} and len(statuses()) == alerts_of(opened).inserted
    score(spark, lake, "rescore-high", "2025-05-02T10:00:00", threshold=1.0, select="window")
    assert set(statuses().values()) == {"cleared"}  # no alert stays open once its score is below the threshold
    reopened = score(spark, lake, "rescore-model", "2025-05-03T10:00:00", select="window")
    expected_open = alerts_of(reopened).read
    assert 0 < sum(status == "open" for status in statuses().values()) == expected_open
    first_seen = {r["first_seen_at"] for r in io.read(spark, f"{lake}/gold/fraud_alerts").collect()}
    assert first_seen == {datetime(2025, 5, 1, 10, 0)}


def test_cli_score_without_a_model_says_so(spark, tmp_path):
    from typer.testing import CliRunner

    from cardlake.cli.fraud import app

    result = CliRunner().invoke(
        app,
        [
            "score",
            "--from",
            "2025-01-01",
            "--to",
            "2025-02-01",
            "--lake",
            str(tmp_path / "lake"),
            "--models-root",
            str(tmp_path / "models"),
        ],
    )
    assert result.exit_code == 1
    assert "skipped: no model" in result.output


def test_cli_rejects_a_bad_window(tmp_path):
    from typer.testing import CliRunner

    from cardlake.cli.fraud import app

    result = CliRunner().invoke(app, ["score", "--from", "2025-02-01", "--to", "2025-01-01"])
    assert result.exit_code != 0 and "--to must be after --from" in result.output


def test_cli_train_without_features_explains(spark, tmp_path):
    from typer.testing import CliRunner

    from cardlake.cli.fraud import app

    result = CliRunner().invoke(app, ["train", "--lake", str(tmp_path / "lake"), "--models-root", str(tmp_path / "m")])
    assert result.exit_code == 1 and "run the features job first" in result.output


@pytest.mark.slow
@pytest.mark.prefect
def test_train_flow_returns_metrics_and_registers(prefect_harness, spark, lake, tmp_path):
    from flows.fraud import train_fraud_model

    metrics = train_fraud_model(
        lake_uri=lake, models_root=str(tmp_path / "models"), holdout_months=1, max_iter=8, max_depth=3
    )
    assert metrics["version"] == latest_version(tmp_path / "models")
    assert metrics["holdout_window"]["from_month"] == "2025-04"
    assert metrics["holdout"]["pr_auc"] is not None
