"""Local runners: spark-submit in a child process (fake and real) and in-process sessions."""

from __future__ import annotations

import _thread
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from cardlake.config import PanKey, PipelineConfig, resolve_config
from cardlake.settings import Settings
from cardlake.spark_runner import SparkJobFailed, get_runner
from cardlake.spark_runner.local import LocalSessionRunner, LocalSubmitRunner, failure_tail
from contracts.jobs import JobOptions, JobRequest, ScoreOptions
from contracts.landing import Window
from tests.orchestration import fake_spark_job

HERE = Path(__file__).parent
FAKE_JOB = HERE / "fake_spark_job.py"
PAN_KEY = "test-pan-key-4f1c9e"  # a made-up key: the tests check it never leaves the child's environment


KEY = PanKey(value=SecretStr(PAN_KEY), is_local_default=False)


@pytest.fixture()
def logs(tmp_path: Path) -> Path:
    return tmp_path / "home" / "logs"


def behave(monkeypatch: pytest.MonkeyPatch, **behaviours: str) -> None:
    """What each job of the fake does (see fake_spark_job.py)."""
    monkeypatch.setenv("FAKE_SPARK_JOBS", json.dumps(behaviours))


def note(result, name: str) -> str:
    return next(n.split("=", 1)[1] for n in result.notes if n.startswith(f"{name}="))


@pytest.fixture()
def fake_submit(tmp_path: Path) -> Path:
    script = tmp_path / "spark-submit"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "fake_spark_submit.py"} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def request(tmp_path: Path, *jobs: str, run_id: str = "20250601T000000Z_20250602T000000Z") -> JobRequest:
    return JobRequest(
        jobs=jobs,  # type: ignore[arg-type]
        landing_uri=str(tmp_path / "landing"),
        lake_uri=str(tmp_path / "lake"),
        window=Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC)),
        run_id=run_id,
    )


def test_job_args_follow_the_contract_and_parse_back_to_the_same_request(tmp_path: Path) -> None:
    sent = request(tmp_path, "silver", "gold")
    args = sent.to_argv(pan_key_secret_id="arn:aws:secretsmanager:x")
    assert args == [
        "--job", "silver,gold",
        "--landing-uri", str(tmp_path / "landing"),
        "--lake-uri", str(tmp_path / "lake"),
        "--window-start", "2025-06-01T00:00:00Z",
        "--window-end", "2025-06-02T00:00:00Z",
        "--run-id", "20250601T000000Z_20250602T000000Z",
        "--delta-engine", "delta-rs",
        "--source", "cardapi",
        "--pan-key-secret-id", "arn:aws:secretsmanager:x",
    ]  # fmt: skip
    assert JobRequest.from_argv(args) == (sent, "arn:aws:secretsmanager:x")


