"""One flow run, executed by Prefect's flow engine in this process (in the calling thread).

What `python -m prefect.engine` does in the child process a `process` worker starts, minus the process: read the
flow run, load its flow from the deployment's entrypoint (running the deployment's pull steps), run it with
`prefect.flow_engine.run_flow`. Nothing here raises: whatever the flow or the engine does, the run ends in a
final state in the Prefect API and the caller gets a `RunOutcome`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import StateType
from prefect.context import SettingsContext, get_settings_context
from prefect.exceptions import Abort
from prefect.flow_engine import load_flow, load_flow_run, run_flow
from prefect.settings import Settings
from prefect.states import Cancelled, Crashed, State
from prefect.utilities.engine import propose_state_sync

from cardlake.worker.environ import kept_working_directory, scoped_environ

log = logging.getLogger(__name__)

# Prefect stops a cancelled run by ending its process; this run shares the worker's, so nothing interrupts it.
CANCELLED_WHILE_RUNNING = (
    "cancelled while running: a run in the cardlake worker's process cannot be interrupted, so it went on to its "
    "end (what it wrote stands) and the API, which refuses any other final state after a cancel, records Cancelled"
)
CANCELLED_BEFORE_START = "cancelled before it started in the cardlake worker"


@dataclass(frozen=True)
class RunOutcome:
    """What became of one flow run, for the worker's one line per run."""

    flow_run_id: UUID
    name: str
    state: str  # the final state's name: Completed, Failed, Crashed, Cancelled
    message: str | None
    duration_s: float


def execute_flow_run(flow_run_id: UUID, env: Mapping[str, str | None]) -> RunOutcome:
    """Run the flow run to a final state with `env` set in this process; the environment and working
    directory are restored afterwards, so the next run starts from the worker's own."""
    started = time.monotonic()
    failure: BaseException | None = None
    ran = False
    name = str(flow_run_id)
    # One `with`, entered left to right: Prefect reads its settings from a context, and this fresh one is built
    # after `env` is set, so PREFECT_* variables of the deployment apply to the run too.
    with (
        scoped_environ(env),
        kept_working_directory(),
        SettingsContext(profile=get_settings_context().profile, settings=Settings()),
    ):
        try:
            flow_run = load_flow_run(flow_run_id)
            name = flow_run.name
            if _stopped_before_start(flow_run.state):
                log.info("flow run %s was cancelled before it started; skipped", name)
            else:
                ran = True
                flow = load_flow(flow_run)
                result = run_flow(flow, flow_run=flow_run, return_type="state", error_logger=log)
                if inspect.iscoroutine(result):  # an async flow: its engine is a coroutine
                    asyncio.run(result)
        except Abort as refused:  # the API refused the run's start, e.g. it was cancelled meanwhile
            log.info("flow run %s stopped by the API: %s", name, refused)
        except BaseException as exc:  # a failing run never stops the worker
            failure = exc
            log.exception("flow run %s did not finish in this process", name)
        try:
            with get_client(sync_client=True) as client:
                final = settle(client, flow_run_id, failure, ran=ran)
        except Exception as unreachable:  # the API is down: the run's state is whatever it last reported
            log.exception("could not read or report the final state of flow run %s", name)
            return RunOutcome(flow_run_id, name, "Unknown", f"the Prefect API did not answer: {unreachable}", 0.0)
    return RunOutcome(flow_run_id, name, state_name(final), final.message, round(time.monotonic() - started, 1))


def state_name(state: State[Any]) -> str:
    return state.name or state.type.value.title()


def _stopped_before_start(state: State[Any] | None) -> bool:
    return state is not None and (state.is_final() or state.type == StateType.CANCELLING)


def settle(client: SyncPrefectClient, flow_run_id: UUID, failure: BaseException | None, *, ran: bool) -> State[Any]:
    """The run's final state, reported here if the engine could not: Cancelling becomes Cancelled (the API
    refused the engine's final state and leaves that transition to the supervisor), anything else unfinished
    becomes Crashed with the reason."""
    state = client.read_flow_run(flow_run_id).state
    if state is not None and state.is_final():
        return state
    if state is not None and state.type == StateType.CANCELLING:
        cancelled: State[Any] = Cancelled(message=CANCELLED_WHILE_RUNNING if ran else CANCELLED_BEFORE_START)
        client.set_flow_run_state(flow_run_id, cancelled, force=True)
        return cancelled
    reason = f"{type(failure).__name__}: {failure}" if failure is not None else "the flow engine returned early"
    return mark_crashed(client, flow_run_id, f"the flow run did not finish in the cardlake worker: {reason}")


def mark_crashed(client: SyncPrefectClient, flow_run_id: UUID, message: str) -> State[Any]:
    """Propose Crashed; the API keeps a final state that was reported meanwhile, and that one is returned."""
    try:
        return propose_state_sync(client, Crashed(message=message), flow_run_id=flow_run_id)
    except Abort:
        state = client.read_flow_run(flow_run_id).state
        return state if state is not None else Crashed(message=message)
