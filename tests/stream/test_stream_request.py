"""The stream's request: what the EMR driver is started with parses back to the same typed value."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

import spark_jobs.main as spark_main
import spark_jobs.stream_driver as stream_driver
from contracts import lake
from contracts.jobs import PAN_KEY_ENV, STREAM_ARG, JobOptionsError, ScoreOptions, StreamOptions, StreamRequest

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cardlake/pan-token-key"


def a_request() -> StreamRequest:
    return StreamRequest(
        landing_uri="s3://bucket/landing",
        lake_uri="s3://bucket/lake",
        delta_engine="delta-spark",
        source="plutus",
        stream=StreamOptions(trigger_seconds=5.0, max_manifests_per_batch=50),
        score=ScoreOptions(
            threshold=0.7, model_uri="s3://bucket/lake/models/fraud/v3", now=datetime(2026, 1, 1, tzinfo=UTC)
        ),
    )


def test_the_argv_parses_back_to_the_same_request_and_secret_id() -> None:
    request = a_request()
    argv = request.to_argv(SECRET_ARN)
    assert argv[0] == STREAM_ARG
    assert StreamRequest.from_argv(argv) == (request, SECRET_ARN)


def test_default_options_are_left_out_and_still_parse_back() -> None:
    request = StreamRequest("/landing", "/lake")
    argv = request.to_argv()
    assert "--options" not in argv and "--pan-key-secret-id" not in argv
    assert StreamRequest.from_argv(argv) == (request, None)


def test_checkpoint_and_exports_follow_from_the_lake() -> None:
    request = a_request()
    assert (
        request.checkpoint_uri
        == "s3://bucket/lake/_checkpoints/stream"
        == lake.stream_checkpoint_uri("s3://bucket/lake/")
    )
    assert request.exports_root == "s3://bucket/lake/exports/stream"
    moved = StreamRequest("/l", "/lake", stream=StreamOptions(exports_uri="s3://other/exports/stream"))
    assert moved.exports_root == "s3://other/exports/stream"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('{"stream":{"trigger_secs":5}}', "has no option 'trigger_secs'"),
        ('{"stream":{"max_manifests_per_batch":2.5}}', "expects int"),
        ('{"stream":{"max_manifests_per_batch":true}}', "expects int"),
        ('{"features":{"full_refresh":true}}', "the stream has no options features"),
        ('{"stream":{"trigger_seconds":0}}', "must be positive"),
    ],
)
def test_options_are_strict(options: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [STREAM_ARG, "--landing-uri", "/l", "--lake-uri", "/lake", "--options", options]
    with pytest.raises(SystemExit):
        StreamRequest.from_argv(argv)
    assert message in capsys.readouterr().err
    with pytest.raises(JobOptionsError):
        StreamOptions(max_manifests_per_batch=0)


def test_main_runs_the_stream_with_the_parsed_request_and_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[tuple[StreamRequest, str]] = []
    monkeypatch.setattr(stream_driver, "run_stream", lambda request, key: started.append((request, key)))
    monkeypatch.setenv(PAN_KEY_ENV, "k" * 32)
    request = a_request()
    monkeypatch.setattr(sys, "argv", ["main.py", *request.to_argv(SECRET_ARN)])
    spark_main.main()
    assert started == [(request, "k" * 32)]
