"""End-to-end latency of the alerts stream: from a transaction's `createdAt` to its row readable in the warehouse.

    .venv/bin/python bench/bench_stream.py [--rate 20 200] [--minutes 10]
        [--search-minutes 5] [--no-search] [--workdir DIR] [--out bench/results/stream.json]

For each rate: `cardlake api serve --live --rate N` (HTTP, a free port) and `cardlake stream` (its own
CARDLAKE_HOME under the workdir, an empty lake) run for `--minutes` from the stream's start line; the bench then
stops both with SIGINT, as a person would.

"Readable" means: the transaction's row is in the warehouse's `fraud_alerts` (what the dashboard's live feed and
`rpt_open_fraud_alerts` read), seen by a read-only DuckDB connection that the bench opens every 0.5 s. Alerts
exist only for scores at or above the threshold, so the bench runs the stream with CARDLAKE_FRAUD_THRESHOLD=0:
every scored transaction becomes an alert row, every transaction's latency is measured, and the sink carries
every row (more than production's few alerts: a worst case for the sink, the same work for everything else).
`createdAt` is whole seconds (the second a record became visible), so a latency includes up to 1 s of that
rounding. Lag over time is the warehouse's staleness: now minus the newest readable `createdAt`, sampled at each
read; its slope (least squares, s per s) says whether the stream keeps up (~0) or falls behind (> 0).

The model: a tiny GBT trained once on three simulated months (as tests/stream/ do) and cached in the workdir.
The search for the highest sustained rate is coarse: between the highest measured rate whose lag slope is at
most SUSTAINED_SLOPE and the lowest one above it, halved `--search-steps` times, each run `--search-minutes`.
Writes `--out` (default bench/results/stream.json).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from proc_tree import tree_rss_kb  # noqa: E402

SUSTAINED_SLOPE = 0.05  # s of lag gained per s: below it the backlog is not growing (noise of the sawtooth)
SAMPLE_SECONDS = 0.5
CARDS = 300
TRAIN_START, TRAIN_END = date(2024, 1, 1), date(2024, 4, 1)


def _train_into(models_root: str, scratch: str) -> None:
    """Three simulated months landed, silver + features, a tiny GBT trained into `models_root` (own process)."""
    from pydantic import SecretStr

    from blocks.credentials import CardApiCredentials
    from cardapi.config import SimulatorConfig
    from cardapi.server import serve_in_thread
    from cardlake.landing import LocalLandingZone
    from cardlake.source.client import CardApiClient
    from cardlake.source.extraction import Extractor, chunk_windows
    from contracts.jobs import JobRequest
    from contracts.landing import Window
    from spark_jobs.delta_io import get_delta_io
    from spark_jobs.fraud.lake import train_from_lake
    from spark_jobs.fraud.model import GbtParams
    from spark_jobs.main import run_request
    from spark_jobs.session import get_spark

    start = datetime(TRAIN_START.year, TRAIN_START.month, TRAIN_START.day, tzinfo=UTC)
    end = datetime(TRAIN_END.year, TRAIN_END.month, TRAIN_END.day, tzinfo=UTC)
    landing, lake = Path(scratch) / "landing", str(Path(scratch) / "lake")
    config = SimulatorConfig(seed=7, n_cards=60, start=TRAIN_START, end=TRAIN_END)
    with serve_in_thread(config) as url:
        credentials = CardApiCredentials(
            base_url=url,
            client_id="cardlake-local",
            email="demo@cardlake.local",
            password=SecretStr("cardlake-demo"),
            totp_secret=SecretStr("JBSWY3DPEHPK3PXP"),
        )
        with CardApiClient(credentials) as client:
            extractor = Extractor(client, LocalLandingZone.at(landing), page_size=1000)
            for window in chunk_windows(start, end, timedelta(days=7)):
                extractor.extract_window("transactions", window)
    run_request(JobRequest(("silver", "features"), str(landing), lake, Window(start, end), "bench-train"), "bench")
    spark = get_spark("cardlake-bench-train")
    params = GbtParams(max_iter=8, max_depth=3, max_bins=32)
    train_from_lake(spark, get_delta_io("delta-rs", spark), lake, models_root, holdout_months=1, params=params)
    spark.stop()


def cached_model(workdir: Path) -> str:
    """The models root of the cached tiny model, trained first if absent."""
    from spark_jobs.fraud.registry import latest_version

    models = workdir / "model" / "models"
    if latest_version(str(models)) is None:
        print("training the tiny fraud model once (cached in the workdir)", flush=True)
        process = mp.get_context("spawn").Process(target=_train_into, args=(str(models), str(workdir / "model")))
        process.start()
        process.join()
        if process.exitcode != 0 or latest_version(str(models)) is None:
            raise SystemExit("training the bench's model failed")
    return str(models)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


@dataclass
class Observation:
    """What the bench saw of one run, as it ran."""

    per_second: dict[datetime, int] = field(default_factory=dict)  # createdAt -> rows readable so far
    latencies: list[float] = field(default_factory=list)
    staleness: list[tuple[float, float]] = field(default_factory=list)  # (s since start, lag s)
    batches: list[tuple[float, str]] = field(default_factory=list)  # (s since start, micro-batch line)
    peak_rss: int = 0
    locked_reads: int = 0


def read_warehouse(duckdb_file: Path, seen: Observation, now: float, since: float) -> None:
    """One read-only look at fraud_alerts: rows new since the last look get latency now - createdAt."""
    import duckdb

    try:
        with duckdb.connect(str(duckdb_file), read_only=True) as con:
            rows = con.execute("SELECT transaction_ts, COUNT(*) FROM fraud_alerts GROUP BY 1").fetchall()
    except duckdb.Error:  # the sink holds the file for its upsert, or the table is not there yet
        seen.locked_reads += 1
        return
    for ts, count in rows:
        created = ts.replace(tzinfo=UTC)
        new = count - seen.per_second.get(created, 0)
        if new > 0:
            seen.latencies.extend([now - created.timestamp()] * new)
            seen.per_second[created] = count
    if seen.per_second:
        seen.staleness.append((now - since, now - max(seen.per_second).timestamp()))


def batch_figures(lines: list[tuple[float, str]]) -> dict[str, Any]:
    """Durations and sizes from the stream's one line per micro-batch."""
    durations, sizes = [], []
    steps: dict[str, list[float]] = {}
    for _, line in lines:
        words = line.replace(",", "").split()
        durations.append(float(words[words.index("in") + 1]))
        sizes.append(int(words[words.index("transaction(s)") - 1]))
        timed = re.search(r"s \(([^)]*)\)", line)  # "(silver 4.1, features 3.0, ...)", when the stream says
        for part in timed.group(1).split(", ") if timed else ():
            name, seconds = part.rsplit(" ", 1)
            steps.setdefault(name, []).append(float(seconds))
    if not durations:
        return {"count": 0}
    return {
        "count": len(durations),
        "duration_s": {"p50": percentile(durations, 0.5), "p95": percentile(durations, 0.95), "max": max(durations)},
        "step_p50_s": {name: percentile(values, 0.5) for name, values in steps.items()},
        "transactions_per_batch": {"p50": percentile([float(s) for s in sizes], 0.5), "max": max(sizes)},
        "durations_s": durations,
    }


