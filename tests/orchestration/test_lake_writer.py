"""One lake writer at a time: the Prefect global concurrency limit, through Prefect's test harness."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect import flow, get_client
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from cardlake.lake_writer import lake_writer, read_limit, slot_per_use
from cardlake.spark_runner.base import SparkJobResult
from contracts.jobs import JobRequest
from contracts.names import LAKE_WRITER_LIMIT
from contracts.results import JobResult

pytestmark = pytest.mark.prefect
WINDOW_START, WINDOW_END = datetime(2025, 6, 10, tzinfo=UTC), datetime(2025, 6, 11, tzinfo=UTC)


def _create(name: str) -> None:
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


def _delete(name: str) -> None:
    with get_client(sync_client=True) as client:
        client.delete_global_concurrency_limit_by_name(name)


@pytest.fixture()
def limit_name(prefect_harness: None) -> Iterator[str]:
    name = f"test-lake-writer-{uuid.uuid4().hex[:8]}"
    _create(name)
    yield name
    _delete(name)


@pytest.fixture()
def lake_writer_limit(prefect_harness: None) -> Iterator[str]:
    """The real limit, as `cardlake blocks register` creates it; removed again to leave the harness as found."""
    created = read_limit(LAKE_WRITER_LIMIT) is None
    if created:
        _create(LAKE_WRITER_LIMIT)
    yield LAKE_WRITER_LIMIT
    if created:
        _delete(LAKE_WRITER_LIMIT)


@pytest.fixture()
def writer_log() -> Iterator[list[str]]:
    """Messages of cardlake.lake_writer outside a run (Prefect's logger does not propagate to caplog)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("prefect.cardlake.lake_writer")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_two_concurrent_writers_never_overlap_and_the_second_says_it_waits(
    limit_name: str, writer_log: list[str]
) -> None:
    intervals: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def write(what: str) -> None:
        try:
            with lake_writer(what, timeout_seconds=60, name=limit_name):
                started = time.monotonic()
                time.sleep(1.5)
                intervals.append((started, time.monotonic()))
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    first = threading.Thread(target=write, args=("writer-1",))
    second = threading.Thread(target=write, args=("writer-2",))
    first.start()
    time.sleep(0.5)  # writer-1 holds the slot by now
    second.start()
    first.join(120)
    second.join(120)
    assert errors == []
    assert len(intervals) == 2
    (_, first_end), (second_start, _) = sorted(intervals)
    assert first_end <= second_start, f"writers overlapped: {intervals}"
    assert any(m.startswith("writer-2 waits for the lake") for m in writer_log), writer_log
    assert any(m.startswith("writer-2 got the lake after waiting") for m in writer_log), writer_log
    assert read_limit(limit_name).active_slots == 0  # type: ignore[union-attr]


def test_a_writer_gives_up_after_its_timeout(limit_name: str) -> None:
    with lake_writer("holder", timeout_seconds=60, name=limit_name):
        outcome: list[BaseException] = []

        def late() -> None:
            try:
                with lake_writer("late", timeout_seconds=1, name=limit_name):
                    pass
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=late)
        thread.start()
        thread.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], TimeoutError)


def test_without_the_limit_a_writer_runs_and_says_it_is_unprotected(
    prefect_harness: None, writer_log: list[str]
) -> None:
    ran = []
    with lake_writer("lonely", timeout_seconds=1, name=f"absent-{uuid.uuid4().hex[:8]}"):
        ran.append(True)
    assert ran == [True]
    (message,) = [m for m in writer_log if m.startswith("lonely writes the lake without the one-writer limit")]
    assert "cardlake blocks register" in message


class _RecordingRunner:
    """A Spark runner that records when it ran; the limit must be held by then."""

    def __init__(self) -> None:
        self.ran_at: float | None = None
        self.active_slots: int | None = None

    def run(self, request: JobRequest) -> SparkJobResult:

        self.ran_at = time.monotonic()
        self.active_slots = read_limit(LAKE_WRITER_LIMIT).active_slots  # type: ignore[union-attr]
        results = {job: JobResult(job=job, run_id=request.run_id) for job in request.jobs}
        return SparkJobResult(job_run_id="fake-1", state="SUCCESS", results=results, duration_s=0.0)


