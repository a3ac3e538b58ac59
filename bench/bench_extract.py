"""Records/s from the card API simulator to the local landing zone: one month of 1,000 cards.

    .venv/bin/python bench/bench_extract.py [--page-size 1000 5000] [--cards 1000]

The simulator runs in its own process (as the real API would be elsewhere). The end-to-end figure includes
the simulator's own time to build and serve pages; a second "client ceiling" figure replays the recorded
page bodies from a static HTTP server in another process, so it measures only the client's side (HTTP,
parsing, gzip, sha256, atomic local writes, manifest). Writes bench/results/extract.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

GOAL_RECORDS_PER_S = 20_000
WINDOW = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))


def _serve(cards: int, queue: mp.Queue, stop: mp.Event) -> None:
    from cardapi.config import SimulatorConfig
    from cardapi.server import serve_in_thread

    config = SimulatorConfig(seed=42, start=date(2025, 1, 1), end=date(2025, 7, 1), n_cards=cards)
    with serve_in_thread(config, host="127.0.0.1", port=0) as url:
        queue.put(url)
        stop.wait()


def _replay(folder: str, queue: mp.Queue, stop: mp.Event) -> None:
    """Serve recorded page bodies (page=n -> file n) and a long-lived token: an API that costs nothing."""
    import base64
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlparse

    claims = base64.urlsafe_b64encode(json.dumps({"exp": time.time() + 3600}).encode()).rstrip(b"=").decode()
    token = json.dumps({"id_token": f"e30.{claims}.x", "refresh_token": "r", "expires_in": 3600}).encode()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(token)

        def do_GET(self) -> None:
            page = int(parse_qs(urlparse(self.path).query)["page"][0])
            path = Path(folder, f"{page}.json")
            self._send(path.read_bytes() if path.exists() else b'{"data":[],"page":%d}' % page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    queue.put(f"http://127.0.0.1:{server.server_address[1]}")
    stop.wait()
    server.shutdown()


def _record(url: str, page_size: int, folder: str) -> None:
    """Record the v3 page bodies as the API serves them (pages land adapted, so not `Page.body`)."""
    from cardlake.source.client import ENDPOINTS, CardApiClient
    from contracts.landing import iso

    with CardApiClient(_credentials(url)) as client:
        number = 1
        while True:
            params = {"from": iso(WINDOW[0]), "to": iso(WINDOW[1]), "limit": page_size, "page": number}
            body, parsed = client._send("GET", ENDPOINTS["transactions"], params=params)
            Path(folder, f"{number}.json").write_bytes(body)
            if len(parsed["data"]) < page_size:
                return
            number += 1


def _credentials(url: str):
    from pydantic import SecretStr

    from blocks.credentials import CardApiCredentials

    return CardApiCredentials(
        base_url=url,
        client_id="cardlake-local",
        email="demo@cardlake.local",
        password=SecretStr("cardlake-demo"),
        totp_secret=SecretStr("JBSWY3DPEHPK3PXP"),
    )


def _extract(url: str, page_size: int, entity: str) -> dict:
    from cardlake.landing import LocalLandingZone
    from cardlake.source.client import CardApiClient
    from cardlake.source.extraction import Extractor, Window

    with tempfile.TemporaryDirectory() as root, CardApiClient(_credentials(url)) as client:
        extractor = Extractor(client, LocalLandingZone.at(root), page_size=page_size)
        began, cpu_began = time.perf_counter(), time.process_time()
        manifest = extractor.extract_window(entity, Window(*WINDOW))
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    records = manifest["record_count"]
    return {
        "entity": entity,
        "page_size": page_size,
        "records": records,
        "pages": len(manifest["pages"]),
        "landed_bytes": sum(p["bytes"] for p in manifest["pages"]),
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds),
        # CPU the client process used (all its threads): the rate it would reach on an idle core.
        "client_cpu_seconds": round(cpu, 3),
        "records_per_client_cpu_s": round(records / cpu),
        "requests": client.request_count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--page-size", type=int, nargs="+", default=[1000, 5000])
    args = parser.parse_args()

    queue: mp.Queue = mp.Queue()
    stop = mp.Event()
    server = mp.Process(target=_serve, args=(args.cards, queue, stop), daemon=True)
    server.start()
    recorded = tempfile.mkdtemp(prefix="bench-extract-pages-")
    try:
        url = queue.get(timeout=300)
        _extract(url, 5000, "transactions")  # warm the simulator's caches so runs compare like with like
        runs = [_extract(url, size, "transactions") for size in args.page_size]
        runs.append(_extract(url, max(args.page_size), "rewards"))
        _record(url, max(args.page_size), recorded)
    finally:
        stop.set()
        server.join(timeout=30)
    stop_replay = mp.Event()
    replay = mp.Process(target=_replay, args=(recorded, queue, stop_replay), daemon=True)
    replay.start()
    try:
        ceiling = _extract(queue.get(timeout=60), max(args.page_size), "transactions")
    finally:
        stop_replay.set()
        replay.join(timeout=30)
        shutil.rmtree(recorded, ignore_errors=True)
    best = max(r["records_per_s"] for r in runs if r["entity"] == "transactions")
    result = {
        "benchmark": "extract",
        "command": "bench/bench_extract.py "
        + " ".join(["--cards", str(args.cards), "--page-size", *map(str, args.page_size)]),
        "window": [WINDOW[0].isoformat(), WINDOW[1].isoformat()],
        "cards": args.cards,
        "goal_records_per_s": GOAL_RECORDS_PER_S,
        "best_transactions_records_per_s": best,
        "meets_goal": best >= GOAL_RECORDS_PER_S,
        "runs": runs,
        "client_ceiling_replayed_pages": ceiling,
        "machine": {
            "python": platform.python_version(),
            "cpus": mp.cpu_count(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        },
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out = Path(__file__).parent / "results" / "extract.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