def test_typed_options_travel_to_the_job_unchanged(tmp_path: Path) -> None:
    options = JobOptions(score=ScoreOptions(threshold=0.8, models_root="/models", select="window"))
    sent = JobRequest(**{**request(tmp_path, "score").__dict__, "options": options})
    received, _ = JobRequest.from_argv(sent.to_argv())
    assert received.options.score == ScoreOptions(threshold=0.8, models_root="/models", select="window")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jobs": ()}, "at least one job"),
        ({"jobs": ("silver,gold",)}, "unknown job"),
        ({"jobs": ("scoring",)}, "unknown job"),
        ({"delta_engine": "hudi"}, "delta_engine"),
        ({"run_id": ""}, "run_id"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(tmp_path: Path, change: dict, message: str) -> None:
    fields = {**request(tmp_path, "silver").__dict__, **change}
    with pytest.raises(ValueError, match=message):
        JobRequest(**fields)


def test_submit_runner_returns_job_results_and_keeps_the_key_out_of_argv_and_logs(
    tmp_path: Path, logs: Path, fake_submit: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = LocalSubmitRunner(KEY, logs, entry_point=FAKE_JOB, spark_submit=fake_submit)
    result = runner.run(request(tmp_path, "silver"))

    assert result.state == "SUCCESS"
    echoed = result.results["silver"]
    assert note(echoed, "pan_key_sha256") == hashlib.sha256(PAN_KEY.encode()).hexdigest()  # arrived via env
    assert PAN_KEY not in note(echoed, "argv")
    assert result.log_uri == str((logs / "spark/20250601T000000Z_20250602T000000Z.log").resolve())
    assert PAN_KEY not in Path(result.log_uri).read_text()
    assert PAN_KEY not in caplog.text and PAN_KEY not in " ".join(runner.command(request(tmp_path, "silver")))


def test_submit_failure_names_the_error_and_the_log_without_spark_noise(
    tmp_path: Path, logs: Path, fake_submit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    behave(monkeypatch, silver="fail")
    runner = LocalSubmitRunner(KEY, logs, entry_point=FAKE_JOB, spark_submit=fake_submit)
    with pytest.raises(SparkJobFailed) as failure:
        runner.run(request(tmp_path, "silver"))

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


def test_interrupt_kills_the_whole_spark_process_group(
    tmp_path: Path, logs: Path, fake_submit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    behave(monkeypatch, silver="sleep")
    runner = LocalSubmitRunner(KEY, logs, entry_point=FAKE_JOB, spark_submit=fake_submit)
    pids_file = tmp_path / "lake" / "pids.json"
    pids_file.parent.mkdir(parents=True)

    def interrupt_when_started() -> None:
        deadline = time.monotonic() + 60
        while not pids_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        runner.run(request(tmp_path, "silver"))

    pids = json.loads(pids_file.read_text())
    deadline = time.monotonic() + 5
    while not (_dead(pids["job"]) and _dead(pids["child"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(pids["job"]) and _dead(pids["child"])


def test_a_killed_pipeline_leaves_no_spark_process_behind(tmp_path: Path, fake_submit: Path) -> None:
    """kill -9 of the process running the submit runner: spark-submit and everything it started end too."""
    pids_file = tmp_path / "lake" / "pids.json"
    pids_file.parent.mkdir(parents=True)
    script = f"""
import sys
sys.path.insert(0, {str(HERE.parents[1])!r})
from pathlib import Path
from tests.orchestration.test_spark_runner_local import KEY, request
from cardlake.spark_runner.local import LocalSubmitRunner
runner = LocalSubmitRunner(KEY, Path({str(tmp_path / "logs")!r}), entry_point=Path({str(FAKE_JOB)!r}),
                           spark_submit=Path({str(fake_submit)!r}))
runner.run(request(Path({str(tmp_path)!r}), "silver"))
"""
    env = {**os.environ, "FAKE_SPARK_JOBS": json.dumps({"silver": "sleep"})}
    pipeline = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while not pids_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids_file.exists(), "the fake Spark job never started"
    pids = json.loads(pids_file.read_text())
    pipeline.kill()  # SIGKILL: no handler, no finally block runs in the pipeline process
    pipeline.wait()
    deadline = time.monotonic() + 15
    while not (_dead(pids["job"]) and _dead(pids["child"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _dead(pids["job"]) and _dead(pids["child"])


def test_session_runner_runs_jobs_in_process_and_masks_the_key_in_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARDLAKE_PAN_TOKEN_KEY", raising=False)
    runner = LocalSessionRunner(KEY, run_request=fake_spark_job.run_request)
    result = runner.run(request(tmp_path, "silver"))
    assert note(result.results["silver"], "pan_key_sha256") == hashlib.sha256(PAN_KEY.encode()).hexdigest()
    assert "CARDLAKE_PAN_TOKEN_KEY" not in os.environ

    behave(monkeypatch, silver="fail")
    with pytest.raises(SparkJobFailed, match="RuntimeError: fake job failed on purpose"):
        runner.run(request(tmp_path, "silver"))


def test_missing_result_file_is_an_error_not_an_empty_result(tmp_path: Path, logs: Path, fake_submit: Path) -> None:
    runner = LocalSubmitRunner(KEY, logs, entry_point=tmp_path / "writes_nothing.py", spark_submit=fake_submit)
    (tmp_path / "writes_nothing.py").write_text("pass\n")
    with pytest.raises(FileNotFoundError, match=r"wrote no result for: .*silver\.json"):
        runner.run(request(tmp_path, "silver"))


def config_for(tmp_path: Path, **settings: object) -> PipelineConfig:
    return resolve_config(Settings(home=tmp_path, pan_token_key=SecretStr(PAN_KEY), **settings))  # type: ignore[arg-type]


def test_get_runner_picks_the_configured_runner(tmp_path: Path) -> None:
    assert isinstance(get_runner(config_for(tmp_path, spark_runner="local-submit")), LocalSubmitRunner)
    assert isinstance(get_runner(config_for(tmp_path, spark_runner="local-session")), LocalSessionRunner)


@pytest.mark.slow
def test_real_spark_submit_runs_a_spark_job(tmp_path: Path, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    behave(monkeypatch, silver="count", gold="echo")
    runner = LocalSubmitRunner(KEY, logs, entry_point=FAKE_JOB, spark_conf={"spark.driver.memory": "1g"})
    result = runner.run(request(tmp_path, "silver", "gold"))
    assert result.results["silver"].table("even_rows").read == 500
    assert list(result.results) == ["silver", "gold"]
    assert result.duration_s is not None and result.duration_s > 0