def test_the_transform_spark_task_holds_the_lake_writer_limit(
    lake_writer_limit: str, cardlake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.transform as transform_flow
    from cardlake.config import load_settings, resolve_config
    from contracts.landing import Window

    monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "lake-writer-test-key")
    runner = _RecordingRunner()
    monkeypatch.setattr(transform_flow, "get_runner", lambda config: runner)
    config = resolve_config(load_settings())
    request = transform_flow.spark_request(config, Window(WINDOW_START, WINDOW_END))
    task = transform_flow.run_spark_jobs.with_options(cache_policy=NO_CACHE, persist_result=False, retries=0)

    @flow(name="lake-writer-test")
    def one_spark_run() -> None:
        task(config, request, "fingerprint")

    released_at: list[float] = []

    def hold() -> None:
        with lake_writer("another run", timeout_seconds=60):
            time.sleep(2)
            released_at.append(time.monotonic())

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.7)
    one_spark_run()
    holder.join(60)
    assert runner.ran_at is not None and released_at
    assert runner.ran_at >= released_at[0], "the Spark task ran while another writer held the lake"
    assert runner.active_slots == 1  # the task's own slot
    assert read_limit(LAKE_WRITER_LIMIT).active_slots == 0  # type: ignore[union-attr]


def test_a_long_lived_writer_takes_the_slot_per_burst_and_lets_a_batch_run_in_between(limit_name: str) -> None:
    slot = slot_per_use("the stream's micro-batch", timeout_seconds=60, name=limit_name)
    assert slot is not None
    order: list[str] = []
    with slot():
        assert read_limit(limit_name).active_slots == 1  # type: ignore[union-attr]
        batch_run = threading.Thread(target=lambda: _write_once(limit_name, order))
        batch_run.start()
        time.sleep(1.0)
        order.append("micro-batch 1 done")
    batch_run.join(60)  # the batch run got the lake between the two micro-batches ...
    with slot():
        order.append("micro-batch 2")
    assert order == ["micro-batch 1 done", "batch run", "micro-batch 2"]
    assert read_limit(limit_name).active_slots == 0  # type: ignore[union-attr]  # ... and nothing is held after


def test_no_slot_per_burst_without_the_limit(prefect_harness: None) -> None:
    assert slot_per_use("the stream's micro-batch", timeout_seconds=1, name=f"absent-{uuid.uuid4().hex[:8]}") is None


def _write_once(limit_name: str, order: list[str]) -> None:
    with lake_writer("batch run", timeout_seconds=60, name=limit_name):
        order.append("batch run")


def test_cardlake_stream_takes_the_limit_per_micro_batch_where_a_prefect_server_holds_it(
    lake_writer_limit: str,
) -> None:
    from contextlib import nullcontext

    from rich.console import Console

    from cardlake.cli.stream import _writer_slot
    from cardlake.settings import Settings

    console = Console(record=True, width=200)
    slot = _writer_slot(Settings(), console)
    assert slot is not nullcontext
    with slot():
        assert read_limit(lake_writer_limit).active_slots == 1  # type: ignore[union-attr]
    assert read_limit(lake_writer_limit).active_slots == 0  # type: ignore[union-attr]
    assert f"each micro-batch takes the {lake_writer_limit!r} limit" in console.export_text()


def test_cardlake_stream_without_a_prefect_server_takes_no_limit() -> None:
    from contextlib import nullcontext

    from prefect.settings import PREFECT_API_URL, temporary_settings
    from rich.console import Console

    from cardlake.cli.stream import _writer_slot
    from cardlake.settings import Settings

    console = Console(record=True, width=200)
    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert _writer_slot(Settings(), console) is nullcontext
    assert console.export_text() == ""
