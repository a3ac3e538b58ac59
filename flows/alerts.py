"""The frequent alerts flow: the newest transactions through silver -> features -> score, alerts to the warehouse.

The fraud team needs alerts within minutes, so this runs on a short interval over a short look-back window;
alerts are upserted by transaction, so overlapping windows never duplicate one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from cardlake.settings import get_settings, utc
from flows.extract import extract
from flows.load import load, warehouse_summary
from flows.transform import LAKE_JOBS, transform, window_label


def alert_window(end: datetime | None, lookback_minutes: int) -> tuple[datetime, datetime]:
    if lookback_minutes < 1:
        raise ValueError("lookback_minutes must be at least 1")
    end = utc(end) if end else datetime.now(UTC)
    end = end.replace(second=0, microsecond=0)
    return end - timedelta(minutes=lookback_minutes), end


@flow(name="alerts")
def alerts(end: datetime | None = None, lookback_minutes: int = 60) -> dict[str, Any]:
    start, stop = alert_window(end, lookback_minutes)
    settings = get_settings()
    run_id = window_label(start, stop)
    extract(start, stop, entities=("transactions",))
    lake = transform(start, stop, run_id, jobs=LAKE_JOBS)
    load(run_id, f"{settings.lake_root.rstrip('/')}/exports/{run_id}/_export.json")
    score = lake.get("metrics", {}).get("score", {})
    new_alerts = int(score.get("alerts_inserted", 0))
    open_alerts = int(warehouse_summary(settings).get("open_alerts", 0) or 0)
    get_run_logger().info("%d new fraud alert(s), %d open", new_alerts, open_alerts)
    return {"window": run_id, "new_alerts": new_alerts, "open_alerts": open_alerts}
