"""A notification block that appends to a local log file: the embedded default of cardlake's failure automations.

Prefect's automations call a notification block's `notify` inside the Prefect server. A local `prefect server
start` from this environment imports this module through the `prefect.collections` entry point of the package
(pyproject.toml), so it can load the block. Prefect Cloud cannot run project code: production points the same
automations at a built-in block (Slack webhook, or any other `NotificationBlock` Prefect ships), see docs/deploy.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from prefect.blocks.abstract import NotificationBlock
from pydantic import Field


class LogFileNotification(NotificationBlock):
    """Appends each notification to a file as one JSON line: time, subject and body."""

    _block_type_name = "Log File Notification"
    _block_type_slug = "cardlake-log-file-notification"
    _description = "Writes notifications to a local log file (one JSON line each); the laptop default of cardlake."

    path: str = Field(..., description="The log file; its folder is created when missing.")

    async def notify(self, body: str, subject: str | None = None) -> None:
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), "subject": subject, "body": body})
        with target.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
