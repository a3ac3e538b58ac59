"""Benchmark of the card API simulator: records/s served over loopback to a paging client, and peak RSS.

Starts `python -m cardlake.cli api serve` as its own process (so its memory is measured alone), logs in, and pages
through monthly windows with limit=1000 the way the extraction flow does. Writes bench/results/simulator.json.

    .venv/bin/python bench/bench_simulator.py              # one month, 1,000 cards
    .venv/bin/python bench/bench_simulator.py --full       # plus the full two years
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cardapi.auth import totp_now  # noqa: E402
from cardapi.jsonfmt import loads  # noqa: E402

PATHS = {"transactions": "/v3/statement/list", "rewards": "/v3/rewards/list", "plu_rates": "/rates/plu"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of a process in KiB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (robust to other load on the machine, unlike wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def months(start: datetime, end: datetime) -> list[tuple[str, str]]:
    out, cur = [], start
    while cur < end:
        nxt = cur.replace(year=cur.year + (cur.month == 12), month=cur.month % 12 + 1)
        out.append((cur.strftime("%Y-%m-%dT%H:%M:%SZ"), nxt.strftime("%Y-%m-%dT%H:%M:%SZ")))
        cur = nxt
    return out


class Client:
    """Logs in once and refreshes the id_token with the refresh token when it expires (as the flows do)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        body = {"email": "demo@cardlake.local", "password": "cardlake-demo",
                "totp": totp_now("JBSWY3DPEHPK3PXP"), "clientId": "cardlake-local"}  # fmt: skip
        tokens = self.session.post(f"{url}/auth/login", json=body, timeout=10).json()
        self.token, self.refresh_token = tokens["id_token"], tokens["refresh_token"]

    def get(self, path: str, params: dict) -> requests.Response:
        for _ in range(2):
            headers = {"Authorization": f"Bearer {self.token}"}
            response = self.session.get(f"{self.url}{path}", params=params, headers=headers, timeout=120)
            if response.status_code != 401:
                break
            body = {"client_id": "cardlake-local", "refresh_token": self.refresh_token}
            self.token = self.session.post(f"{self.url}/auth/refresh-token", json=body, timeout=10).json()["id_token"]
        response.raise_for_status()
        return response


def extract(client: Client, entity: str, windows: list[tuple[str, str]], pid: int) -> dict:
    records = pages = 0
    started = time.perf_counter()
    cpu_started = cpu_seconds(pid)
    for a, b in windows:
        page = 1
        while True:
            response = client.get(PATHS[entity], {"from": a, "to": b, "limit": 1000, "page": page})
            data = loads(response.content)["data"]
            records += len(data)
            pages += 1
            if len(data) < 1000:
                break
            page += 1
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_started
    return {
        "records": records,
        "pages": pages,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "server_cpu_seconds": round(cpu, 2),
        "records_per_server_cpu_s": round(records / cpu) if cpu else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--full", action="store_true", help="also extract the full two years")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "simulator.json")
    args = parser.parse_args()

    port = free_port()
    cmd = [sys.executable, "-m", "cardlake.cli", "api", "serve", "--port", str(port), "--cards", str(args.cards)]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    results: dict = {
        "command": "python bench/bench_simulator.py" + (" --full" if args.full else ""),
        "cards": args.cards,
        "page_limit": 1000,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": round(os.getloadavg()[0], 1),
        },
        "runs": {},
    }
    try:
        for _ in range(300):
            try:
                requests.get(f"{url}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        client = Client(url)
        month = [("2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z")]
        for entity in ("transactions", "rewards", "plu_rates"):
            results["runs"][f"month_{entity}"] = extract(client, entity, month, server.pid)
            print(entity, "one month:", results["runs"][f"month_{entity}"], flush=True)
        if args.full:
            two_years = months(datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
            for entity in ("transactions", "rewards"):
                results["runs"][f"full_{entity}"] = extract(client, entity, two_years, server.pid)
                print(entity, "two years:", results["runs"][f"full_{entity}"], flush=True)
        current, peak = rss_kib(server.pid)
        results["server_rss_mib"] = {"current": round(current / 1024), "peak": round(peak / 1024)}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a request still in flight on a starved machine
            server.kill()
            server.wait()
    results["server_exit_code"] = server.returncode
    results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    results["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
