"""The alerts stream on a real SparkSession and real Delta tables: the same transactions through the stream and
through the nightly batch jobs give the same features and scores; a restart from the checkpoint loses nothing;
alerts are never duplicated across micro-batches, restarts and re-runs, in the lake and in the warehouse, through
the local sink and through the EMR driver's export per micro-batch and its loader."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from cardapi.config import SimulatorConfig
from cardapi.server import serve_in_thread
from cardlake.landing import LocalLandingZone
from cardlake.source.client import CardApiClient
from cardlake.source.extraction import Extractor, chunk_windows
from cardlake.stream_load import load_stream_exports, pending_stream_exports
from cardlake.stream_sink import upsert_alerts
from cardlake.warehouse.duckdb import DuckDBWarehouse
from contracts import lake as tables
from contracts.jobs import JobOptions, JobRequest, ScoreOptions, StreamOptions, StreamRequest
from contracts.landing import Window
from spark_jobs.delta_io import get_delta_io
from spark_jobs.fraud.model import GbtParams
from spark_jobs.fraud.registry import latest_version, version_uri
from spark_jobs.jobs.stream import StreamBatch, StreamSettings, process_batch, start_stream
from spark_jobs.main import run_request
from spark_jobs.stream_driver import alerts_export_uri, export_sink, stream_settings
from tests.extract.conftest import demo_credentials

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PAN_KEY = "stream-test-key"
START, MIDDLE, END = (datetime(2024, m, 1, tzinfo=UTC) for m in (1, 3, 4))
TINY = GbtParams(max_iter=8, max_depth=3, max_bins=32)


def land(url: str, root: Path, start: datetime, end: datetime, chunk: timedelta) -> int:
    zone = LocalLandingZone.at(root)
    with CardApiClient(demo_credentials(url)) as client:
        extractor = Extractor(client, zone, page_size=500)
        return sum(
            extractor.extract_window("transactions", w)["record_count"] for w in chunk_windows(start, end, chunk)
        )


def rows(spark: SparkSession, lake: str, table: tables.LakeTable, drop: tuple[str, ...]) -> list[tuple]:
    df: DataFrame = get_delta_io("delta-rs", spark).read(spark, table.uri(lake))
    return sorted(tuple(r) for r in df.drop(*drop).collect())


@pytest.fixture(scope="module")
def batch_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Three months landed in day windows and run through the nightly jobs; a tiny model trained on it."""
    from spark_jobs.fraud.lake import train_from_lake

    root = tmp_path_factory.mktemp("stream-parity")
    config = SimulatorConfig(seed=7, n_cards=40, start=date(2024, 1, 1), end=date(2024, 4, 1))
    with serve_in_thread(config) as url:
        land(url, root / "batch-landing", START, END, timedelta(days=1))
        land(url, root / "stream-landing-first", START, MIDDLE, timedelta(hours=12))
        land(url, root / "stream-landing-later", MIDDLE, END, timedelta(hours=12))
    lake, models = str(root / "batch-lake"), str(root / "models")
    window = Window(START, END)
    request = JobRequest(("silver", "features"), str(root / "batch-landing"), lake, window, "batch-1")
    run_request(request, PAN_KEY)
    train_from_lake(spark, get_delta_io("delta-rs", spark), lake, models, holdout_months=1, params=TINY)
    version = latest_version(models)
    assert version is not None
    model_uri = version_uri(models, version)
    score = ScoreOptions(model_uri=model_uri, models_root=models, threshold=0.3)
    run_request(JobRequest(("score",), str(root / "batch-landing"), lake, window, "batch-1",
                           options=JobOptions(score=score)), PAN_KEY)  # fmt: skip
    return {"root": str(root), "lake": lake, "model_uri": model_uri, "models": models}


