"""EMR Serverless runner: the request it sends (moto) and its state machine (botocore Stubber)."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import signal
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from prefect.exceptions import TerminationSignal

from blocks.emr import EmrServerlessApplication
from cardlake.spark_runner import SparkJobFailed
from cardlake.spark_runner.emr import CODE_PACKAGES, EmrServerlessRunner, SparkJobTimeout, client_token
from contracts.jobs import JobRequest
from contracts.landing import Window
from contracts.results import JobResult, TableCounts

REGION = "us-east-1"
BUCKET = "cardlake-123456789012-us-east-1"
ROLE = "arn:aws:iam::123456789012:role/cardlake-emr-job-execution"
APP = "00fabc123def4567"
RUN_ID = "20250601T000000Z_20250602T000000Z"
FAKE_JOB = Path(__file__).parent / "fake_spark_job.py"
DELTA_CONF = [
    "--conf spark.jars=/usr/share/aws/delta/lib/delta-spark.jar,/usr/share/aws/delta/lib/delta-storage.jar,"
    "/usr/share/aws/delta/lib/delta-storage-s3-dynamodb.jar",
    "--conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
    "--conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
]


def make_block(application_id: str = APP, **overrides: Any) -> EmrServerlessApplication:
    fields = {
        "application_id": application_id,
        "execution_role_arn": ROLE,
        "code_uri": f"s3://{BUCKET}/code/",
        "logs_uri": f"s3://{BUCKET}/logs/",
        "pan_key_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:cardlake/pan-token-key",
        "poll_interval_s": 10.0,
        "poll_max_interval_s": 60.0,
        "cancel_wait_s": 60.0,
        **overrides,
    }
    return EmrServerlessApplication(**fields)


def make_request(jobs: tuple[str, ...] = ("silver", "gold"), run_id: str = RUN_ID) -> JobRequest:
    return JobRequest(
        jobs=jobs,  # type: ignore[arg-type]
        landing_uri=f"s3://{BUCKET}/landing",
        lake_uri=f"s3://{BUCKET}/lake",
        window=Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC)),
        run_id=run_id,
    )


class FakeTime:
    """sleep() advances clock(): polling logic runs in microseconds of real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture()
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


def put_results(session: boto3.session.Session, jobs: tuple[str, ...], run_id: str = RUN_ID) -> None:
    s3 = session.client("s3")
    for job in jobs:
        body = JobResult(tables=(TableCounts("rows", read=42),), job=job, run_id=run_id).to_json()
        s3.put_object(Bucket=BUCKET, Key=f"lake/_runs/{run_id}/{job}.json", Body=body.encode())


# -- the request, against moto ---------------------------------------------------------------------


