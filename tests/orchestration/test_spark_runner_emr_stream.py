"""The stream on EMR Serverless: the STREAMING StartJobRun request, RUNNING, CancelJobRun and a FAILED stream.

moto serves S3 (the code upload) and the application; botocore's Stubber stands in for the job run calls and
asserts each request exactly: moto 5.2's emr-serverless backend ignores `mode` and `retryPolicy` and ends every
job run at once in SUCCESS, so it cannot play a stream. botocore validates every request against its service
model before the Stubber sees it, so `mode` and `retryPolicy` are checked against the API's own shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from typer.testing import CliRunner

import cardlake.config
from cardlake.cli import app as cli_app
from cardlake.cli import stream_emr
from cardlake.config import ConfigError
from cardlake.spark_runner import SparkJobFailed
from cardlake.spark_runner.emr import SparkJobTimeout
from cardlake.spark_runner.emr_stream import STREAM_JOB_NAME, EmrStreamRunner
from contracts.jobs import PAN_KEY_ENV, ScoreOptions, StreamOptions, StreamRequest
from tests.orchestration.test_spark_runner_emr import (  # noqa: F401  (aws is a fixture)
    APP,
    BUCKET,
    REGION,
    ROLE,
    FakeTime,
    aws,
    job_run,
    make_block,
    snapshot_code,
    started,
)

PAN_KEY = "a-pan-token-key-that-must-never-travel-in-arguments"
GET = {"applicationId": APP, "jobRunId": "00st1"}
LIST = {"applicationId": APP, "mode": "STREAMING"}


def a_request() -> StreamRequest:
    return StreamRequest(
        landing_uri=f"s3://{BUCKET}/landing",
        lake_uri=f"s3://{BUCKET}/lake",
        stream=StreamOptions(trigger_seconds=5.0),
        score=ScoreOptions(threshold=0.8),
    )


def summary(job_run_id: str, state: str, created: datetime, name: str = STREAM_JOB_NAME) -> dict[str, Any]:
    return {
        "applicationId": APP, "id": job_run_id, "name": name, "mode": "STREAMING",
        "arn": f"arn:aws:emr-serverless:{REGION}:123456789012:/applications/{APP}/jobruns/{job_run_id}",
        "createdBy": ROLE, "createdAt": created, "updatedAt": created, "executionRole": ROLE, "state": state,
        "stateDetails": f"Job run is {state.lower()}", "releaseLabel": "emr-7.9.0", "type": "Spark",
    }  # fmt: skip


def stream_run(state: str, job_run_id: str = "00st1", **extra: Any) -> dict[str, Any]:
    return job_run(state, job_run_id, mode="STREAMING", **extra)


@pytest.fixture()
def stubbed(aws: boto3.session.Session, tmp_path: Path) -> Iterator[tuple[EmrStreamRunner, Stubber, FakeTime]]:  # noqa: F811
    emr = aws.client("emr-serverless")
    clients = {"emr-serverless": emr, "s3": aws.client("s3")}
    fake_time = FakeTime()
    runner = EmrStreamRunner(
        make_block(stream_start_timeout_s=120.0), clients.__getitem__, code_root=snapshot_code(tmp_path),
        sleep=fake_time.sleep, clock=fake_time.clock,
    )  # fmt: skip
    with Stubber(emr) as stub:
        yield runner, stub, fake_time


def test_start_sends_a_streaming_job_run_without_timeout_and_returns_once_running(
    stubbed: tuple[EmrStreamRunner, Stubber, FakeTime], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, stub, fake_time = stubbed
    monkeypatch.setenv(PAN_KEY_ENV, PAN_KEY)  # present in this process: it must still not reach the request
    request = a_request()
    expected = runner.start_stream_params(request, runner.upload_code())
    stub.add_response("list_job_runs", {"jobRuns": []}, LIST)
    stub.add_response("start_job_run", started("00st1"), expected)
    stub.add_response("get_job_run", stream_run("SCHEDULED"), GET)
    stub.add_response("get_job_run", stream_run("RUNNING", attempt=1), GET)

    run = runner.start_stream(request)

    stub.assert_no_pending_responses()
    assert (run.job_run_id, run.state, run.attempt, run.already_running) == ("00st1", "RUNNING", 1, False)
    assert fake_time.sleeps == [10.0]  # it stopped polling at RUNNING: nothing waits for the end of a stream
    assert expected["mode"] == "STREAMING"
    assert expected["retryPolicy"] == {"maxFailedAttemptsPerHour": 5}
    assert "executionTimeoutMinutes" not in expected
    assert expected["name"] == STREAM_JOB_NAME
    driver = expected["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"].startswith(f"s3://{BUCKET}/code/") and driver["entryPoint"].endswith("/main.py")
    sent, secret_id = StreamRequest.from_argv(driver["entryPointArguments"])
    assert sent == StreamRequest(request.landing_uri, request.lake_uri, "delta-spark", request.source,
                                 request.stream, request.score)  # fmt: skip
    assert sent.checkpoint_uri == f"s3://{BUCKET}/lake/_checkpoints/stream"
    assert secret_id == make_block().pan_key_secret_arn
    assert PAN_KEY not in repr(expected)
    assert "S3DynamoDBLogStore" in driver["sparkSubmitParameters"]


def test_a_stream_already_running_is_reported_and_none_is_started(
    stubbed: tuple[EmrStreamRunner, Stubber, FakeTime],
) -> None:
    runner, stub, _ = stubbed
    stub.add_response("list_job_runs", {"jobRuns": [summary("00st1", "RUNNING", datetime(2026, 1, 2, tzinfo=UTC)),
                                                     summary("00old", "CANCELLED", datetime(2026, 1, 1, tzinfo=UTC)),
                                                     summary("00other", "RUNNING", datetime(2026, 1, 3, tzinfo=UTC),
                                                             name="someone-elses-stream")]}, LIST)  # fmt: skip
    stub.add_response("get_job_run", stream_run("RUNNING"), GET)

    run = runner.start_stream(a_request())

    stub.assert_no_pending_responses()  # no start_job_run was stubbed: a second start would have failed here
    assert (run.job_run_id, run.state, run.already_running) == ("00st1", "RUNNING", True)


def test_interrupting_a_wait_for_someone_elses_stream_does_not_cancel_it(
    stubbed: tuple[EmrStreamRunner, Stubber, FakeTime],
) -> None:
    runner, stub, _ = stubbed
    cancels: list[str] = []
    runner.emr.meta.events.register(  # fires before the Stubber answers (or refuses) the call
        "provide-client-params.emr-serverless.CancelJobRun", lambda params, **_: cancels.append(params["jobRunId"])
    )

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    runner._sleep = interrupted
    stub.add_response("list_job_runs", {"jobRuns": [summary("00st1", "PENDING", datetime(2026, 1, 2, tzinfo=UTC))]},
                      LIST)  # fmt: skip
    stub.add_response("get_job_run", stream_run("PENDING"), GET)

    with pytest.raises(KeyboardInterrupt):
        runner.start_stream(a_request())
    assert cancels == []


def test_a_start_after_a_stop_gets_a_new_client_token(stubbed: tuple[EmrStreamRunner, Stubber, FakeTime]) -> None:
    runner, stub, _ = stubbed
    bundle = runner.upload_code()
    first = runner.start_stream_params(a_request(), bundle)
    after_stop = runner.start_stream_params(a_request(), bundle, after="00st1")
    stub.add_response("list_job_runs", {"jobRuns": [summary("00st1", "CANCELLED", datetime(2026, 1, 2, tzinfo=UTC))]},
                      LIST)  # fmt: skip
    stub.add_response("start_job_run", started("00st2"), after_stop)
    stub.add_response("get_job_run", stream_run("RUNNING", "00st2"), {**GET, "jobRunId": "00st2"})

    assert runner.start_stream(a_request()).job_run_id == "00st2"
    assert first["clientToken"] != after_stop["clientToken"]
    assert runner.start_stream_params(a_request(), bundle)["clientToken"] == first["clientToken"]  # a retry re-attaches


def test_a_stream_that_fails_while_starting_raises_state_reason_and_log(
    stubbed: tuple[EmrStreamRunner, Stubber, FakeTime],
) -> None:
    runner, stub, _ = stubbed
    details = "Job failed, please check complete logs in configured logging destination. ExitCode: 1."
    stub.add_response("list_job_runs", {"jobRuns": []}, LIST)
    stub.add_response("start_job_run", started("00st1"), {"applicationId": APP, "clientToken": ANY,
                      "executionRoleArn": ROLE, "name": ANY, "mode": "STREAMING", "retryPolicy": ANY,
                      "jobDriver": ANY, "configurationOverrides": ANY, "tags": ANY})  # fmt: skip
    stub.add_response("get_job_run", stream_run("PENDING"), GET)
    stub.add_response("get_job_run", stream_run("FAILED", stateDetails=details), GET)

    with pytest.raises(SparkJobFailed) as failed:
        runner.start_stream(a_request())

    message = str(failed.value)
    assert "00st1 ended in state FAILED" in message and details in message
    assert f"s3://{BUCKET}/logs/applications/{APP}/jobs/00st1/SPARK_DRIVER/stderr.gz" in message


def test_a_stream_not_running_within_the_start_timeout_is_cancelled(
    stubbed: tuple[EmrStreamRunner, Stubber, FakeTime],
) -> None:
    runner, stub, _ = stubbed
    stub.add_response("list_job_runs", {"jobRuns": []}, LIST)
    stub.add_response("start_job_run", started("00st1"))
    for _ in range(5):  # 10 + 15 + 22.5 + 33.75 s of waiting, then the 120 s deadline is passed
        stub.add_response("get_job_run", stream_run("SCHEDULED"), GET)
    stub.add_response("cancel_job_run", {"applicationId": APP, "jobRunId": "00st1"}, GET)
    stub.add_response("get_job_run", stream_run("CANCELLED"), GET)

    with pytest.raises(SparkJobTimeout, match="NOT RUNNING, then CANCELLED"):
        runner.start_stream(a_request())
    stub.assert_no_pending_responses()


def test_stop_cancels_the_live_stream_and_reports_it_ended(stubbed: tuple[EmrStreamRunner, Stubber, FakeTime]) -> None:
    runner, stub, _ = stubbed
    stub.add_response("list_job_runs", {"jobRuns": [summary("00st1", "RUNNING", datetime(2026, 1, 2, tzinfo=UTC))]},
                      LIST)  # fmt: skip
    stub.add_response("cancel_job_run", {"applicationId": APP, "jobRunId": "00st1"}, GET)
    stub.add_response("get_job_run", stream_run("CANCELLING"), GET)
    stub.add_response("get_job_run", stream_run("CANCELLED"), GET)
    stub.add_response("get_job_run", stream_run("CANCELLED"), GET)

    stopped = runner.stop_stream()

    stub.assert_no_pending_responses()
    assert stopped is not None and stopped.state == "CANCELLED"


def test_stop_without_a_live_stream_cancels_nothing(stubbed: tuple[EmrStreamRunner, Stubber, FakeTime]) -> None:
    runner, stub, _ = stubbed
    stub.add_response("list_job_runs", {"jobRuns": [summary("00st1", "FAILED", datetime(2026, 1, 2, tzinfo=UTC))]},
                      LIST)  # fmt: skip
    assert runner.stop_stream() is None
    stub.assert_no_pending_responses()


# -- the command line -------------------------------------------------------------------------------------


def emr_config() -> Any:
    settings = SimpleNamespace(spark_runner="emr-serverless", debug=False)
    return SimpleNamespace(settings=settings, emr=make_block())


def test_cardlake_stream_status_of_a_failed_stream_is_one_readable_error(
    stubbed: tuple[EmrStreamRunner, Stubber, FakeTime], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, stub, _ = stubbed
    monkeypatch.setattr(cardlake.config, "resolve_config", lambda **_: emr_config())
    monkeypatch.setattr(stream_emr, "stream_runner", lambda config: runner)
    details = "Maximum failed attempts per hour (5) reached"
    stub.add_response("list_job_runs", {"jobRuns": [summary("00st1", "FAILED", datetime(2026, 1, 2, tzinfo=UTC))]},
                      LIST)  # fmt: skip
    stub.add_response("get_job_run", stream_run("FAILED", stateDetails=details, attempt=6), GET)

    result = CliRunner().invoke(cli_app, ["stream", "status"])

    assert result.exit_code == 1
    assert "SparkJobFailed: Spark job run 00st1 ended in state FAILED" in result.output
    assert details in result.output and "SPARK_DRIVER/stderr.gz" in result.output
    assert "Traceback" not in result.output


def test_cardlake_stream_status_reports_a_running_stream(
    stubbed: tuple[EmrStreamRunner, Stubber, FakeTime], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, stub, _ = stubbed
    monkeypatch.setattr(cardlake.config, "resolve_config", lambda **_: emr_config())
    monkeypatch.setattr(stream_emr, "stream_runner", lambda config: runner)
    stub.add_response("list_job_runs", {"jobRuns": [summary("00st1", "RUNNING", datetime(2026, 1, 2, tzinfo=UTC))]},
                      LIST)  # fmt: skip
    stub.add_response("get_job_run", stream_run("RUNNING", attempt=2), GET)

    result = CliRunner().invoke(cli_app, ["stream", "status"])

    assert result.exit_code == 0, result.output
    assert "stream job run 00st1 is RUNNING, attempt 2" in result.output


def test_the_emr_commands_refuse_a_local_runner() -> None:
    local = SimpleNamespace(settings=SimpleNamespace(spark_runner="local-submit"), emr=None)
    with pytest.raises(ConfigError, match="CARDLAKE_SPARK_RUNNER=emr-serverless"):
        stream_emr.stream_runner(local)  # type: ignore[arg-type]
