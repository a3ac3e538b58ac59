"""The frequent alerts flow: the newest transactions through silver -> features -> score, alerts to the warehouse.

The fraud team needs alerts within minutes, so this runs on a short interval over a short look-back window;
alerts are upserted by transaction, so overlapping windows never duplicate one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger

from cardlake.config import resolve_config
from contracts import lake, names
from contracts.landing import Window, utc
from flows.extract import extract
from flows.load import load, read_warehouse_summary
from flows.transform import transform


@dataclass(frozen=True)
class AlertsResult:
    window: Window
    new_alerts: int
    open_alerts: int


def alert_window(end: datetime | None, lookback_minutes: int) -> Window:
    if lookback_minutes < 1:
        raise ValueError("lookback_minutes must be at least 1")
    end = utc(end) if end else datetime.now(UTC)
    end = end.replace(second=0, microsecond=0)
    return Window(end - timedelta(minutes=lookback_minutes), end)


@flow(name=names.ALERTS_FLOW)
def alerts(end: datetime | None = None, lookback_minutes: int = 60) -> AlertsResult:
    window = alert_window(end, lookback_minutes)
    config = resolve_config()
    extract(window, entities=("transactions",), config=config)
    spark = transform(window, config=config)
    load(window.label, spark.export_manifest_uri, config=config)
    new_alerts = spark.job("score").table(lake.GOLD_FRAUD_ALERTS.path).inserted
    open_alerts = read_warehouse_summary(config).open_fraud_alerts
    get_run_logger().info("%d new fraud alert(s), %d open", new_alerts, open_alerts)
    return AlertsResult(window, new_alerts, open_alerts)
