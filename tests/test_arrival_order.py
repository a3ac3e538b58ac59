"""Arrival order and chunking on the whole chain (simulator over HTTP -> Spark/Delta -> DuckDB, through Prefect):
one run over four days, two runs of two days in order, and the same two in reverse order give the same features,
the same fraud scores, the same open alerts and the same warehouse facts.

A small model trained on a hand-made labelled lake scores every run, so scores and alerts are compared too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from deltalake import DeltaTable

from cardapi.config import SimulatorConfig
from cardapi.server import serve_in_thread
from tests.chain import differences, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]

CONFIG = SimulatorConfig(seed=21, n_cards=25, start=date(2025, 5, 1), end=date(2025, 7, 1))
D0, D2, D4 = (datetime(2025, 6, d, tzinfo=UTC) for d in (10, 12, 14))
ORDERS = {
    "one run": [(D0, D4)],
    "in order": [(D0, D2), (D2, D4)],
    "reversed": [(D2, D4), (D0, D2)],
}


def lake_rows(lake: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    data = DeltaTable(str(lake / table)).to_pyarrow_table(columns=columns).to_pylist()
    return sorted(tuple(row[c] for c in columns) for row in data)


def outcome(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    lake = home / "lake"
    features = DeltaTable(str(lake / "gold/transaction_features")).schema().to_arrow().names
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as db:
        facts = sorted(db.execute("SELECT transaction_id, amount_gbp, fraud_score FROM fact_transaction").fetchall())
        open_alerts = sorted(db.execute("SELECT transaction_id FROM rpt_open_fraud_alerts").fetchall())
    return {
        "features": lake_rows(lake, "gold/transaction_features", [c for c in features if c != "run_id"]),
        "scores": lake_rows(lake, "gold/transaction_scores", ["transaction_id", "fraud_score", "is_alert"]),
        # Open alerts only: an alert cleared by a later rescore stays as a row, one run never had it.
        "open alerts": [
            row
            for row in lake_rows(lake, "gold/fraud_alerts", ["transaction_id", "fraud_score", "alert_status"])
            if row[2] == "open"
        ],
        "warehouse facts": facts,
        "warehouse open alerts": open_alerts,
    }


@pytest.fixture(scope="module")
def outcomes(prefect_harness, spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    from flows.pipeline import pipeline
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.fraud.lake import train_from_lake
    from tests.fraud.test_scoring import TINY, build_tiny_lake

    models = tmp_path_factory.mktemp("models")
    labelled = build_tiny_lake(spark, str(tmp_path_factory.mktemp("labelled") / "lake"))
    train_from_lake(spark, get_delta_io("delta-rs", spark), labelled, str(models), holdout_months=1, params=TINY)
    results = {}
    with serve_in_thread(CONFIG) as base_url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARDLAKE_API_BASE_URL", base_url)
        mp.setenv("CARDLAKE_SPARK_RUNNER", "local-session")
        mp.setenv("CARDLAKE_PAN_TOKEN_KEY", "arrival-order-test-key")
        mp.setenv("CARDLAKE_MODEL_DIR", str(models))
        # A threshold low enough that some alerts open, so the open set is compared on real rows.
        mp.setenv("CARDLAKE_FRAUD_THRESHOLD", "0.05")
        for name, windows in ORDERS.items():
            home = tmp_path_factory.mktemp(name.replace(" ", "-"))
            mp.setenv("CARDLAKE_HOME", str(home))
            for start, end in windows:
                pipeline(start=start, end=end)
            results[name] = outcome(home)
            results[name]["every table"] = snapshot(home)  # type: ignore[assignment]
    yield results


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_chunks_in_any_order_give_what_one_run_gives(outcomes, order):
    reference = outcomes["one run"]
    assert len(reference["features"]) > 100 and reference["scores"]
    for part, rows in outcomes[order].items():
        if part != "every table":
            assert rows == reference[part], f"{part} differ when the days arrive {order}"


def test_two_adjacent_windows_in_reverse_order_leave_every_table_of_the_runs_in_order(outcomes):
    """The same two runs, the later window first: every Delta and warehouse table compared, except what records
    which run did the work: the `run_id` stamp of the run that wrote a row last, and each run's counts."""
    reversed_, in_order = outcomes["reversed"]["every table"], outcomes["in order"]["every table"]
    assert differences(reversed_, in_order, ignore_columns={"run_id"}, ignore_tables={"silver/run_metrics"}) == []
    assert reversed_.lake["gold/transaction_scores"].rows > 100


def test_some_alerts_are_open_so_the_comparison_covers_them(outcomes):
    assert outcomes["one run"]["warehouse open alerts"]
