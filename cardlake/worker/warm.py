"""The `cardlake-warm` worker type: flow runs in the worker's own process, one at a time.

Prefect's `process` worker (and `serve()`) start a child process per flow run, so each run pays a JVM start and a
cold JIT. This worker runs the flow engine in a thread of its own process instead; the SparkSession the
`local-session` runner creates in the first run is the one every later run finds (`getOrCreate`). The event loop
keeps polling and heart-beating while a run's thread works.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import Abort, InfrastructureNotFound
from prefect.states import Crashed
from prefect.utilities.engine import propose_state
from prefect.workers.base import BaseJobConfiguration, BaseVariables, BaseWorker, BaseWorkerResult
from pydantic import Field, PrivateAttr

from cardlake.worker.execute import RunOutcome, execute_flow_run, state_name

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.client.schemas.objects import Flow as APIFlow
    from prefect.client.schemas.objects import WorkPool
    from prefect.client.schemas.responses import DeploymentResponse

WARM_WORKER_TYPE = "cardlake-warm"
SPARK_RUNNER_VARIABLE = "CARDLAKE_SPARK_RUNNER"
WARM_RUNNER = "local-session"
ABANDONED = "the cardlake worker was stopped during the run (a second stop signal)"


class WarmJobConfiguration(BaseJobConfiguration):
    """Only `env` means anything here: there is no process to name, label or start."""

    _run_env: dict[str, str | None] = PrivateAttr(default_factory=dict)

    def prepare_for_flow_run(
        self,
        flow_run: FlowRun,
        deployment: DeploymentResponse | None = None,
        flow: APIFlow | None = None,
        work_pool: WorkPool | None = None,
        worker_name: str | None = None,
        worker_id: UUID | None = None,
    ) -> None:
        # The deployment's (and the flow run's) variables, before the base class adds what a new process would
        # need (every Prefect setting, the flow run id): this process has those already.
        self._run_env = dict(self.env)
        super().prepare_for_flow_run(flow_run, deployment, flow, work_pool, worker_name, worker_id=worker_id)

    def run_env(self) -> dict[str, str | None]:
        """The variables set for the run: `local-session` Spark unless the worker's environment or the
        deployment says otherwise (the deployment wins)."""
        default_runner = os.environ.get(SPARK_RUNNER_VARIABLE) or WARM_RUNNER
        return {SPARK_RUNNER_VARIABLE: default_runner, **self._run_env}


class WarmVariables(BaseVariables):
    env: dict[str, str | None] = Field(
        default_factory=dict,
        title="Environment Variables",
        description="Set in the worker's process for the run only, and restored after it (runs are serial).",
    )


class WarmWorkerResult(BaseWorkerResult):
    """Always status 0: the run's final state is already in the API when `run` returns."""


@dataclass
class _Current:
    flow_run: FlowRun
    thread: threading.Thread
    abandon: threading.Event
    started: float


class WarmWorker(BaseWorker[WarmJobConfiguration, WarmVariables, WarmWorkerResult]):
    type = WARM_WORKER_TYPE
    job_configuration = WarmJobConfiguration
    job_configuration_variables = WarmVariables
    _description = "Runs each flow run in the worker's own long-lived process, one at a time (a warm SparkSession)."
    _display_name = "cardlake warm"

    def __init__(
        self, work_pool_name: str, *, on_run_finished: Callable[[RunOutcome], None] | None = None, **kwargs: Any
    ) -> None:
        # One run at a time: runs share os.environ, the working directory and the SparkSession.
        super().__init__(work_pool_name, limit=1, **kwargs)
        self._on_run_finished = on_run_finished
        self._current: _Current | None = None

    @property
    def current_run(self) -> FlowRun | None:
        return self._current.flow_run if self._current is not None else None

    def abandon_current_run(self) -> FlowRun | None:
        """Stop waiting for the run in progress: it is reported Crashed and `run` returns (its thread, a daemon,
        goes on until the process exits)."""
        if self._current is None:
            return None
        self._current.abandon.set()
        return self._current.flow_run

    async def run(
        self,
        flow_run: FlowRun,
        configuration: WarmJobConfiguration,
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> WarmWorkerResult:
        outcome_box: list[RunOutcome] = []
        env = configuration.run_env()
        thread = threading.Thread(
            target=lambda: outcome_box.append(execute_flow_run(flow_run.id, env)),
            name=f"flow-run-{flow_run.name}",
            daemon=True,
        )
        current = _Current(flow_run, thread, threading.Event(), time.monotonic())
        self._current = current
        thread.start()
        if task_status is not None:
            task_status.started(os.getpid())  # the "infrastructure" is this process
        try:
            # Shielded: stopping the worker (its task groups cancelled) waits for the run instead of leaving it
            # half-reported; only `abandon_current_run` ends the wait early.
            with anyio.CancelScope(shield=True):
                while thread.is_alive() and not current.abandon.is_set():
                    await anyio.sleep(0.2)
                if thread.is_alive():
                    outcome_box.append(await self._report_abandoned(current))
        finally:
            self._current = None
        if self._on_run_finished is not None and outcome_box:
            self._on_run_finished(outcome_box[0])
        return WarmWorkerResult(status_code=0, identifier=str(os.getpid()))

    async def _report_abandoned(self, current: _Current) -> RunOutcome:
        flow_run = current.flow_run
        try:
            state = await propose_state(self.client, Crashed(message=ABANDONED), flow_run_id=flow_run.id)
        except Abort:  # it reached a final state meanwhile
            reported = (await self.client.read_flow_run(flow_run.id)).state
            state = reported if reported is not None else Crashed(message=ABANDONED)
        duration = round(time.monotonic() - current.started, 1)
        return RunOutcome(flow_run.id, flow_run.name, state_name(state), state.message, duration)

    async def kill_infrastructure(
        self, infrastructure_pid: str, configuration: WarmJobConfiguration, grace_seconds: int = 30
    ) -> None:
        # Prefect calls this only for a run cancelled before its engine started: there is no process of its own
        # to stop, so the worker marks it Cancelled and the engine's start is then refused.
        raise InfrastructureNotFound(f"flow runs of the {WARM_WORKER_TYPE} worker run in its own process")
