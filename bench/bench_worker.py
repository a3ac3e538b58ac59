"""Two consecutive daily runs through a Prefect worker: the `process` worker against `cardlake worker` (warm).

    .venv/bin/python bench/bench_worker.py [--cards 50 --day 2024-01-14] [--workdir $TMPDIR/cardlake-bench-worker]

Starts a `prefect server start` (own PREFECT_HOME) and the card API simulator (`cardlake api serve`), deploys
`pipeline-local` and `pipeline-warm` from prefect.yaml, then for each worker in turn, alone on the machine:
  1. `prefect worker start --pool cardlake-local --limit 1` (a child process per flow run, `local-submit`), or
     `cardlake worker` (every flow run in its own process, `local-session`), with an empty CARDLAKE_HOME;
  2. the day as a deployment run, twice, the second right after the first ends, both `force=true` so each
     extracts, runs every Spark job and loads again (no cache hit);
  3. the worker stopped.
Per run: `submit_to_end_s`, from the API call creating the run to its final state as the API reports it (polled
every 0.5 s; includes the worker's pick-up, at most PREFECT_WORKER_QUERY_SECONDS=2, and a process worker's
child start), and `engine_s`, the run's own Running-to-final time in the API (`total_run_time`).
Writes bench/results/worker.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_pipeline import free_port, start_simulator, stop_simulator  # noqa: E402

VENV_BIN = Path(sys.executable).parent
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
WORKERS = {
    "process": ("pipeline-local", [str(VENV_BIN / "prefect"), "worker", "start", "--pool", "cardlake-local",
                                   "--limit", "1"]),
    "warm": ("pipeline-warm", [str(VENV_BIN / "cardlake"), "worker"]),
}  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CARDLAKE_"))}
    return {**env, **extra}


class Server:
    """A `prefect server start` on a free port, and its API."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/api"
        self.env = clean_env(PREFECT_HOME=str(home), PREFECT_API_URL=self.url, PREFECT_WORKER_QUERY_SECONDS="2",
                             PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")  # fmt: skip
        with open(home / "server.log", "wb") as log:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
                cwd=home, env={k: v for k, v in self.env.items() if k != "PREFECT_API_URL"}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.5)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def prefect(self, *args: str) -> None:
        subprocess.run([str(VENV_BIN / "prefect"), *args], cwd=ROOT, env=self.env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip

    def stop(self) -> None:
        stop_group(self.proc)


def stop_group(proc: subprocess.Popen[bytes], grace_s: float = 60) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def pool_exists(server: Server, name: str) -> bool:
    try:
        server.api("GET", f"/work_pools/{name}")
    except httpx.HTTPStatusError:
        return False
    return True


def timed_run(server: Server, deployment_id: str, day: date) -> dict[str, Any]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    parameters = {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat(), "force": True}
    load = round(os.getloadavg()[0], 2)
    clock = time.monotonic()
    run = server.api("POST", f"/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters})
    while run["state_type"] not in TERMINAL:
        time.sleep(0.5)
        run = server.api("GET", f"/flow_runs/{run['id']}")
    return {"state": run["state_type"], "submit_to_end_s": round(time.monotonic() - clock, 1),
            "engine_s": round(run["total_run_time"], 1), "load_average_at_start": load}  # fmt: skip


def measure(server: Server, kind: str, home: Path, api_url: str, day: date) -> list[dict[str, Any]]:
    deployment, command = WORKERS[kind]
    env = {**server.env, "CARDLAKE_HOME": str(home), "CARDLAKE_API_BASE_URL": api_url,
           "CARDLAKE_PAN_TOKEN_KEY": "bench-worker-throwaway-key"}  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "worker.out", "wb") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
    try:
        pool = "cardlake-warm" if kind == "warm" else "cardlake-local"
        while not pool_exists(server, pool):  # `cardlake worker` creates its pool on its first heartbeat
            time.sleep(0.5)
        server.prefect("--no-prompt", "deploy", "--name", deployment)
        deployment_id = server.api("GET", f"/deployments/name/pipeline/{deployment}")["id"]
        return [timed_run(server, deployment_id, day) for _ in range(2)]
    finally:
        stop_group(worker)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=50)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2024, 1, 14))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cardlake-bench-worker")
    args = parser.parse_args(argv)
    shutil.rmtree(args.workdir, ignore_errors=True)
    server = Server(args.workdir / "prefect")
    sim = start_simulator(args.cards, args.day - timedelta(days=13), args.day + timedelta(days=2),
                          args.workdir / "simulator.log")  # fmt: skip
    try:
        server.prefect("work-pool", "create", "cardlake-local", "--type", "process")
        results = {kind: measure(server, kind, args.workdir / f"home-{kind}", sim.url, args.day) for kind in WORKERS}
    finally:
        stop_simulator(sim)
        server.stop()
    report = {
        "command": "python bench/bench_worker.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cards": args.cards,
        "day": args.day.isoformat(),
        "cpus": os.cpu_count(),
        "workers": results,
    }
    out = HERE / "results" / "worker.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'worker':8} {'run':>4} {'state':>10} {'submit-to-end':>14} {'engine':>8} {'load':>6}")
    for kind, runs in results.items():
        for number, run in enumerate(runs, 1):
            print(f"{kind:8} {number:>4} {run['state']:>10} {run['submit_to_end_s']:>12.1f} s "
                  f"{run['engine_s']:>6.1f} s {run['load_average_at_start']:>6.2f}")  # fmt: skip
    print(f"written: {out}")
    return report


if __name__ == "__main__":
    main()
