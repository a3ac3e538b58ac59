"""Typed job options: a misspelt option or a value of the wrong type fails where the request is built, with a
message naming the job, the option and the options that exist."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.jobs import (
    FeaturesOptions,
    JobOptions,
    JobOptionsError,
    JobRequest,
    ScoreOptions,
    StarOptions,
)
from contracts.landing import Window

WINDOW = Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 2, tzinfo=UTC))


def request(options: JobOptions) -> JobRequest:
    return JobRequest(("score",), "/landing", "/lake", WINDOW, WINDOW.label, options=options)


def test_a_misspelt_option_names_the_job_the_option_and_the_known_ones():
    with pytest.raises(JobOptionsError) as problem:
        JobOptions.from_mapping({"score": {"fraud_threshold": 0.5}})
    message = str(problem.value)
    assert "'score'" in message and "'fraud_threshold'" in message and "threshold" in message.split("options:")[1]


def test_a_misspelt_keyword_fails_when_the_options_are_built_in_code():
    with pytest.raises(TypeError, match="fraud_threshold"):
        ScoreOptions(fraud_threshold=0.5)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"scoring": {}}, "unknown job"),
        ({"score": {"threshold": "high"}}, "score.threshold expects float or null"),
        ({"score": {"threshold": 1.5}}, "between 0 and 1"),
        ({"score": {"select": "everything"}}, "score.select expects 'changed' or 'window'"),
        ({"features": {"full_refresh": "true"}}, "features.full_refresh expects bool"),
        ({"silver": {"source": "cardapi"}}, "its options: none"),
    ],
)
def test_wrong_values_are_refused_with_what_was_expected(mapping, message):
    with pytest.raises(JobOptionsError, match=message):
        JobOptions.from_mapping(mapping)


def test_options_survive_the_argument_list_with_their_types():
    options = JobOptions(
        features=FeaturesOptions(full_refresh=True),
        score=ScoreOptions(threshold=0.25, select="window", now=datetime(2025, 6, 2, 8, 30, tzinfo=UTC)),
        star=StarOptions(full_refresh=True),
    )
    received, _ = JobRequest.from_argv(request(options).to_argv())
    assert received.options == options


def test_default_options_add_nothing_to_the_argument_list():
    assert "--options" not in request(JobOptions()).to_argv()


def test_a_bad_options_argument_stops_the_job_with_a_usage_error(capsys):
    argv = [*request(JobOptions()).to_argv(), "--options", '{"score": {"treshold": 0.5}}']
    with pytest.raises(SystemExit) as stopped:
        JobRequest.from_argv(argv)
    assert stopped.value.code == 2
    assert "'treshold'" in capsys.readouterr().err
