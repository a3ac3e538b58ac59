"""Through the Prefect test harness: a finished window is not extracted or transformed twice, `force` redoes both,
and every run publishes its summary artifacts.

The simulator counts the HTTP requests it serves; Spark runs are seen in the result files every job rewrites
(`<lake>/_runs/<run_id>/<job>.json`). Nothing in the flows is patched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest

from cardapi.config import SimulatorConfig
from cardlake.settings import Settings
from cardlake.summary import RunSummary
from tests.deploy.processes import counting_simulator

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]

START, END = datetime(2025, 6, 10, tzinfo=UTC), datetime(2025, 6, 11, tzinfo=UTC)
CONFIG = SimulatorConfig(seed=9, n_cards=20, start=date(2025, 5, 1), end=date(2025, 7, 1))
RUN_ID = "20250610T000000Z_20250611T000000Z"


@dataclass
class Run:
    flow_run_id: UUID
    summary: RunSummary
    api_requests: int  # served by the simulator during this run
    spark_results: dict[str, int]  # result file -> mtime (ns) after this run


def spark_results(lake: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted((lake / "_runs" / RUN_ID).glob("*.json"))}


def register_a_model(spark, models_root: str, tmp_path: Path) -> str:
    """A small model trained on a hand-made labelled lake, registered where the pipeline looks for models."""
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.fraud.lake import train_from_lake
    from tests.fraud.test_scoring import TINY, build_tiny_lake

    lake = build_tiny_lake(spark, str(tmp_path / "labelled-lake"))
    return str(train_from_lake(spark, get_delta_io("delta-rs", spark), lake, models_root, holdout_months=1,
                               params=TINY)["version"])  # fmt: skip


@pytest.fixture(scope="module")
def runs(prefect_harness, spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Run]]:
    """The same window five times: first run, plain re-run, forced re-run, re-run after a model was trained,
    plain re-run again."""
    from flows.pipeline import pipeline

    home = tmp_path_factory.mktemp("cardlake-home")
    with pytest.MonkeyPatch.context() as mp, counting_simulator(CONFIG) as (api_url, counter):
        mp.setenv("CARDLAKE_HOME", str(home))
        mp.setenv("CARDLAKE_API_BASE_URL", api_url)
        mp.setenv("CARDLAKE_SPARK_RUNNER", "local-session")
        mp.setenv("CARDLAKE_PAN_TOKEN_KEY", "caching-test-key")
        settings = Settings()
        lake = Path(settings.lake_root)
        out: list[Run] = []
        for step, force in enumerate((False, False, True, False, False)):
            if step == 3:
                register_a_model(spark, settings.models_root, tmp_path_factory.mktemp("training"))
            before = counter.total
            state = pipeline(start=START, end=END, force=force, return_state=True)
            summary = state.result()
            out.append(Run(state.state_details.flow_run_id, summary, counter.total - before, spark_results(lake)))
        yield out


def test_a_rerun_of_a_finished_window_calls_no_api_and_starts_no_spark_job(runs: list[Run]):
    first, again, *_ = runs
    assert first.api_requests > 0
    assert set(first.spark_results) >= {"silver.json", "gold.json", "features.json", "score.json", "star.json"}
    assert again.api_requests == 0
    assert again.spark_results == first.spark_results  # no job rewrote its result file
    assert again.summary.transform.cached and not first.summary.transform.cached
    # The cached stages hand back the first run's results, so the summary and the warehouse are the same.
    assert again.summary.extract == first.summary.extract
    assert again.summary.warehouse == first.summary.warehouse
    assert first.summary.warehouse.fact_transaction_rows > 0


def test_force_extracts_and_transforms_again(runs: list[Run]):
    first, _, forced, *_ = runs
    assert forced.api_requests >= first.api_requests
    assert forced.spark_results.keys() == first.spark_results.keys()
    assert all(forced.spark_results[name] > first.spark_results[name] for name in first.spark_results)
    assert forced.summary.warehouse.fact_transaction_rows == first.summary.warehouse.fact_transaction_rows


def test_a_newly_trained_model_rescores_the_window_without_force(runs: list[Run]):
    first, _, _, retrained, again = runs
    assert first.summary.transform.job("score").status == "skipped"  # no model yet
    # Nothing new was landed, but the model changed: the Spark stage ran again and scored with it.
    assert not retrained.summary.transform.cached
    assert retrained.api_requests == 0  # extraction stayed cached
    score = retrained.summary.transform.job("score")
    assert score.status == "ok" and score.model_version == retrained.summary.fraud_model.version
    assert score.table("gold/transaction_scores").read > 0  # every purchase (refunds are not scored)
    # The same model again: cached.
    assert again.summary.transform.cached and again.spark_results == retrained.spark_results


def test_every_run_publishes_the_summary_and_rows_per_stage_artifacts(runs: list[Run]):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    first = runs[0]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[first.flow_run_id]))
        )
    by_key = {a.key: a for a in artifacts}
    assert {"cardlake-run-summary", "cardlake-rows-per-stage"} <= set(by_key)

    summary = by_key["cardlake-run-summary"]
    assert summary.type == "markdown"
    assert f"cardlake run `{RUN_ID}`" in summary.data
    assert "| stage | table | in | accepted | rejected | written | note |" in summary.data

    table = by_key["cardlake-rows-per-stage"]
    assert table.type == "table"
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    stages = {row["stage"] for row in rows}
    assert {"extract", "silver", "load"} <= stages
    loaded = {row["table"]: row["in"] for row in rows if row["stage"] == "load"}
    assert loaded["fact_transaction"] == first.summary.warehouse.fact_transaction_rows
    extracted = {row["table"]: row["in"] for row in rows if row["stage"] == "extract"}
    assert extracted["raw/transactions"] == first.summary.extract.table("raw/transactions").read


def test_no_secret_is_stored_with_the_flow_runs(runs: list[Run]):
    """Subflows receive the resolved configuration as a parameter; Prefect stores parameters, secrets masked."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs()
    stored = json.dumps([run.parameters for run in flow_runs], default=str)
    assert '"config"' in stored and "api_base_url" in stored  # the configuration is there, readable
    for secret in ("caching-test-key", "cardlake-demo", "JBSWY3DPEHPK3PXP"):
        assert secret not in stored
