"""The stream's micro-batch exports into DuckDB and PostgreSQL: in order, once each, resumed after a failed load."""

from __future__ import annotations

from pathlib import Path

import pytest

from cardlake.stream_load import load_stream_exports
from cardlake.warehouse import ExportError, Warehouse
from tests.warehouse.star_data import fraud_alerts, make_export


def alerts(wh: Warehouse) -> list[tuple]:
    return sorted(wh.query("SELECT transaction_id, alert_status FROM fraud_alerts"))


def test_later_micro_batches_win_and_a_failed_load_resumes_where_it_stopped(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    root = tmp_path / "exports" / "stream"
    opened, other = fraud_alerts()
    closed = {**opened, "alert_status": "closed"}
    make_export(root, "stream-00000001", {"fraud_alerts": [opened, other]})
    # Micro-batch 2 changes alert t2 again; its export is broken (as if cut short), so its load must fail whole.
    broken = Path(make_export(root, "stream-00000002", {"fraud_alerts": [closed]}))
    broken.write_text(broken.read_text().replace('"rows": 1', '"rows": 2'))

    with pytest.raises(ExportError, match="manifest says 2 rows but the files hold 1"):
        load_stream_exports(warehouse, str(root))
    assert warehouse.stream_loaded_through() == "stream-00000001"  # the first load committed, the second did not
    assert alerts(warehouse) == [("t2", "open"), ("t4", "closed")]

    make_export(root, "stream-00000002", {"fraud_alerts": [closed]})  # the re-run micro-batch rewrites its export
    loaded = load_stream_exports(warehouse, str(root))
    assert [(Path(uri).parent.name, rows) for uri, rows in loaded] == [("stream-00000002", 1)]
    assert alerts(warehouse) == [("t2", "closed"), ("t4", "closed")]  # one row per transaction, the later one
    assert load_stream_exports(warehouse, str(root)) == []
    assert warehouse.stream_loaded_through() == "stream-00000002"


def test_no_export_yet_loads_nothing(warehouse: Warehouse, tmp_path: Path) -> None:
    assert warehouse.stream_loaded_through() is None
    assert load_stream_exports(warehouse, str(tmp_path / "no-stream-yet")) == []