def test_stream_and_batch_agree_and_a_restart_loses_and_duplicates_nothing(
    spark: SparkSession, batch_lake: dict[str, str]
) -> None:
    root = Path(batch_lake["root"])
    landing = root / "stream-landing"
    landing.mkdir()
    lake, warehouse = str(root / "stream-lake"), root / "warehouse.duckdb"
    DuckDBWarehouse(warehouse).ensure_schema()
    settings = StreamSettings(
        landing_uri=str(landing),
        lake_uri=lake,
        checkpoint_uri=str(root / "checkpoint"),
        source="cardapi",
        pan_key=PAN_KEY,
        score=ScoreOptions(model_uri=batch_lake["model_uri"], models_root=batch_lake["models"], threshold=0.3),
        max_manifests_per_batch=60,
    )
    batches: list[StreamBatch] = []
    slot = WriterSlotRecorder(Path(lake) / tables.SILVER_TRANSACTIONS.path / "_delta_log")

    def sink(batch: StreamBatch) -> None:
        assert not slot.held, "the sink runs after the micro-batch has let the lake go"
        batches.append(batch)
        upsert_alerts(warehouse, batch.alerts)

    delta = get_delta_io("delta-rs", spark)

    def run_until_idle() -> None:
        query = start_stream(spark, delta, settings, sink, writer_slot=slot)
        try:
            query.processAllAvailable()
        finally:
            query.stop()

    # January and February arrive, the stream takes it in several micro-batches, then stops.
    _move(root / "stream-landing-first", landing)
    run_until_idle()
    first_run = len(batches)
    assert first_run >= 2  # 120 manifests, at most 60 a micro-batch
    # March lands while it is down; the restart resumes from the checkpoint and takes only the new manifests.
    _move(root / "stream-landing-later", landing)
    run_until_idle()
    assert len(batches) > first_run
    landed = list((landing / "raw/cardapi/transactions/_manifests").glob("*.json"))
    assert sum(b.manifests for b in batches) == len(landed)  # each manifest taken exactly once
    # one lake-writer slot per micro-batch, and every silver commit made while it was held
    assert slot.uses == len(batches)
    assert slot.commits_inside == slot.commits() > 0

    batch_lake_uri = batch_lake["lake"]
    txn_drop = ("run_id", "ingested_at", "source_file")
    assert rows(spark, lake, tables.SILVER_TRANSACTIONS, txn_drop) == rows(
        spark, batch_lake_uri, tables.SILVER_TRANSACTIONS, txn_drop
    )  # nothing lost, nothing twice
    assert rows(spark, lake, tables.GOLD_TRANSACTION_FEATURES, ("run_id",)) == rows(
        spark, batch_lake_uri, tables.GOLD_TRANSACTION_FEATURES, ("run_id",)
    )
    score_columns = ("scored_at", "run_id")
    assert rows(spark, lake, tables.GOLD_TRANSACTION_SCORES, score_columns) == rows(
        spark, batch_lake_uri, tables.GOLD_TRANSACTION_SCORES, score_columns
    )
    alert_drop = ("first_seen_at", "run_id")
    stream_alerts = rows(spark, lake, tables.GOLD_FRAUD_ALERTS, alert_drop)
    assert stream_alerts == rows(spark, batch_lake_uri, tables.GOLD_FRAUD_ALERTS, alert_drop)
    assert stream_alerts  # the threshold leaves alerts to compare

    with DuckDBWarehouse(warehouse, read_only=True) as wh:
        (count, distinct), *_ = wh.query("SELECT COUNT(*), COUNT(DISTINCT transaction_id) FROM fraud_alerts")
        opened = wh.query("SELECT COUNT(*) FROM rpt_open_fraud_alerts")[0][0]
    assert count == distinct == len(stream_alerts)
    assert opened == sum(1 for r in stream_alerts if "open" in r)

    # A micro-batch re-run after a crash (same batch id, same manifests) changes nothing and duplicates nothing.
    manifests = sorted((landing / "raw/cardapi/transactions/_manifests").glob("*.json"))[:5]
    again = process_batch(spark, delta, settings, [(str(p), p.read_text()) for p in manifests], batches[0].batch_id)
    assert again is not None
    sink(again)
    assert rows(spark, lake, tables.GOLD_FRAUD_ALERTS, alert_drop) == stream_alerts
    with DuckDBWarehouse(warehouse, read_only=True) as wh:
        assert wh.query("SELECT COUNT(*) FROM fraud_alerts")[0][0] == count


