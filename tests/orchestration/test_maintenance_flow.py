"""The maintenance flow through Prefect's harness: a lake of small daily files compacted, vacuumed, rows kept."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from contracts import lake

pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.prefect]


def test_the_maintenance_flow_compacts_every_table_and_reports_files_before_and_after(
    prefect_harness, spark, cardlake_home: Path, monkeypatch: pytest.MonkeyPatch
):
    from flows.maintenance import maintenance

    monkeypatch.setenv("CARDLAKE_SPARK_RUNNER", "local-session")
    monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "maintenance-test-key")
    metrics_uri = lake.SILVER_RUN_METRICS.uri(str(cardlake_home / "lake"))
    for day in range(1, 6):  # five daily appends: five small files
        write_deltalake(metrics_uri, pa.table({"run_id": [f"day-{day}"], "rows": [day]}), mode="append")
    rows_before = DeltaTable(metrics_uri).to_pyarrow_table().sort_by("run_id")

    result = maintenance(retention_hours=0)

    (metrics,) = [m for m in result.maintenance if m.table == lake.SILVER_RUN_METRICS.path]
    assert (metrics.files_before, metrics.files_after, metrics.files_vacuumed) == (5, 1, 5)
    assert [m.table for m in result.maintenance] == [lake.SILVER_RUN_METRICS.path]  # absent tables are skipped
    assert DeltaTable(metrics_uri).to_pyarrow_table().sort_by("run_id") == rows_before
    assert "1 table(s): 5 small files compacted into 1" in result.notes[0]
