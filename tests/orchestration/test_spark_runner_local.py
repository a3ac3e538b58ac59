"""Local runners: spark-submit in a child process (fake and real) and in-process sessions."""

from __future__ import annotations

import _thread
import hashlib
import json
import os
import stat
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from cardlake.settings import LOCAL_DEMO_PAN_KEY, Settings
from cardlake.spark_runner import SparkJobFailed, SparkJobRequest, build_job_args, get_runner
from cardlake.spark_runner.local import LocalSessionRunner, LocalSubmitRunner, failure_tail

HERE = Path(__file__).parent
FAKE_JOB = HERE / "fake_spark_job.py"
PAN_KEY = "test-pan-key-4f1c9e"  # a made-up key: the tests check it never leaves the child's environment


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", pan_token_key=SecretStr(PAN_KEY))


@pytest.fixture()
def fake_submit(tmp_path: Path) -> Path:
    script = tmp_path / "spark-submit"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "fake_spark_submit.py"} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def request(tmp_path: Path, *jobs: str, run_id: str = "20250601T000000Z_20250602T000000Z") -> SparkJobRequest:
    return SparkJobRequest(
        jobs=jobs,
        landing_uri=str(tmp_path / "landing"),
        lake_uri=str(tmp_path / "lake"),
        window_start=datetime(2025, 6, 1, tzinfo=UTC),
        window_end=datetime(2025, 6, 2, tzinfo=UTC),
        run_id=run_id,
    )