def run_rate(rate: float, minutes: float, workdir: Path, models_root: str) -> dict[str, Any]:
    """One run at `rate`; the figures of result.json's `runs` entries."""
    home = workdir / f"home-{rate:g}-{int(time.time())}"
    home.mkdir(parents=True)
    port = free_port()
    env = {**os.environ, "CARDLAKE_HOME": str(home), "CARDLAKE_API_BASE_URL": f"http://127.0.0.1:{port}",
           "CARDLAKE_MODEL_DIR": models_root, "CARDLAKE_FRAUD_THRESHOLD": "0", "CARDLAKE_WAREHOUSE": "duckdb",
           "NO_COLOR": "1", "COLUMNS": "300", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}  # fmt: skip
    cli = [sys.executable, "-m", "cardlake.cli"]
    api = subprocess.Popen([*cli, "api", "serve", "--live", "--rate", f"{rate:g}", "--cards", str(CARDS),
                            "--port", str(port)], stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    log = home / "stream.log"
    seen = Observation()
    load: list[float] = []
    try:
        assert api.stdout is not None and "live" in api.stdout.readline()
        with log.open("w") as out:
            stream = subprocess.Popen([*cli, "stream"], stdout=out, stderr=subprocess.STDOUT, env=env)
            try:
                started = _wait_for_start(stream, log)
                print(f"rate {rate:g}/s: stream started, measuring for {minutes:g} min", flush=True)
                _observe(stream, log, home / "warehouse.duckdb", seen, load, started, started + minutes * 60)
            finally:
                stream.send_signal(signal.SIGINT)
                stream.wait(timeout=180)
    finally:
        api.send_signal(signal.SIGINT)
        api.wait(timeout=30)
    return _figures(rate, minutes, seen, load)


def _wait_for_start(stream: subprocess.Popen[bytes], log: Path) -> float:
    deadline = time.monotonic() + 300
    while "streaming from" not in log.read_text():
        if stream.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"`cardlake stream` did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return time.time()


def _observe(stream: subprocess.Popen[bytes], log: Path, duckdb_file: Path, seen: Observation,
             load: list[float], started: float, until: float) -> None:  # fmt: skip
    offset = 0
    while time.time() < until:
        if stream.poll() is not None:
            raise SystemExit(f"`cardlake stream` ended early:\n{log.read_text()[-2000:]}")
        now = time.time()
        read_warehouse(duckdb_file, seen, now, started)
        text = log.read_text()
        for line in text[offset:].splitlines():
            if line.startswith("micro-batch "):
                seen.batches.append((now - started, line))
                print(f"  {line}", flush=True)
        offset = len(text) - (0 if text.endswith("\n") else len(text.rsplit("\n", 1)[-1]))
        seen.peak_rss = max(seen.peak_rss, tree_rss_kb(stream.pid) * 1024)
        load.append(os.getloadavg()[0])
        time.sleep(max(0.0, SAMPLE_SECONDS - (time.time() - now)))


def _figures(rate: float, minutes: float, seen: Observation, load: list[float]) -> dict[str, Any]:
    lat = seen.latencies
    lag_slope = slope(seen.staleness)
    every_30s = [(round(t), round(lag, 1)) for t, lag in seen.staleness[:: int(30 / SAMPLE_SECONDS)]]
    return {
        "rate_per_s": rate,
        "minutes": minutes,
        "transactions_readable": len(lat),
        "latency_s": (
            {"p50": round(percentile(lat, 0.5), 2), "p95": round(percentile(lat, 0.95), 2), "max": round(max(lat), 2)}
            if lat
            else None
        ),
        "micro_batches": batch_figures(seen.batches),
        "lag_slope_s_per_s": round(lag_slope, 3),
        "lag_grows": lag_slope > SUSTAINED_SLOPE,
        "lag_every_30s": every_30s,
        "lag_at_end_s": round(seen.staleness[-1][1], 1) if seen.staleness else None,
        "peak_rss_mib_stream_tree": round(seen.peak_rss / 2**20),
        "warehouse_reads_refused_by_lock": seen.locked_reads,
        "load_average_1m": {"min": round(min(load), 1), "max": round(max(load), 1)} if load else None,
    }


def search(measured: dict[float, dict[str, Any]], steps: int, run: Any) -> dict[str, Any]:
    """Halve the gap between the highest sustained and the lowest growing rate, `steps` times."""
    for _ in range(steps):
        ok = [r for r, f in measured.items() if not f["lag_grows"]]
        bad = [r for r, f in measured.items() if f["lag_grows"]]
        if not bad:
            candidate = 2 * max(measured)
        elif not ok:
            candidate = min(bad) / 2
        else:
            low, high = max(ok), min((r for r in bad if r > max(ok)), default=2 * max(ok))
            candidate = round((low + high) / 2)
        if candidate in measured or candidate < 1:
            break
        measured[candidate] = run(candidate)
    ok = [r for r, f in measured.items() if not f["lag_grows"]]
    return {
        "highest_sustained_rate_per_s": max(ok) if ok else None,
        "lowest_growing_rate_per_s": min((r for r, f in measured.items() if f["lag_grows"]), default=None),
        "runs": {f"{r:g}": measured[r] for r in sorted(measured)},
    }


def _public_args(argv: list[str]) -> list[str]:
    """The command line without machine paths (--workdir DIR, --out FILE when absolute)."""
    kept: list[str] = []
    for arg in argv:
        if arg.startswith("/"):
            if kept and kept[-1] in ("--workdir", "--out"):
                kept.pop()
            continue
        kept.append(arg)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, nargs="+", default=[20.0, 200.0], help="transactions per second")
    parser.add_argument("--minutes", type=float, default=10.0, help="measured minutes per rate")
    parser.add_argument("--search", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--search-minutes", type=float, default=5.0)
    parser.add_argument("--search-steps", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cardlake-bench-stream")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "stream.json")
    parser.add_argument("--label", default="", help="what code was measured (e.g. a commit), kept in the result")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    models_root = cached_model(args.workdir)
    command = " ".join(["bench/bench_stream.py", *_public_args(sys.argv[1:])])
    runs: dict[float, dict[str, Any]] = {}
    result: dict[str, Any] = {
        "bench": "stream",
        "command": command,
        "label": args.label,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "readable_means": "the row is in the warehouse's fraud_alerts (threshold 0: every transaction is an alert)",
        "cards": CARDS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": {},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for rate in args.rate:  # written after each run, so a run cut short keeps the ones before it
        runs[rate] = run_rate(rate, args.minutes, args.workdir, models_root)
        result["runs"][f"{rate:g}"] = runs[rate]
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.search:
        found = search(dict(runs), args.search_steps, lambda r: run_rate(r, args.search_minutes, args.workdir,
                                                                          models_root))  # fmt: skip
        result["search"] = {"minutes_per_run": args.search_minutes, "sustained_slope_at_most": SUSTAINED_SLOPE,
                            **found}  # fmt: skip
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "search"}, indent=2, default=str)[:4000])


if __name__ == "__main__":
    main()
