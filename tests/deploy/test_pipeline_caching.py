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
from typing import Any
from uuid import UUID

import pytest

from cardapi.config import SimulatorConfig
from cardlake.settings import get_settings
from tests.deploy.processes import counting_simulator

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]

START, END = datetime(2025, 6, 10, tzinfo=UTC), datetime(2025, 6, 11, tzinfo=UTC)
CONFIG = SimulatorConfig(seed=9, n_cards=20, start=date(2025, 5, 1), end=date(2025, 7, 1))
RUN_ID = "20250610T000000Z_20250611T000000Z"


@dataclass
class Run:
    flow_run_id: UUID
    summary: dict[str, Any]
    api_requests: int  # served by the simulator during this run
    spark_results: dict[str, int]  # result file -> mtime (ns) after this run


def spark_results(lake: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted((lake / "_runs" / RUN_ID).glob("*.json"))}


@pytest.fixture(scope="module")
def runs(prefect_harness, spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Run]]:
    """The same window three times: first run, plain re-run, forced re-run."""
    from flows.pipeline import pipeline

    home = tmp_path_factory.mktemp("cardlake-home")
    with pytest.MonkeyPatch.context() as mp, counting_simulator(CONFIG) as (api_url, counter):
        mp.setenv("CARDLAKE_HOME", str(home))
        mp.setenv("CARDLAKE_API_BASE_URL", api_url)
        mp.setenv("CARDLAKE_SPARK_RUNNER", "local-session")
        mp.setenv("CARDLAKE_PAN_TOKEN_KEY", "caching-test-key")
        get_settings.cache_clear()
        lake = Path(get_settings().lake_root)
        out: list[Run] = []
        try:
            for force in (False, False, True):
                before = counter.total
                state = pipeline(start=START, end=END, force=force, return_state=True)
                summary = state.result()
                out.append(Run(state.state_details.flow_run_id, summary, counter.total - before, spark_results(lake)))
            yield out
        finally:
            get_settings.cache_clear()


def test_a_rerun_of_a_finished_window_calls_no_api_and_starts_no_spark_job(runs: list[Run]):
    first, again, _ = runs
    assert first.api_requests > 0
    assert set(first.spark_results) >= {"silver.json", "gold.json", "features.json", "score.json", "star.json"}
    assert again.api_requests == 0
    assert again.spark_results == first.spark_results  # no job rewrote its result file
    # The cached stages hand back the first run's results, so the summary and the warehouse are the same.
    assert again.summary["extract"] == first.summary["extract"]
    assert again.summary["warehouse"] == first.summary["warehouse"]
    assert first.summary["warehouse"]["fact_transaction_rows"] > 0


def test_force_extracts_and_transforms_again(runs: list[Run]):
    first, _, forced = runs
    assert forced.api_requests >= first.api_requests
    assert forced.spark_results.keys() == first.spark_results.keys()
    assert all(forced.spark_results[name] > first.spark_results[name] for name in first.spark_results)
    assert forced.summary["warehouse"]["fact_transaction_rows"] == first.summary["warehouse"]["fact_transaction_rows"]


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
    assert "| stage | table | in | accepted | rejected | written |" in summary.data

    table = by_key["cardlake-rows-per-stage"]
    assert table.type == "table"
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    stages = {row["stage"] for row in rows}
    assert {"extract", "silver", "load"} <= stages
    loaded = {row["table"]: row["in"] for row in rows if row["stage"] == "load"}
    assert loaded["fact_transaction"] == first.summary["warehouse"]["fact_transaction_rows"]
    extracted = {row["table"]: row["in"] for row in rows if row["stage"] == "extract"}
    assert extracted["raw/transactions"] == first.summary["extract"]["transactions"]["records"]
