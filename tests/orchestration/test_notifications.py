"""Failure notifications on a real local Prefect server: `cardlake blocks register` creates the automations and
the local notification block; a failing `cardlake run` and a daily run that never came both write to the log."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cardlake.notifications import (
    MISSING_SUBJECT,
    ensure_automation,
    missing_daily_run_automation,
    notification_block_id,
)
from contracts.names import FAILED_RUN_AUTOMATION, MISSED_DAILY_RUN_AUTOMATION, NOTIFICATION_BLOCK
from tests.deploy.processes import PrefectServer, free_port, prefect_server

pytestmark = [pytest.mark.slow, pytest.mark.prefect]
CARDLAKE = str(Path(sys.executable).parent / "cardlake")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as running:
        yield running


@pytest.fixture(scope="module")
def registered(server: PrefectServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("cardlake-home")
    env = {**server.env, "CARDLAKE_HOME": str(home)}
    done = subprocess.run([CARDLAKE, "blocks", "register"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return {"home": home, "env": env, "output": done.stdout, "log": home / "logs" / "notifications.log"}


def notifications(log: Path, subject_part: str, timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = log.read_text().splitlines() if log.exists() else []
        found = [entry for entry in map(json.loads, lines) if subject_part in (entry["subject"] or "")]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_register_creates_the_automations_and_the_local_notification_block(
    server: PrefectServer, registered: dict[str, Any]
) -> None:
    output = registered["output"]
    assert f"{FAILED_RUN_AUTOMATION}" in output and f"{MISSED_DAILY_RUN_AUTOMATION}" in output
    automations = {a["name"]: a for a in server.api("POST", "/automations/filter", json={})}
    failed, missing = automations[FAILED_RUN_AUTOMATION], automations[MISSED_DAILY_RUN_AUTOMATION]
    assert set(failed["trigger"]["expect"]) == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    assert missing["trigger"]["posture"] == "Proactive" and missing["trigger"]["within"] == 26 * 3600
    block = server.api(
        "GET", f"/block_types/slug/cardlake-log-file-notification/block_documents/name/{NOTIFICATION_BLOCK}"
    )
    assert block["data"]["path"] == str(registered["log"].resolve())
    assert failed["actions"][0]["block_document_id"] == block["id"]
    again = subprocess.run([CARDLAKE, "blocks", "register"], env=registered["env"], capture_output=True, text=True)
    assert f"{FAILED_RUN_AUTOMATION:40} kept" in again.stdout, again.stdout  # idempotent


def test_a_failing_run_is_written_to_the_notification_log(registered: dict[str, Any]) -> None:
    # A card API nobody listens on: the pipeline's extraction fails at once, and the flow run ends Failed.
    env = {**registered["env"], "CARDLAKE_API_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    run = [CARDLAKE, "run", "--start", "2025-06-10", "--end", "2025-06-11"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout
    (entry, *_) = notifications(registered["log"], "Failed", timeout_s=90) or [None]
    assert entry is not None, f"no failure notification in {registered['log']}"
    assert entry["subject"].startswith("cardlake: flow run ") and entry["subject"].endswith(" Failed")
    assert "of flow pipeline ended Failed" in entry["body"], entry["body"]
    assert "the card API at http://127.0.0.1:" in entry["body"] and "is not reachable" in entry["body"]
    assert "Deployment: none (started by hand)" in entry["body"], entry["body"]
    time.sleep(5)  # the failed extract subflow is not notified again
    assert len(notifications(registered["log"], "Failed", timeout_s=0)) == 1


def test_a_daily_run_that_did_not_happen_is_written_to_the_notification_log(
    server: PrefectServer, registered: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.api_url}):
        block_id = notification_block_id(f"cardlake-log-file-notification/{NOTIFICATION_BLOCK}")
        # The 26 h grace shrunk to Prefect's minimum for proactive triggers; no daily deployment ever runs here.
        short = missing_daily_run_automation(block_id, within=timedelta(seconds=10))
        assert ensure_automation(short, overwrite=True) == "replaced"
    (entry, *_) = notifications(registered["log"], MISSING_SUBJECT, timeout_s=120) or [None]
    assert entry is not None, f"no missed-run notification in {registered['log']}"
    expected = "(pipeline-local, pipeline-warm, pipeline-ecs) completed in the last 10 seconds"
    assert expected in entry["body"], entry["body"]
