"""`cardlake worker` against a real Prefect server: flow runs in the worker's process, one SparkSession for all.

The server and the worker are child processes (the worker is `cardlake worker`, exactly as a user starts it);
deployments of the tiny flows in `warm_flows.py` are registered through the API, and each run is started as
`prefect deployment run` would (`create_flow_run` on the deployment).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.names import WARM_WORK_POOL
from tests.deploy.processes import REPO, PrefectServer, prefect_server, stop_group

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]

CARDLAKE = str(Path(sys.executable).parent / "cardlake")
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
FLOWS = "tests/deploy/warm_flows.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as running:
        yield running


@contextlib.contextmanager
def cardlake_worker(server: PrefectServer, home: Path, terminal: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`cardlake worker` in its own session, stopped with its process group if a test leaves it running."""
    env = {**server.env, "CARDLAKE_HOME": str(home), "CARDLAKE_PAN_TOKEN_KEY": "warm-worker-test-key"}
    with open(terminal, "ab") as out:
        proc = subprocess.Popen(
            [CARDLAKE, "worker"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while not pool_exists(server):  # the worker creates its pool on its first heartbeat
            assert proc.poll() is None, f"cardlake worker exited with {proc.returncode}:\n{terminal.read_text()}"
            assert time.monotonic() < deadline, f"no {WARM_WORK_POOL} pool after 120 s:\n{terminal.read_text()}"
            time.sleep(0.5)
        yield proc
    finally:
        stop_group(proc)


def pool_exists(server: PrefectServer) -> bool:
    try:
        pool = server.api("GET", f"/work_pools/{WARM_WORK_POOL}")
    except httpx.HTTPStatusError:
        return False
    return pool["type"] == "cardlake-warm"


def deploy(server: PrefectServer, flow_name: str, entrypoint: str, name: str, env: dict[str, str]) -> str:
    """A deployment like `prefect deploy` makes of a local project: the entrypoint, run from the repository."""
    flow_id = server.api("POST", "/flows/", json={"name": flow_name})["id"]
    created = server.api(
        "POST",
        "/deployments/",
        json={
            "name": name,
            "flow_id": flow_id,
            "entrypoint": f"{FLOWS}:{entrypoint}",
            "pull_steps": [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}],
            "work_pool_name": WARM_WORK_POOL,
            "job_variables": {"env": env},
            "enforce_parameter_schema": False,
        },
    )
    return created["id"]


def start_run(server: PrefectServer, deployment_id: str, **parameters: Any) -> str:
    run = server.api("POST", f"/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters})
    return run["id"]


def wait_for(server: PrefectServer, flow_run_id: str, states: set[str], timeout_s: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        run = server.api("GET", f"/flow_runs/{flow_run_id}")
        if run["state_type"] in states:
            return run
        assert time.monotonic() < deadline, f"flow run still {run['state_type']} after {timeout_s} s"
        time.sleep(0.5)


def task_states(server: PrefectServer, flow_run_id: str) -> dict[str, str]:
    runs = server.api("POST", "/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}}})
    return {run["task_key"].split("-")[0]: run["state_type"] for run in runs}


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_runs_share_one_spark_session_and_get_their_own_environment(server: PrefectServer, tmp_path: Path):
    out = tmp_path / "probe.jsonl"
    terminal = tmp_path / "terminal.txt"
    with cardlake_worker(server, tmp_path / "home", terminal) as worker:
        probe = deploy(server, "warm-spark-probe", "spark_probe", "probe", {"PROBE_MARK": "from-the-deployment"})
        # Another deployment of the same flow that fails, and whose runner is its own choice.
        failing = deploy(server, "warm-spark-probe", "spark_probe", "probe-failing",
                         {"CARDLAKE_SPARK_RUNNER": "local-submit"})  # fmt: skip

        first = wait_for(server, start_run(server, probe, out=str(out)), TERMINAL)
        failed = wait_for(server, start_run(server, failing, out=str(out), fail=True), TERMINAL)
        third = wait_for(server, start_run(server, probe, out=str(out)), TERMINAL)
        worker_log = terminal.read_text()[-3000:]
        assert first["state_type"] == "COMPLETED", f"{first['state']}\n{worker_log}"
        assert failed["state_type"] == "FAILED", f"{failed['state']}\n{worker_log}"
        assert "the probe was told to fail" in failed["state"]["message"]
        assert third["state_type"] == "COMPLETED", f"{third['state']}\n{worker_log}"  # the failure did not stop it

        one, two, three = records(out)
        # One process, one JVM, one Spark application for all three runs.
        assert one["python_pid"] == two["python_pid"] == three["python_pid"] == worker.pid
        assert one["app_id"] == two["app_id"] == three["app_id"]
        assert one["jvm_pid"] == two["jvm_pid"] == three["jvm_pid"]
        # Each run saw its deployment's variables, and only during that run; the worker's default runner
        # applies where the deployment names none.
        assert (one["mark"], two["mark"], three["mark"]) == ("from-the-deployment", None, "from-the-deployment")
        assert (one["runner"], two["runner"], three["runner"]) == ("local-session", "local-submit", "local-session")
        assert one["runner_class"] == "LocalSessionRunner" and two["runner_class"] == "LocalSubmitRunner"

        # As a supervisor (systemd, a container runtime) stops it: SIGTERM to the whole group, the JVM included.
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    output = terminal.read_text()
    assert not alive(one["jvm_pid"]), "the JVM outlived the worker"
    for run in (first, failed, third):
        assert f"flow run {run['name']!r}" in output
    assert "Completed in" in output and "Failed in" in output
    assert "SIGTERM: stopping" in output and "worker stopped; its SparkSession and JVM stopped with it" in output
    assert "Traceback" not in output and "Warning" not in output


def test_cancelled_while_queued_is_skipped_and_while_running_goes_on_to_its_end(server: PrefectServer, tmp_path: Path):
    terminal = tmp_path / "terminal.txt"
    with cardlake_worker(server, tmp_path / "home", terminal) as worker:
        steps = deploy(server, "warm-two-steps", "two_steps", "two-steps", {})
        running_done, queued_done = tmp_path / "running.done", tmp_path / "queued.done"
        running = start_run(server, steps, seconds=8, done=str(running_done))
        wait_for(server, running, {"RUNNING"})
        queued = start_run(server, steps, seconds=0, done=str(queued_done))  # waits: one run at a time
        for flow_run_id in (queued, running):
            server.api("POST", f"/flow_runs/{flow_run_id}/set_state", json={"state": {"type": "CANCELLING"}})

        assert wait_for(server, queued, TERMINAL, timeout_s=10)["state_type"] == "CANCELLED"
        cancelled = wait_for(server, running, TERMINAL, timeout_s=60)
        assert cancelled["state_type"] == "CANCELLED", f"{cancelled['state']}\n{terminal.read_text()[-3000:]}"
        assert "went on to its end" in cancelled["state"]["message"]
        # Nothing interrupts a run in the worker's process: both tasks ran. The queued run never started.
        assert task_states(server, running) == {"wait": "COMPLETED", "touch": "COMPLETED"}
        assert running_done.exists() and not queued_done.exists()

        # The worker goes on: the next run completes.
        after = wait_for(server, start_run(server, steps, seconds=0, done=str(queued_done)), TERMINAL)
        assert after["state_type"] == "COMPLETED" and queued_done.exists()
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=60) == 0
    assert "Cancelled in" in terminal.read_text()


def test_sigint_during_a_run_lets_it_finish_then_stops_spark(server: PrefectServer, tmp_path: Path):
    out = tmp_path / "probe.jsonl"
    terminal = tmp_path / "terminal.txt"
    with cardlake_worker(server, tmp_path / "home", terminal) as worker:
        probe = deploy(server, "warm-spark-probe", "spark_probe", "probe-sigint", {})
        steps = deploy(server, "warm-two-steps", "two_steps", "two-steps-sigint", {})
        assert wait_for(server, start_run(server, probe, out=str(out)), TERMINAL)["state_type"] == "COMPLETED"
        (record,) = records(out)
        assert alive(record["jvm_pid"])  # the session stays up between runs

        done = tmp_path / "finished.done"
        in_progress = start_run(server, steps, seconds=6, done=str(done))
        wait_for(server, in_progress, {"RUNNING"})
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=90) == 0
        assert wait_for(server, in_progress, TERMINAL, timeout_s=5)["state_type"] == "COMPLETED" and done.exists()
    output = terminal.read_text()
    assert "SIGINT: stopping; taking no new flow runs, waiting for" in output
    assert not alive(record["jvm_pid"]), "the JVM outlived the worker"
    assert "Traceback" not in output


def test_prefect_yaml_deploys_the_warm_deployments_onto_the_pool_the_worker_created(
    server: PrefectServer, tmp_path: Path
):
    with cardlake_worker(server, tmp_path / "home", tmp_path / "terminal.txt"):
        deployed = server.cli("--no-prompt", "deploy", "--name", "*-warm", timeout=240)
    assert "pipeline/pipeline-warm" in deployed.stdout and "alerts/alerts-warm" in deployed.stdout, deployed.stdout
    pipeline = server.api("GET", "/deployments/name/pipeline/pipeline-warm")
    alerts = server.api("GET", "/deployments/name/alerts/alerts-warm")
    for registered in (pipeline, alerts):
        assert registered["work_pool_name"] == WARM_WORK_POOL
        assert registered["job_variables"]["env"]["CARDLAKE_SPARK_RUNNER"] == "local-session"
        assert registered["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
        ]
        (schedule,) = registered["schedules"]
        assert not schedule["active"]
    assert pipeline["schedules"][0]["schedule"]["cron"] == "30 2 * * *"
    assert alerts["schedules"][0]["schedule"]["interval"] == 300.0


def test_a_second_sigterm_stops_now_and_reports_the_run_crashed(server: PrefectServer, tmp_path: Path):
    terminal = tmp_path / "terminal.txt"
    with cardlake_worker(server, tmp_path / "home", terminal) as worker:
        steps = deploy(server, "warm-two-steps", "two_steps", "two-steps-twice", {})
        done = tmp_path / "never.done"
        in_progress = start_run(server, steps, seconds=120, done=str(done))
        wait_for(server, in_progress, {"RUNNING"})
        worker.send_signal(signal.SIGTERM)
        time.sleep(2)
        assert worker.poll() is None  # the first one waits for the run
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 1  # well before the run's 120 s
    crashed = server.api("GET", f"/flow_runs/{in_progress}")
    assert crashed["state_type"] == "CRASHED" and "second stop signal" in crashed["state"]["message"]
    output = terminal.read_text()
    assert "SIGTERM again: flow run" in output and "is reported Crashed" in output and "worker stopped" in output
    assert not done.exists() and "Traceback" not in output
