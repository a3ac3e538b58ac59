"""Failure notifications: the Prefect automations `cardlake blocks register` creates.

- `cardlake-flow-run-failed`: a run of an entry flow (`contracts.names.ENTRY_FLOWS`: pipeline, alerts, backfill,
  training) that ends Failed or Crashed (reactive; its failed subflows are not notified again).
- `cardlake-daily-run-missing`: no completed run of the daily deployments (`contracts.names.DAILY_DEPLOYMENTS`)
  within 26 hours (proactive: it fires on the absence of the event), so a schedule that stopped, a worker that is
  down or a run that never started tells somebody.

Both send through one notification block, named by `CARDLAKE_NOTIFICATION_BLOCK` as `<block type slug>/<name>`:
locally the `LogFileNotification` at `<home>/logs/notifications.log`, in production a Slack webhook block (or any
other notification block Prefect ships). Prefect's automations are server objects; `prefect.yaml` can only declare
deployment triggers (whose action runs a deployment), so they are created here, through the API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import cast
from uuid import UUID

from prefect import get_client
from prefect.blocks.core import Block
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

from contracts import names

FAILED_STATES = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed")
# The daily schedule is 02:30 UTC; 26 h leaves a late or retried run two hours before anyone is told.
DAILY_RUN_GRACE = timedelta(hours=26)

FAILED_SUBJECT = "cardlake: flow run {{ flow_run.name }} {{ flow_run.state.name }}"
FAILED_BODY = (
    "Flow run {{ flow_run.name }} of flow {{ flow.name }} ended {{ flow_run.state.name }}: "
    "{{ flow_run.state.message }}\n"
    "Deployment: {{ deployment.name or 'none (started by hand)' }}. Flow run id: {{ flow_run.id }}"
)
MISSING_SUBJECT = "cardlake: no daily pipeline run completed"
MISSING_BODY = (
    "No run of the daily deployments ({deployments}) completed in the last {period}. "
    "Check the schedule (prefect deployment inspect pipeline/<name>), the work pool's worker and the latest runs."
)


def notification_block_id(block: str) -> UUID:
    """The id of the block document `<block type slug>/<name>`; one line naming the fix when it is missing."""
    if "/" not in block:
        raise ValueError(f"CARDLAKE_NOTIFICATION_BLOCK must be '<block type slug>/<name>', got {block!r}")
    try:
        loaded = cast(Block, Block.load(block, validate=False, _sync=True))  # type: ignore[call-arg]
    except ValueError as exc:
        raise LookupError(
            f"notification block {block!r} does not exist: create it (docs/deploy.md, 'Failure notifications') "
            f"or set CARDLAKE_NOTIFICATION_BLOCK"
        ) from exc
    block_id = loaded._block_document_id
    if block_id is None:  # pragma: no cover - a loaded block always has its document id
        raise LookupError(f"notification block {block!r} has no document id")
    return block_id


def failed_run_automation(block_id: UUID) -> AutomationCore:
    return AutomationCore(
        name=names.FAILED_RUN_AUTOMATION,
        description="Notify when any cardlake flow run fails or crashes.",
        trigger=EventTrigger(
            expect=set(FAILED_STATES),
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(names.ENTRY_FLOWS)},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=FAILED_SUBJECT, body=FAILED_BODY)],
    )


def missing_daily_run_automation(
    block_id: UUID,
    within: timedelta = DAILY_RUN_GRACE,
    deployments: tuple[str, ...] = names.DAILY_DEPLOYMENTS,
) -> AutomationCore:
    seconds = within.total_seconds()
    period = f"{seconds / 3600:g} hours" if seconds >= 3600 else f"{seconds:g} seconds"
    body = MISSING_BODY.format(deployments=", ".join(deployments), period=period)
    return AutomationCore(
        name=names.MISSED_DAILY_RUN_AUTOMATION,
        description="Notify when the daily pipeline did not complete within its grace period.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Completed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "deployment", "prefect.resource.name": list(deployments)},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[SendNotification(block_document_id=block_id, subject=MISSING_SUBJECT, body=body)],
    )


def ensure_automation(automation: AutomationCore, overwrite: bool = False) -> str:
    """Create the automation unless one of that name exists (`overwrite` replaces it); returns what was done."""
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(automation.name)
        if existing and not overwrite:
            return "kept"
        for old in existing:
            client.delete_automation(old.id)
        client.create_automation(automation)
    return "replaced" if existing else "created"


def ensure_failure_automations(
    block: str, overwrite: bool = False, missing_run_within: timedelta = DAILY_RUN_GRACE
) -> dict[str, str]:
    """Both automations, sending through the notification block `block` (`<slug>/<name>`)."""
    block_id = notification_block_id(block)
    return {
        names.FAILED_RUN_AUTOMATION: ensure_automation(failed_run_automation(block_id), overwrite),
        names.MISSED_DAILY_RUN_AUTOMATION: ensure_automation(
            missing_daily_run_automation(block_id, within=missing_run_within), overwrite
        ),
    }
