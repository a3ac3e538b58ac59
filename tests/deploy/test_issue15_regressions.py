"""Regressions of contract strings that were spelt differently on two sides (issue 15): each failed before.

- `cardlake alerts` reported 0 open alerts whatever the warehouse held (the flow read a key the load never wrote).
- `CARDLAKE_FRAUD_THRESHOLD` never reached the score job (the flow sent `fraud_threshold`, the job read `threshold`).
The third, a retrained model re-scoring a cached window, is in test_pipeline_caching.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cardapi.config import SimulatorConfig
from cardapi.server import serve_in_thread
from contracts.jobs import JobRequest
from contracts.landing import Window
from tests.warehouse.star_data import fraud_alerts, make_export

WINDOW = Window(datetime(2025, 6, 10, 9, 0, tzinfo=UTC), datetime(2025, 6, 10, 10, 0, tzinfo=UTC))


def test_the_fraud_threshold_setting_reaches_the_score_job(cardlake_home: Path, monkeypatch: pytest.MonkeyPatch):
    from cardlake.config import load_settings, resolve_config
    from flows.transform import spark_request

    monkeypatch.setenv("CARDLAKE_FRAUD_THRESHOLD", "0.83")
    monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "threshold-test-key")
    request = spark_request(resolve_config(load_settings()), WINDOW)
    # What spark_jobs/main.py parses from the argument list is what the score job is given.
    received, _ = JobRequest.from_argv(request.to_argv())
    assert received.options.score.threshold == 0.83


def test_no_threshold_setting_means_the_models_own(cardlake_home: Path, monkeypatch: pytest.MonkeyPatch):
    from cardlake.config import load_settings, resolve_config
    from flows.transform import spark_request

    monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "threshold-test-key")
    received, _ = JobRequest.from_argv(spark_request(resolve_config(load_settings()), WINDOW).to_argv())
    assert received.options.score.threshold is None


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.prefect
def test_the_alerts_flow_reports_the_open_alerts_the_warehouse_holds(
    prefect_harness, spark, cardlake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from flows.alerts import alerts
    from flows.load import load

    load("run-0", make_export(tmp_path / "exports", "run-0"))  # a warehouse that already holds alerts
    open_before = sum(1 for alert in fraud_alerts() if alert["alert_status"] == "open")
    assert open_before > 0
    config = SimulatorConfig(seed=3, n_cards=10, start=date(2025, 6, 1), end=date(2025, 6, 20))
    with serve_in_thread(config) as base_url:
        monkeypatch.setenv("CARDLAKE_API_BASE_URL", base_url)
        monkeypatch.setenv("CARDLAKE_SPARK_RUNNER", "local-session")
        monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "alerts-test-key")
        result = alerts(end=WINDOW.end, lookback_minutes=60)
    assert result.window == WINDOW
    assert result.new_alerts == 0  # no model is trained here, so nothing new is scored
    assert result.open_alerts == open_before