class WriterSlotRecorder:
    """A writer slot that records its uses and the Delta commits made while it is held."""

    def __init__(self, delta_log: Path) -> None:
        self.delta_log, self.held, self.uses, self.commits_inside = delta_log, False, 0, 0

    def commits(self) -> int:
        return len(list(self.delta_log.glob("*.json"))) if self.delta_log.exists() else 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        before, self.held = self.commits(), True
        self.uses += 1
        try:
            yield
        finally:
            self.held = False
            self.commits_inside += self.commits() - before


def _move(source: Path, landing: Path) -> None:
    """Pages first, manifests last (as the extractor writes them), into the stream's landing zone."""
    for path in sorted(source.rglob("*"), key=lambda p: "_manifests" in p.parts):
        if path.is_file():
            target = landing / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)


# Run alone, this test also builds the module's batch lake and model (several minutes on two shared cores).
@pytest.mark.timeout(1800)
def test_the_emr_driver_exports_each_micro_batch_and_the_loader_upserts_one_alert_per_transaction(
    spark: SparkSession, batch_lake: dict[str, str]
) -> None:
    """The production sink: the driver's export per micro-batch, re-run with the same batch id, loaded in order."""
    root = Path(batch_lake["root"])
    landing = root / "export-landing"
    config = SimulatorConfig(seed=7, n_cards=40, start=date(2024, 1, 1), end=date(2024, 4, 1))
    with serve_in_thread(config) as url:
        land(url, landing, START, START + timedelta(days=16), timedelta(hours=12))  # 32 manifests: 2 micro-batches
    request = StreamRequest(
        landing_uri=str(landing),
        lake_uri=str(root / "export-lake"),
        stream=StreamOptions(max_manifests_per_batch=16),
        score=ScoreOptions(model_uri=batch_lake["model_uri"], models_root=batch_lake["models"], threshold=0.3),
    )
    delta = get_delta_io("delta-rs", spark)
    export_alerts = export_sink(spark, delta, request, PAN_KEY)
    batches: list[StreamBatch] = []

    def sink(batch: StreamBatch) -> None:
        batches.append(batch)
        export_alerts(batch)

    query = start_stream(spark, delta, stream_settings(request, PAN_KEY), sink)
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    assert len(batches) >= 2 and sum(b.alert_rows for b in batches) > 0
    exports = pending_stream_exports(request.exports_root, None)
    assert [Path(uri).parent.name for uri in exports] == [b.run_id for b in batches if b.alert_rows]
    assert Path(request.checkpoint_uri).is_dir()

    warehouse_file = root / "export-warehouse.duckdb"
    with DuckDBWarehouse(warehouse_file) as wh:
        wh.ensure_schema()
        loaded = load_stream_exports(wh, request.exports_root)
        assert [uri for uri, _ in loaded] == exports
        # A micro-batch re-run after a crash (same batch id) rewrites its own export; the next load finds
        # nothing new, and a warehouse loaded from scratch holds each alert once.
        first = batches[0]
        first_export = Path(alerts_export_uri(request, first.run_id), "_export.json").read_text()
        manifests = sorted((landing / "raw/cardapi/transactions/_manifests").glob("*.json"))[: first.manifests]
        again = process_batch(spark, delta, stream_settings(request, PAN_KEY),
                              [(str(p), p.read_text()) for p in manifests], first.batch_id)  # fmt: skip
        assert again is not None and again.run_id == first.run_id
        export_alerts(again)
        assert Path(alerts_export_uri(request, first.run_id), "_export.json").read_text() == first_export
        assert load_stream_exports(wh, request.exports_root) == []
        (count, distinct), *_ = wh.query("SELECT COUNT(*), COUNT(DISTINCT transaction_id) FROM fraud_alerts")
    lake_alerts = rows(spark, request.lake_uri, tables.GOLD_FRAUD_ALERTS, ("first_seen_at", "run_id"))
    assert count == distinct == len(lake_alerts) > 0
    with DuckDBWarehouse(root / "fresh-warehouse.duckdb") as fresh:
        fresh.ensure_schema()
        assert len(load_stream_exports(fresh, request.exports_root)) == len(exports)
        assert fresh.query("SELECT COUNT(*), COUNT(DISTINCT alert_key) FROM fraud_alerts")[0] == (count, count)
