"""Retry conditions: Prefect retries a task only when its failure is one that a retry can fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from prefect.tasks import Task

RetryCondition = Callable[[Task[Any, Any], TaskRun, State[Any]], bool]


def failure_of(state: State[Any]) -> BaseException | None:
    try:
        state.result(raise_on_failure=True)
    except BaseException as exc:
        return exc
    return None


def retry_when(is_transient: Callable[[BaseException], bool]) -> RetryCondition:
    def condition(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
        exc = failure_of(state)
        return exc is not None and is_transient(exc)

    return condition


_TRANSIENT_SPARK_MARKERS = (
    "throttl",
    "capacity",
    "serviceunavailable",
    "internal server error",
    "timed out",
    "killed by signal",
)


def is_transient_spark_failure(exc: BaseException) -> bool:
    """Capacity, throttling and infrastructure faults; a bug or bad data fails the same way every time."""
    from cardlake.spark_runner import SparkJobFailed

    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if isinstance(exc, SparkJobFailed):
        text = f"{exc.state} {exc.state_details}".lower()
        return any(marker in text for marker in _TRANSIENT_SPARK_MARKERS)
    return False
