"""The rows the model is fitted on: every fraud, a reproducible sample of legit rows, whatever the partitioning."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pyspark.sql import functions as F

from spark_jobs.fraud.model import GbtParams
from spark_jobs.fraud.training import fit_rows

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def labelled(spark):
    rows = [(f"t{i:05d}", 1.0 if i % 50 == 0 else 0.0) for i in range(4_000)]
    return spark.createDataFrame(rows, "transaction_id string, label double")


def _ids(df) -> list[str]:
    return [r["transaction_id"] for r in df.collect()]


def test_every_fraud_is_kept_and_legit_rows_are_sampled_at_the_rate(labelled):
    fitted = fit_rows(labelled, 0.25, seed=42)
    assert fitted.where(F.col("label") == 1).count() == 80
    legit = fitted.where(F.col("label") == 0).count()
    assert 0.2 * 3_920 < legit < 0.3 * 3_920


def test_the_sample_and_its_row_order_do_not_depend_on_the_input_partitioning(labelled):
    one = fit_rows(labelled.coalesce(1), 0.25, seed=42)
    many = fit_rows(labelled.repartition(7).orderBy(F.rand(3)), 0.25, seed=42)
    assert _ids(one) == _ids(many)
    assert _ids(fit_rows(labelled, 0.25, seed=7)) != _ids(one)  # another seed draws another sample


def test_rate_one_keeps_every_row(labelled):
    assert fit_rows(labelled, 1.0, seed=42).count() == 4_000


def test_the_training_flow_trains_the_benchmarked_model_unless_told_otherwise():
    from flows.fraud import _params

    assert _params(None, None) == GbtParams()
    assert _params(40, None) == replace(GbtParams(), max_iter=40)
    assert _params(None, 3).max_depth == 3