def test_job_args_follow_the_contract(tmp_path: Path) -> None:
    args = build_job_args(request(tmp_path, "silver", "gold"), pan_key_secret_id="arn:aws:secretsmanager:x")
    assert args == [
        "--job", "silver,gold",
        "--landing-uri", str(tmp_path / "landing"),
        "--lake-uri", str(tmp_path / "lake"),
        "--window-start", "2025-06-01T00:00:00Z",
        "--window-end", "2025-06-02T00:00:00Z",
        "--run-id", "20250601T000000Z_20250602T000000Z",
        "--delta-engine", "delta-rs",
        "--pan-key-secret-id", "arn:aws:secretsmanager:x",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jobs": ()}, "at least one job"),
        ({"jobs": ("silver,gold",)}, "invalid job names"),
        ({"delta_engine": "hudi"}, "delta_engine"),
        ({"window_end": datetime(2025, 5, 1, tzinfo=UTC)}, "must be after"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(tmp_path: Path, change: dict, message: str) -> None:
    fields = {**request(tmp_path, "silver").__dict__, **change}
    with pytest.raises(ValueError, match=message):
        SparkJobRequest(**fields)


def test_submit_runner_returns_job_results_and_keeps_the_key_out_of_argv_and_logs(
    tmp_path: Path, settings: Settings, fake_submit: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = LocalSubmitRunner(settings, entry_point=FAKE_JOB, spark_submit=fake_submit)
    result = runner.run(request(tmp_path, "echo"))

    assert result.state == "SUCCESS"
    metrics = result.results["echo"]["metrics"]
    assert metrics["pan_key_sha256"] == hashlib.sha256(PAN_KEY.encode()).hexdigest()  # arrived via env
    assert PAN_KEY not in json.dumps(metrics["argv"])
    assert result.log_uri == str((settings.home / "logs/spark/20250601T000000Z_20250602T000000Z.log").resolve())
    assert PAN_KEY not in Path(result.log_uri).read_text()
    assert PAN_KEY not in caplog.text and PAN_KEY not in " ".join(runner.command(request(tmp_path, "echo")))
    assert result.details["pan_key_is_local_default"] is False


def test_submit_failure_names_the_error_and_the_log_without_spark_noise(
    tmp_path: Path, settings: Settings, fake_submit: Path
) -> None:
    runner = LocalSubmitRunner(settings, entry_point=FAKE_JOB, spark_submit=fake_submit)
    with pytest.raises(SparkJobFailed) as failure:
        runner.run(request(tmp_path, "fail"))

    message = str(failure.value)
    assert "exit code 1" in message
    assert "RuntimeError: fake job failed on purpose: window has no manifest" in message
    assert str(runner.log_path("20250601T000000Z_20250602T000000Z")) in message
    assert "NativeCodeLoader" not in message and "log4j" not in message
    assert len(message.splitlines()) <= 45


def test_failure_tail_masks_a_leaked_secret(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("25/06/01 10:00:01 INFO SparkContext: noise\nValueError: bad key secret-123\n")
    assert failure_tail(log, "secret-123") == "ValueError: bad key ***"


def _dead(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # a zombie has exited; only its parent's bookkeeping is left


def test_interrupt_kills_the_whole_spark_process_group(tmp_path: Path, settings: Settings, fake_submit: Path) -> None:
    runner = LocalSubmitRunner(settings, entry_point=FAKE_JOB, spark_submit=fake_submit)
    pids_file = tmp_path / "lake" / "pids.json"
    pids_file.parent.mkdir(parents=True)

    def interrupt_when_started() -> None:
        deadline = time.monotonic() + 60
        while not pids_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        runner.run(request(tmp_path, "sleep"))

    pids = json.loads(pids_file.read_text())
    deadline = time.monotonic() + 5
    while not (_dead(pids["job"]) and _dead(pids["child"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(pids["job"]) and _dead(pids["child"])


def test_session_runner_runs_jobs_in_process_with_the_key_only_while_running(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.delenv("CARDLAKE_PAN_TOKEN_KEY", raising=False)
    result = LocalSessionRunner(settings, module="fake_spark_job").run(request(tmp_path, "echo"))
    assert result.results["echo"]["metrics"]["pan_key_sha256"] == hashlib.sha256(PAN_KEY.encode()).hexdigest()
    assert "CARDLAKE_PAN_TOKEN_KEY" not in os.environ

    with pytest.raises(SparkJobFailed, match="RuntimeError: fake job failed on purpose"):
        LocalSessionRunner(settings, module="fake_spark_job").run(request(tmp_path, "fail"))


def test_missing_result_file_is_an_error_not_an_empty_result(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    runner = LocalSessionRunner(settings, module="fake_spark_job")
    req = request(tmp_path, "echo")
    runner.run(req)
    (tmp_path / "lake" / "_runs" / req.run_id / "echo.json").unlink()
    monkeypatch.setattr("fake_spark_job.run_jobs", lambda argv: {})
    with pytest.raises(FileNotFoundError, match=r"wrote no result for: .*echo\.json"):
        runner.run(req)


def test_get_runner_picks_the_configured_runner(tmp_path: Path) -> None:
    assert isinstance(get_runner(Settings(home=tmp_path, spark_runner="local-submit")), LocalSubmitRunner)
    assert isinstance(get_runner(Settings(home=tmp_path, spark_runner="local-session")), LocalSessionRunner)


def test_local_demo_key_is_flagged(tmp_path: Path, fake_submit: Path) -> None:
    settings = Settings(home=tmp_path / "home", pan_token_key=SecretStr(LOCAL_DEMO_PAN_KEY))
    result = LocalSubmitRunner(settings, entry_point=FAKE_JOB, spark_submit=fake_submit).run(request(tmp_path, "echo"))
    assert result.details["pan_key_is_local_default"] is True


@pytest.mark.slow
def test_real_spark_submit_runs_a_spark_job(tmp_path: Path, settings: Settings) -> None:
    runner = LocalSubmitRunner(settings, entry_point=FAKE_JOB, spark_conf={"spark.driver.memory": "1g"})
    result = runner.run(request(tmp_path, "count", "echo"))
    assert result.results["count"]["metrics"]["rows"] == 500
    assert list(result.results) == ["count", "echo"]
    assert result.duration_s is not None and result.duration_s > 0