def snapshot_code(tmp_path: Path) -> Path:
    """A copy of the packages: other work in the tree must not change the code hash between two runs."""
    root = Path(__file__).resolve().parents[2]
    for package in CODE_PACKAGES:
        shutil.copytree(root / package, tmp_path / "code" / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "code"


def moto_runner(session: boto3.session.Session, tmp_path: Path, **block_overrides: Any) -> EmrServerlessRunner:
    app = session.client("emr-serverless").create_application(
        name="cardlake-spark", releaseLabel="emr-7.9.0", type="SPARK"
    )["applicationId"]
    return EmrServerlessRunner(
        make_block(app, **block_overrides),
        session.client,
        entry_point=FAKE_JOB,
        code_root=snapshot_code(tmp_path),
        sleep=FakeTime().sleep,
    )


def test_moto_job_run_uploads_content_addressed_code_and_enables_delta(
    aws: boto3.session.Session, tmp_path: Path
) -> None:
    runner = moto_runner(aws, tmp_path, venv_archive_uri=f"s3://{BUCKET}/code/venvs/cardlake-venv.tar.gz")
    puts: list[str] = []
    runner.s3.meta.events.register("provide-client-params.s3.PutObject", lambda params, **_: puts.append(params["Key"]))
    put_results(aws, ("silver", "gold"))

    result = runner.run(make_request())

    assert result.state == "SUCCESS"
    assert result.results["gold"].table("rows").read == 42
    sha = puts[0].split("/")[1]
    assert re.fullmatch(r"[0-9a-f]{64}", sha)
    assert puts == [f"code/{sha}/cardlake_jobs.zip", f"code/{sha}/main.py"]
    archive = zipfile.ZipFile(io.BytesIO(aws.client("s3").get_object(Bucket=BUCKET, Key=puts[0])["Body"].read()))
    # The EMR bundle is the jobs and the contracts they build against, nothing of the CLI or the loaders.
    assert {"spark_jobs/__init__.py", "spark_jobs/main.py", "contracts/jobs.py"} <= set(archive.namelist())
    assert not [name for name in archive.namelist() if name.startswith(("cardlake/", "flows/", "blocks/"))]
    assert not [name for name in archive.namelist() if "__pycache__" in name]

    job_run = aws.client("emr-serverless").get_job_run(applicationId=runner.block.application_id,
                                                      jobRunId=result.job_run_id)["jobRun"]  # fmt: skip
    submit = job_run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == f"s3://{BUCKET}/code/{sha}/main.py"
    params = submit["sparkSubmitParameters"]
    assert params.startswith(f"--py-files s3://{BUCKET}/code/{sha}/cardlake_jobs.zip")
    for conf in DELTA_CONF:
        assert conf in params
    assert f"--conf spark.archives=s3://{BUCKET}/code/venvs/cardlake-venv.tar.gz#environment" in params
    assert "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python" in params
    assert "--conf spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python" in params
    args = submit["entryPointArguments"]
    assert args[args.index("--delta-engine") + 1] == "delta-spark"
    assert args[args.index("--job") + 1] == "silver,gold"
    assert "--pan-key-secret-id" in args
    assert job_run["configurationOverrides"]["monitoringConfiguration"] == {
        "s3MonitoringConfiguration": {"logUri": f"s3://{BUCKET}/logs/"}
    }
    assert result.log_uri == (
        f"s3://{BUCKET}/logs/applications/{runner.block.application_id}/jobs/{result.job_run_id}/SPARK_DRIVER/stderr.gz"
    )

    puts.clear()
    runner.run(make_request())
    assert puts == []  # unchanged code: nothing uploaded again


def test_without_a_venv_archive_the_image_python_is_used(aws: boto3.session.Session, tmp_path: Path) -> None:
    runner = moto_runner(aws, tmp_path)
    bundle = runner.upload_code()
    assert "spark.archives" not in runner.spark_submit_parameters(bundle)
    assert "PYSPARK_PYTHON" not in runner.spark_submit_parameters(bundle)
    runner.block.python_path = "/usr/bin/python3.11"  # the custom image of infra/emr-image
    params = runner.spark_submit_parameters(bundle)
    assert "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=/usr/bin/python3.11" in params
    assert "--conf spark.executorEnv.PYSPARK_PYTHON=/usr/bin/python3.11" in params
    assert "spark.archives" not in params


def test_every_s3_commit_goes_through_the_dynamodb_log_store(aws: boto3.session.Session, tmp_path: Path) -> None:
    runner = moto_runner(aws, tmp_path, delta_log_table="cardlake-delta-log", region=REGION)
    put_results(aws, ("silver", "gold"))
    runner.run(make_request())  # as started in moto: the parameters EMR received
    (listed,) = aws.client("emr-serverless").list_job_runs(applicationId=runner.block.application_id)["jobRuns"]
    job_run = aws.client("emr-serverless").get_job_run(
        applicationId=runner.block.application_id, jobRunId=listed["id"]
    )["jobRun"]
    params = job_run["jobDriver"]["sparkSubmit"]["sparkSubmitParameters"]
    for conf in (
        "--conf spark.delta.logStore.s3.impl=io.delta.storage.S3DynamoDBLogStore",
        "--conf spark.delta.logStore.s3a.impl=io.delta.storage.S3DynamoDBLogStore",
        "--conf spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName=cardlake-delta-log",
        f"--conf spark.io.delta.storage.S3DynamoDBLogStore.ddb.region={REGION}",
    ):
        assert conf in params


@pytest.mark.parametrize(
    "override",
    [
        {"spark.delta.logStore.s3.impl": "io.delta.storage.S3SingleDriverLogStore"},
        {"spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName": "another-table"},
        {"spark.jars": "/usr/share/aws/delta/lib/delta-spark.jar"},
    ],
)
def test_a_block_cannot_switch_the_log_store_off(
    aws: boto3.session.Session, tmp_path: Path, override: dict[str, str]
) -> None:
    runner = moto_runner(aws, tmp_path, spark_conf=override)
    with pytest.raises(ValueError, match=r"spark_conf overrides .*S3DynamoDBLogStore"):
        runner.spark_submit_parameters(runner.upload_code())
    runner.block.spark_conf = {"spark.delta.logStore.s3.impl": "io.delta.storage.S3DynamoDBLogStore"}
    assert "S3DynamoDBLogStore" in runner.spark_submit_parameters(runner.upload_code())  # restating it is fine


def test_client_token_is_deterministic_per_request_and_code(tmp_path: Path) -> None:
    token = client_token(APP, RUN_ID, ("silver", "gold"), "a" * 64)
    assert token == client_token(APP, RUN_ID, ("silver", "gold"), "a" * 64)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", token)
    others = {
        client_token(APP, "20250602T000000Z_20250603T000000Z", ("silver", "gold"), "a" * 64),
        client_token(APP, RUN_ID, ("silver",), "a" * 64),
        client_token(APP, RUN_ID, ("silver", "gold"), "b" * 64),
        client_token("00fother", RUN_ID, ("silver", "gold"), "a" * 64),
        client_token(APP, RUN_ID, ("silver", "gold"), "a" * 64, after="00failedrun"),
    }
    assert token not in others and len(others) == 5


def test_code_change_changes_the_code_hash_and_the_token(tmp_path: Path, aws: boto3.session.Session) -> None:
    (tmp_path / "spark_jobs").mkdir()
    (tmp_path / "spark_jobs" / "__init__.py").write_text("")
    entry = tmp_path / "spark_jobs" / "main.py"
    entry.write_text("print('v1')\n")
    runner = EmrServerlessRunner(make_block(), aws.client, entry_point=entry, code_root=tmp_path,
                                 code_packages=("spark_jobs",))  # fmt: skip
    first = runner.upload_code()
    assert runner.upload_code().sha256 == first.sha256  # reproducible zip: same sources, same hash
    entry.write_text("print('v2')\n")
    second = runner.upload_code()
    assert second.sha256 != first.sha256
    tokens = {runner.start_job_run_params(make_request(), b)["clientToken"] for b in (first, second)}
    assert len(tokens) == 2


# -- the state machine, with botocore's Stubber ----------------------------------------------------


def job_run(state: str, job_run_id: str = "00jr1", **extra: Any) -> dict[str, Any]:
    return {
        "jobRun": {
            "applicationId": APP,
            "jobRunId": job_run_id,
            "arn": f"arn:aws:emr-serverless:{REGION}:123456789012:/applications/{APP}/jobruns/{job_run_id}",
            "createdBy": ROLE,
            "createdAt": extra.pop("createdAt", datetime(2025, 6, 2, 1, 0, tzinfo=UTC)),
            "updatedAt": datetime(2025, 6, 2, 1, 5, tzinfo=UTC),
            "executionRole": ROLE,
            "state": state,
            "stateDetails": extra.pop("stateDetails", f"Job run is {state.lower()}"),
            "releaseLabel": "emr-7.9.0",
            "jobDriver": {"sparkSubmit": {"entryPoint": "s3://x/main.py"}},
            **extra,
        }
    }


def started(job_run_id: str = "00jr1", date: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "applicationId": APP,
        "jobRunId": job_run_id,
        "arn": f"arn:aws:emr-serverless:{REGION}:123456789012:/applications/{APP}/jobruns/{job_run_id}",
    }
    if date:
        response["ResponseMetadata"] = {"HTTPHeaders": {"date": date}}
    return response


GET = {"applicationId": APP, "jobRunId": "00jr1"}


@pytest.fixture()
def stubbed(aws: boto3.session.Session, tmp_path: Path) -> Iterator[tuple[EmrServerlessRunner, Stubber, FakeTime]]:
    emr = aws.client("emr-serverless")
    clients = {"emr-serverless": emr, "s3": aws.client("s3")}
    fake_time = FakeTime()
    runner = EmrServerlessRunner(
        make_block(poll_timeout_s=45.0), clients.__getitem__, entry_point=FAKE_JOB,
        code_root=snapshot_code(tmp_path), sleep=fake_time.sleep, clock=fake_time.clock,
    )  # fmt: skip
    with Stubber(emr) as stub:
        yield runner, stub, fake_time


def test_waits_through_states_and_reports_usage_and_cost(stubbed, aws: boto3.session.Session) -> None:
    runner, stub, fake_time = stubbed
    runner.block.poll_timeout_s = 1_000
    put_results(aws, ("silver", "gold"))
    usage = {"vCPUHour": 0.5, "memoryGBHour": 2.0, "storageGBHour": 10.0}
    stub.add_response("start_job_run", started())
    stub.add_response("get_job_run", job_run("SUBMITTED"), GET)
    stub.add_response("get_job_run", job_run("RUNNING"), GET)
    stub.add_response("get_job_run", job_run("RUNNING"), GET)
    stub.add_response(
        "get_job_run",
        job_run("SUCCESS", totalResourceUtilization=usage, billedResourceUtilization=usage,
                totalExecutionDurationSeconds=312),
        GET,
    )  # fmt: skip

    result = runner.run(make_request())

    stub.assert_no_pending_responses()
    assert fake_time.sleeps == [10.0, 15.0, 22.5]  # exponential backoff between polls
    assert (result.cost.vcpu_hours, result.cost.memory_gb_hours, result.cost.storage_gb_hours) == (0.5, 2.0, 10.0)
    assert result.cost.estimated_cost_usd == pytest.approx(0.5 * 0.042094 + 2.0 * 0.004628 + 10.0 * 0.000111)
    assert result.duration_s == 312
    assert set(result.results) == {"silver", "gold"}


def test_poll_interval_is_capped(stubbed, aws: boto3.session.Session) -> None:
    runner, stub, fake_time = stubbed
    runner.block.poll_timeout_s = 10_000
    put_results(aws, ("silver", "gold"))
    stub.add_response("start_job_run", started())
    for _ in range(8):
        stub.add_response("get_job_run", job_run("RUNNING"), GET)
    stub.add_response("get_job_run", job_run("SUCCESS"), GET)
    runner.run(make_request())
    assert max(fake_time.sleeps) == 60.0 and fake_time.sleeps[-1] == 60.0


def test_failure_raises_with_state_details_and_driver_log(stubbed) -> None:
    runner, stub, _ = stubbed
    details = "Job failed, please check complete logs in configured logging destination. ExitCode: 1."
    stub.add_response("start_job_run", started())
    stub.add_response("get_job_run", job_run("SUBMITTED"), GET)
    stub.add_response("get_job_run", job_run("RUNNING"), GET)
    stub.add_response("get_job_run", job_run("FAILED", stateDetails=details), GET)

    with pytest.raises(SparkJobFailed) as failure:
        runner.run(make_request())

    message = str(failure.value)
    assert "FAILED" in message and details in message
    assert f"s3://{BUCKET}/logs/applications/{APP}/jobs/00jr1/SPARK_DRIVER/stderr.gz" in message
    stub.assert_no_pending_responses()


def test_throttling_is_retried_with_backoff(stubbed, aws: boto3.session.Session) -> None:
    runner, stub, fake_time = stubbed
    put_results(aws, ("silver", "gold"))
    stub.add_client_error("start_job_run", "ThrottlingException", "Rate exceeded", 400)
    stub.add_response("start_job_run", started())
    stub.add_client_error("get_job_run", "ThrottlingException", "Rate exceeded", 400)
    stub.add_client_error("get_job_run", "ThrottlingException", "Rate exceeded", 400)
    stub.add_response("get_job_run", job_run("SUCCESS"), GET)

    assert runner.run(make_request()).state == "SUCCESS"
    assert fake_time.sleeps == [1.0, 1.0, 2.0]
    stub.assert_no_pending_responses()


def test_non_retryable_errors_surface(stubbed) -> None:
    runner, stub, _ = stubbed
    stub.add_client_error("start_job_run", "ValidationException", "Application is terminated", 400)
    with pytest.raises(Exception, match="Application is terminated"):
        runner.run(make_request())


def test_poll_timeout_cancels_the_job_run_and_checks_it_ended(stubbed) -> None:
    runner, stub, _ = stubbed  # poll_timeout_s=45: polls at t=0, 10, 25, then gives up
    stub.add_response("start_job_run", started())
    for _ in range(3):
        stub.add_response("get_job_run", job_run("RUNNING"), GET)
    stub.add_response("cancel_job_run", {"applicationId": APP, "jobRunId": "00jr1"}, GET)
    stub.add_response("get_job_run", job_run("CANCELLING"), GET)
    stub.add_response("get_job_run", job_run("CANCELLED"), GET)

    with pytest.raises(SparkJobTimeout, match=r"TIMED_OUT, then CANCELLED: .* the runner cancelled the job run"):
        runner.run(make_request())
    stub.assert_no_pending_responses()  # cancel_job_run was called and its end observed: no orphan


@pytest.mark.parametrize(
    "interruption",
    [KeyboardInterrupt(), asyncio.CancelledError(), TerminationSignal(signal.SIGTERM)],
    ids=["ctrl-c", "asyncio-cancel", "prefect-flow-run-cancelled"],
)
def test_interruption_while_polling_cancels_the_job_run(stubbed, interruption: BaseException) -> None:
    runner, stub, _ = stubbed

    def interrupted_sleep(seconds: float) -> None:
        raise interruption

    runner._sleep = interrupted_sleep
    stub.add_response("start_job_run", started())
    stub.add_response("get_job_run", job_run("RUNNING"), GET)
    stub.add_response("cancel_job_run", {"applicationId": APP, "jobRunId": "00jr1"}, GET)
    stub.add_response("get_job_run", job_run("CANCELLED"), GET)

    with pytest.raises(type(interruption)):
        runner.run(make_request())
    stub.assert_no_pending_responses()


def test_retry_after_a_failed_attempt_starts_a_new_run_with_a_chained_token(
    stubbed, aws: boto3.session.Session
) -> None:
    runner, stub, _ = stubbed
    put_results(aws, ("silver", "gold"))
    bundle = runner.upload_code()
    first_token = client_token(APP, RUN_ID, ("silver", "gold"), bundle.sha256)
    second_token = client_token(APP, RUN_ID, ("silver", "gold"), bundle.sha256, after="00jr1")
    created = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
    later = (created + timedelta(minutes=20)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    # The token of the first attempt hands back that attempt's run, which failed 20 minutes ago.
    stub.add_response(
        "start_job_run", started("00jr1", date=later), {**_start_params(runner), "clientToken": first_token}
    )
    stub.add_response("get_job_run", job_run("FAILED", stateDetails="OOM", createdAt=created), GET)
    stub.add_response(
        "start_job_run", started("00jr2", date=later), {**_start_params(runner), "clientToken": second_token}
    )
    stub.add_response("get_job_run", job_run("SUCCESS", job_run_id="00jr2"), {**GET, "jobRunId": "00jr2"})

    assert runner.run(make_request()).job_run_id == "00jr2"
    stub.assert_no_pending_responses()


def _start_params(runner: EmrServerlessRunner) -> dict[str, Any]:
    params = runner.start_job_run_params(make_request(), runner.upload_code())
    return {key: value for key, value in params.items() if key != "clientToken"}
