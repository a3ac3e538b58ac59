"""Soak benchmark (issue #19): hourly batch runs and the alerts stream side by side, with faults on.

    .venv/bin/python bench/bench_soak.py [--hours 24] [--cards 20] [--rate 5]
        [--fault-rate 0.2] [--malformed-rate 0.05] [--day 2025-06-10] [--max-wall-minutes 0] [--workdir DIR]

Starts a Prefect server (holding the lake-writer limit), the card API simulator in historical mode and a live
one, both with every transport fault at `--fault-rate` (429, 5xx, truncated pages, slow pages, duplicated
records; the historical one also adds malformed records), then:
- batch side: `--hours` consecutive one-hour windows of `--day` through `cardlake run`, one after the other, into
  one lake and DuckDB warehouse. Simulated hours: the windows are historical, so they take the wall time they take.
  Per window: wall time and, per hop (api -> landing, landing -> silver, silver -> gold, gold -> warehouse), the
  records in / accepted / quarantined of the run's rows-per-stage table; every row must reconcile
  (in = accepted + quarantined), or the benchmark fails after writing its results.
- streaming side, for the same wall time: `cardlake stream` against the live simulator, in its own home (the
  stream does not take the lake-writer limit, docs/stream.md); its lag per micro-batch from its output lines,
  and at the end the distinct landed transactions against silver's accepted plus quarantined ones.
- memory: the RSS of each process tree, sampled every `--sample-seconds`, and a no-growth verdict for the
  long-lived stream (the last quarter's median against the second's: the first is the warm-up).
Writes bench/results/soak.json and docs/img/soak.png.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import quoted_command  # noqa: E402
from proc_tree import tree_rss_kb  # noqa: E402

from contracts.lake import RUNS  # noqa: E402
from contracts.landing import MANIFESTS  # noqa: E402
from contracts.names import LAKE_WRITER_LIMIT, ROWS_PER_STAGE_ARTIFACT  # noqa: E402

VENV_BIN = Path(sys.executable).parent
CARDLAKE = str(VENV_BIN / "cardlake")
PREFECT = str(VENV_BIN / "prefect")
RESULT = ROOT / "bench" / "results" / "soak.json"
FIGURE = ROOT / "docs" / "img" / "soak.png"

# Which hop of the chain each stage of the rows-per-stage table belongs to.
HOP_OF_STAGE = {"extract": "api -> landing", "silver": "landing -> silver", "load": "gold -> warehouse"}
DEFAULT_HOP = "silver -> gold"  # gold, features, scores, star tables, export
# No growth: the last quarter's median RSS within this share (or this many MB) of the second quarter's.
GROWTH_TOLERANCE = 0.10
GROWTH_SLACK_MB = 50.0

_BATCH_LINE = re.compile(
    r"micro-batch (?P<batch>\d+): (?P<manifests>\d+) manifest\(s\), (?P<transactions>\d+) transaction\(s\), "
    r"(?P<quarantined>\d+) quarantined, (?P<scored>\d+) scored, (?P<alerts>\d+) alert\(s\) upserted "
    r"in (?P<duration>[0-9.]+) s(?: \([^)]*\))?(?:, lag (?P<lag>-?[0-9.]+) s)?"  # (step timings), then the lag
)


# --- pure parts (tests/bench/test_bench_soak.py) -----------------------------------------------------------------


@dataclass(frozen=True)
class HopCounts:
    hop: str
    stage: str
    table: str
    records_in: int
    accepted: int
    quarantined: int

    @property
    def reconciles(self) -> bool:
        return self.records_in == self.accepted + self.quarantined


def hop_counts(stage_rows: Iterable[Mapping[str, Any]]) -> list[HopCounts]:
    """The run's rows-per-stage table (`cardlake.summary.stage_rows`) as counts per hop."""
    return [
        HopCounts(
            HOP_OF_STAGE.get(str(row["stage"]), DEFAULT_HOP),
            str(row["stage"]),
            str(row["table"]),
            int(row["in"] or 0),
            int(row["accepted"] or 0),
            int(row["rejected"] or 0),
        )
        for row in stage_rows
    ]


def reconciliation_failures(counts: Iterable[HopCounts]) -> list[str]:
    """One line per table whose records in differ from accepted + quarantined; empty when all reconcile."""
    return [
        f"{c.hop} {c.stage} {c.table}: in {c.records_in} != accepted {c.accepted} + quarantined {c.quarantined}"
        for c in counts
        if not c.reconciles
    ]


# Where one hop's output is the next hop's input, by (stage, table) of the rows-per-stage table: the landed records
# of an entity are what silver reads, and every star table the export writes is what the load reads.
HANDOFFS = (("extract", "raw/{}", "silver", "silver/{}"), ("export", "{}", "load", "{}"))


def handoff_failures(counts: Iterable[HopCounts]) -> list[str]:
    """One line per hand-over where a hop's accepted records differ from the next hop's records in."""
    by_key = {(c.stage, c.table): c for c in counts}
    failures = []
    for out_stage, out_table, in_stage, in_table in HANDOFFS:
        for (stage, table), sent in by_key.items():
            prefix, suffix = out_table.split("{}")
            if stage != out_stage or not table.startswith(prefix) or not table.endswith(suffix):
                continue
            name = table[len(prefix) : len(table) - len(suffix)]
            received = by_key.get((in_stage, in_table.format(name)))
            if received is not None and received.records_in != sent.accepted:
                failures.append(
                    f"{sent.hop} -> {received.hop}: {out_stage} {table} passed on {sent.accepted}, "
                    f"{in_stage} {received.table} read {received.records_in}"
                )
    return failures


@dataclass(frozen=True)
class MicroBatch:
    batch_id: int
    manifests: int
    transactions: int
    quarantined: int
    duration_s: float
    lag_s: float | None


def parse_micro_batch(line: str) -> MicroBatch | None:
    """A `cardlake stream` micro-batch line (cardlake/cli/stream.py), or None for any other line."""
    match = _BATCH_LINE.search(line)
    if match is None:
        return None
    lag = match.group("lag")
    return MicroBatch(
        int(match.group("batch")),
        int(match.group("manifests")),
        int(match.group("transactions")),
        int(match.group("quarantined")),
        float(match.group("duration")),
        float(lag) if lag is not None else None,
    )


def growth_verdict(samples: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """No-growth verdict on (seconds, MB) samples: the last quarter's median against the second quarter's.

    The first quarter is the warm-up: a JVM's resident memory climbs until its heap reaches the working size it
    needs (then stays), so a leak shows as growth after it, not during it. A least-squares slope over the same
    three quarters is reported beside it; the verdict uses medians, which one GC or one micro-batch's peak does
    not move.
    """
    if len(samples) < 8:
        return {"samples": len(samples), "verdict": "too few samples"}
    quarter = len(samples) // 4
    first = statistics.median(mb for _, mb in samples[:quarter])
    warm = statistics.median(mb for _, mb in samples[quarter : 2 * quarter])
    last = statistics.median(mb for _, mb in samples[-quarter:])
    after_warm_up = samples[quarter:]
    times = [t for t, _ in after_warm_up]
    mean_t, mean_mb = statistics.fmean(times), statistics.fmean(mb for _, mb in after_warm_up)
    spread = sum((t - mean_t) ** 2 for t in times)
    slope = sum((t - mean_t) * (mb - mean_mb) for t, mb in after_warm_up) / spread if spread else 0.0
    grew = last > warm * (1 + GROWTH_TOLERANCE) and last - warm > GROWTH_SLACK_MB
    return {
        "samples": len(samples),
        "first_quarter_median_mb": round(first, 1),
        "second_quarter_median_mb": round(warm, 1),
        "last_quarter_median_mb": round(last, 1),
        "change": round(last / warm - 1, 4) if warm else None,
        "slope_mb_per_hour": round(slope * 3600, 1),
        "verdict": "grows" if grew else "no growth",
    }


def public_command(argv: Sequence[str]) -> str:
    """The command line as the results quote it: without `--workdir`, a folder of this machine."""
    return quoted_command.public_command("bench/bench_soak.py", argv)


def percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- processes ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, what: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=3).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not answer at {url} within {timeout_s:.0f} s") from None
            time.sleep(0.5)


def start(command: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A child as the leader of its own process group, so it is stopped with everything it started."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace_s: float = 60) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return proc.returncode


class MemorySampler:
    """Samples the RSS tree of every registered process every `period_s` seconds, in a daemon thread."""

    def __init__(self, period_s: float, clock_start: float) -> None:
        self.period_s, self.clock_start = period_s, clock_start
        self.roots: dict[str, int] = {}
        self.samples: list[dict[str, Any]] = []
        self._lock, self._done = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def track(self, name: str, pid: int) -> None:
        with self._lock:
            self.roots[name] = pid

    def untrack(self, name: str) -> None:
        with self._lock:
            self.roots.pop(name, None)

    def _run(self) -> None:
        while not self._done.wait(self.period_s):
            with self._lock:
                roots = dict(self.roots)
            moment = round(time.monotonic() - self.clock_start, 1)
            self.samples.append(
                {"t_s": moment, **{name: round(tree_rss_kb(pid) / 1024, 1) for name, pid in roots.items()}}
            )

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def series(self, name: str) -> list[tuple[float, float]]:
        return [(s["t_s"], s[name]) for s in self.samples if name in s]


class StreamReader:
    """Reads `cardlake stream`'s output as it comes: every line to the log, micro-batch lines parsed and timed."""

    def __init__(self, pipe: IO[bytes], log: Path, clock_start: float) -> None:
        self.batches: list[tuple[float, MicroBatch]] = []
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(pipe, log, clock_start), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[bytes], log: Path, clock_start: float) -> None:
        with open(log, "a") as out:
            for raw in pipe:
                line = raw.decode(errors="replace").rstrip()
                out.write(line + "\n")
                out.flush()
                self.lines.append(line)
                batch = parse_micro_batch(line)
                if batch is not None:
                    self.batches.append((round(time.monotonic() - clock_start, 1), batch))

    def join(self, timeout_s: float = 30) -> None:
        self._thread.join(timeout_s)


# --- the two sides -----------------------------------------------------------------------------------------------


def base_env(prefect_home: Path, prefect_url: str, key: str) -> dict[str, str]:
    """This environment without the caller's PREFECT_* / CARDLAKE_* settings, plus the soak's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CARDLAKE_"))}
    return {
        **env,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_API_URL": prefect_url,
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYSPARK_PYTHON": sys.executable,
        "CARDLAKE_PAN_TOKEN_KEY": key,  # a throwaway key per soak, in the children's environment only
        "CARDLAKE_SPARK_DRIVER_MEMORY": "2g",
        "CARDLAKE_SPARK_SHUFFLE_PARTITIONS": "2",
        "COLUMNS": "400",  # rich wraps a pipe's lines at 80 columns, which would split the stream's lines
    }


def fault_flags(rate: float, seed: int, malformed_rate: float | None) -> list[str]:
    flags = [
        "--fault-seed",
        str(seed),
        "--fault-429-rate",
        str(rate),
        "--retry-after-seconds",
        "0.2",
        "--fault-5xx-rate",
        str(rate),
        "--fault-truncated-rate",
        str(rate),
        "--slow-rate",
        str(rate),
        "--slow-seconds",
        "0.3",
        "--fault-duplicate-rate",
        str(rate),
    ]
    return flags + (["--malformed-rate", str(malformed_rate)] if malformed_rate is not None else [])


def latest_stage_rows(prefect_url: str) -> list[dict[str, Any]]:
    """The newest rows-per-stage table artifact (the run summary's counts) from the Prefect API."""
    body = json.dumps(
        {"artifacts": {"key": {"any_": [ROWS_PER_STAGE_ARTIFACT]}}, "sort": "CREATED_DESC", "limit": 1}
    ).encode()
    request = urllib.request.Request(
        f"{prefect_url}/artifacts/filter", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        found = json.loads(response.read())
    if not found:
        raise SystemExit("the run left no rows-per-stage artifact")
    data = found[0]["data"]
    rows: list[dict[str, Any]] = json.loads(data) if isinstance(data, str) else data
    return rows


def window_label(start_at: datetime, end_at: datetime) -> str:
    return f"{start_at:%Y%m%dT%H%M%SZ}_{end_at:%Y%m%dT%H%M%SZ}"


@dataclass
class BatchWindow:
    start: str
    end: str
    wall_s: float
    load_average: float
    hops: list[dict[str, Any]] = field(default_factory=list)
    job_seconds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def run_window(
    env: Mapping[str, str], home: Path, prefect_url: str, start_at: datetime, sampler: MemorySampler, logs: Path
) -> BatchWindow:
    iso = [f"{moment:%Y-%m-%dT%H:%M:%SZ}" for moment in (start_at, start_at + timedelta(hours=1))]
    load = round(os.getloadavg()[0], 2)
    clock = time.monotonic()
    proc = start(
        [CARDLAKE, "run", "--start", iso[0], "--end", iso[1], "--no-summary"], env, logs / f"run-{start_at:%H}.log"
    )
    sampler.track("batch_run", proc.pid)
    code = proc.wait()
    sampler.untrack("batch_run")
    wall = round(time.monotonic() - clock, 1)
    if code != 0:
        tail = (logs / f"run-{start_at:%H}.log").read_text(errors="replace").splitlines()[-15:]
        return BatchWindow(iso[0], iso[1], wall, load, failures=[f"cardlake run exited {code}: " + " | ".join(tail)])
    counts = hop_counts(latest_stage_rows(prefect_url))
    runs = home / "lake" / RUNS / window_label(start_at, start_at + timedelta(hours=1))
    jobs = {p.stem: float(json.loads(p.read_text()).get("duration_s", 0.0)) for p in sorted(runs.glob("*.json"))}
    failures = reconciliation_failures(counts) + handoff_failures(counts)
    return BatchWindow(iso[0], iso[1], wall, load, [asdict(c) for c in counts], jobs, failures)


def committed_manifests(checkpoint: Path) -> set[str]:
    """Manifest files of the micro-batches the stream committed, from its checkpoint's file-source log.

    `sources/0/<batch>` (and `<batch>.compact`) list the files each batch read, one JSON line each after a
    version line; `commits/<batch>` exists once the batch finished. A batch cut short by the stop is not in it.
    """
    commits = {int(p.name) for p in (checkpoint / "commits").glob("*") if p.name.isdigit()}
    found = set()
    for log in (checkpoint / "sources" / "0").glob("*"):
        if log.name.startswith("."):  # Hadoop's `.<batch>.crc` checksums beside each log file
            continue
        for line in log.read_text().splitlines()[1:]:
            entry = json.loads(line)
            if int(entry["batchId"]) in commits:
                found.add(Path(urllib.parse.urlparse(entry["path"]).path).name)
    return found


def landed_transaction_ids(landing: Path, only: set[str] | None = None) -> tuple[int, set[str]]:
    """Records and distinct ids of the transaction pages the manifests name (`only`: these manifest file names)."""
    records, ids = 0, set()
    for manifest in landing.rglob(f"transactions/{MANIFESTS}/*.json"):
        if only is not None and manifest.name not in only:
            continue
        for page in json.loads(manifest.read_text()).get("pages", []):
            path = landing / page["key"]
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            for record in json.loads(raw).get("data", []):
                records += 1
                ids.add(str(record.get("id")))
    return records, ids


def stream_tables(lake: Path) -> tuple[dict[str, int], set[str]]:
    """Silver's transaction and quarantined-transaction counts, and silver's transaction ids."""
    import duckdb
    from deltalake import DeltaTable

    counts = {"silver_transactions": 0, "quarantined_transactions": 0}
    silver_ids: set[str] = set()
    if DeltaTable.is_deltatable(str(lake / "silver" / "transactions")):
        ids = DeltaTable(str(lake / "silver" / "transactions")).to_pyarrow_table(columns=["transaction_id"])
        silver_ids = {str(i) for i in ids.column(0).to_pylist()}
        counts["silver_transactions"] = len(silver_ids)
    if DeltaTable.is_deltatable(str(lake / "silver" / "quarantine")):
        con = duckdb.connect()
        con.register("q", DeltaTable(str(lake / "silver" / "quarantine")).to_pyarrow_dataset())
        row = con.execute("SELECT count(*) FROM q WHERE entity = 'transactions'").fetchone()
        counts["quarantined_transactions"] = int(row[0]) if row else 0
    return counts, silver_ids


def stream_reconciles(landed: set[str], committed: set[str], silver: set[str], quarantined: int) -> bool:
    """Nothing lost, nothing invented. Every transaction of a committed micro-batch is in silver (or among the
    quarantined); silver holds only landed transactions. The micro-batch a stop cut short may have merged some
    of its rows before the stop: they are landed, not yet committed, and its re-run on the next start MERGEs
    them again, so they sit between the two bounds."""
    return committed <= landed and len(committed - silver) <= quarantined and silver <= landed


# --- report ------------------------------------------------------------------------------------------------------


def plot(path: Path, sampler: MemorySampler, batches: list[tuple[float, MicroBatch]], windows: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, lag) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    names = sorted({k for s in sampler.samples for k in s if k != "t_s"})
    for name in names:
        series = sampler.series(name)
        mem.plot(
            [t / 60 for t, _ in series],
            [mb for _, mb in series],
            ".-" if name == "batch_run" else "-",
            markersize=2,
            linewidth=1,
            label=name,
        )
    for end_s in windows:
        mem.axvline(end_s / 60, color="grey", linewidth=0.4, alpha=0.5)
    mem.set_ylabel("RSS of the process tree (MB)")
    mem.set_title("Soak: memory per process tree (grey: an hourly batch window ends)")
    mem.legend(loc="upper left", fontsize=8)
    lagged = [(t, b.lag_s) for t, b in batches if b.lag_s is not None]
    lag.plot([t / 60 for t, _ in lagged], [v for _, v in lagged], "o-", markersize=3, linewidth=1)
    lag.set_ylabel("stream lag of the newest transaction (s)")
    lag.set_xlabel("wall time (min)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> dict[str, Any]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(meminfo["MemTotal"].split()[0]) / 1024**2, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hours", type=int, default=24, help="consecutive one-hour batch windows")
    parser.add_argument("--day", type=date.fromisoformat, default=date(2025, 6, 10), help="first window's day")
    parser.add_argument("--cards", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0, help="live simulator: transactions per second")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="share of requests of each transport fault")
    parser.add_argument("--malformed-rate", type=float, default=0.05, help="historical simulator only")
    parser.add_argument("--sample-seconds", type=float, default=3.0)
    parser.add_argument("--max-wall-minutes", type=float, default=0.0, help="0: no limit; else start no window after")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cardlake-soak")
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    return args


def summarise(
    args: argparse.Namespace,
    command_line: str,
    info: dict[str, Any],
    windows: list[BatchWindow],
    reader: StreamReader,
    sampler: MemorySampler,
    stream_check: dict[str, Any],
    wall_s: float,
) -> dict[str, Any]:
    lags = [b.lag_s for _, b in reader.batches if b.lag_s is not None]
    durations = [b.duration_s for _, b in reader.batches]
    names = sorted({k for s in sampler.samples for k in s if k != "t_s"})
    return {
        "benchmark": "soak",
        "command": command_line,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {k: str(v) for k, v in vars(args).items() if k != "workdir"},
        "wall_s": round(wall_s, 1),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "batch": {
            "windows_run": len(windows),
            "windows_asked": args.hours,
            "wall_s_median": statistics.median(w.wall_s for w in windows) if windows else None,
            "wall_s_max": max((w.wall_s for w in windows), default=None),
            "all_reconcile": all(not w.failures for w in windows),
            "windows": [asdict(w) for w in windows],
        },
        "stream": {
            "micro_batches": len(reader.batches),
            "lag_s": {"median": percentile(lags, 0.5), "p95": percentile(lags, 0.95), "max": max(lags, default=None)},
            "micro_batch_s": {"median": percentile(durations, 0.5), "p95": percentile(durations, 0.95)},
            "transactions_accepted": sum(b.transactions for _, b in reader.batches),
            "transactions_quarantined": sum(b.quarantined for _, b in reader.batches),
            "reconciliation": stream_check,
            "lines": [{"t_s": t, **asdict(b)} for t, b in reader.batches],
        },
        "memory": {
            "peak_mb": {n: max(mb for _, mb in sampler.series(n)) for n in names},
            "stream_growth": growth_verdict(sampler.series("stream")),
            "samples": sampler.samples,
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command_line = public_command(sys.argv[1:] if argv is None else argv)
    work, logs = args.workdir, args.workdir / "logs"
    if work.exists():
        import shutil

        shutil.rmtree(work)
    logs.mkdir(parents=True)
    info = machine()
    prefect_port, api_port, live_port = free_port(), free_port(), free_port()
    prefect_url = f"http://127.0.0.1:{prefect_port}/api"
    env = base_env(work / "prefect", prefect_url, secrets.token_hex(32))
    batch_home, stream_home = work / "batch", work / "stream"
    batch_env = {**env, "CARDLAKE_HOME": str(batch_home), "CARDLAKE_API_BASE_URL": f"http://127.0.0.1:{api_port}"}
    # No Prefect server for the stream: its lake is not the batch's, so the lake-writer slot it would take per
    # micro-batch on that server would only make it wait for batch runs that never touch its tables.
    stream_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"} | {
        "CARDLAKE_HOME": str(stream_home),
        "CARDLAKE_API_BASE_URL": f"http://127.0.0.1:{live_port}",
    }
    first_day = args.day - timedelta(days=1)
    simulator = [
        CARDLAKE,
        "api",
        "serve",
        "--cards",
        str(args.cards),
        "--start",
        f"{first_day}",
        "--end",
        f"{args.day + timedelta(days=2)}",
    ]
    clock = time.monotonic()
    children: list[subprocess.Popen[bytes]] = []
    windows: list[BatchWindow] = []
    code: int | None = None
    with MemorySampler(args.sample_seconds, clock) as sampler:
        try:
            server = start(
                [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port)],
                env,
                logs / "prefect.log",
            )
            children.append(server)
            api = start(
                [*simulator, "--port", str(api_port), *fault_flags(args.fault_rate, 1, args.malformed_rate)],
                env,
                logs / "api.log",
            )
            live = start(
                [
                    *simulator,
                    "--port",
                    str(live_port),
                    "--live",
                    "--rate",
                    str(args.rate),
                    *fault_flags(args.fault_rate, 2, None),
                ],
                env,
                logs / "live-api.log",
            )
            children += [api, live]
            for name, proc in (("prefect_server", server), ("simulator", api), ("live_simulator", live)):
                sampler.track(name, proc.pid)
            wait_http(f"{prefect_url}/health", "the Prefect server")
            for port in (api_port, live_port):
                wait_http(f"http://127.0.0.1:{port}/openapi.json", "the simulator")
            subprocess.run(
                [PREFECT, "global-concurrency-limit", "create", LAKE_WRITER_LIMIT, "--limit", "1"],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            stream_proc = subprocess.Popen(
                [CARDLAKE, "stream"],
                cwd=ROOT,
                env=stream_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            children.append(stream_proc)
            assert stream_proc.stdout is not None
            reader = StreamReader(stream_proc.stdout, logs / "stream.log", clock)
            sampler.track("stream", stream_proc.pid)
            print(
                f"soak: Prefect, both simulators and the stream started in {time.monotonic() - clock:.0f} s", flush=True
            )
            window_ends: list[float] = []
            start_of_day = datetime(args.day.year, args.day.month, args.day.day, tzinfo=UTC)
            for hour in range(args.hours):
                if args.max_wall_minutes and time.monotonic() - clock > args.max_wall_minutes * 60:
                    print(f"soak: wall budget of {args.max_wall_minutes:g} min spent after {hour} window(s)")
                    break
                if stream_proc.poll() is not None:
                    print(f"soak: the stream exited ({stream_proc.returncode}) after {hour} window(s); stopping")
                    break
                window = run_window(
                    batch_env, batch_home, prefect_url, start_of_day + timedelta(hours=hour), sampler, logs
                )
                windows.append(window)
                window_ends.append(time.monotonic() - clock)
                lags = [b.lag_s for _, b in reader.batches[-5:] if b.lag_s is not None]
                print(
                    f"soak: window {window.start} in {window.wall_s:.0f} s, "
                    f"{'reconciles' if not window.failures else 'FAILS: ' + '; '.join(window.failures)}; "
                    f"stream {len(reader.batches)} micro-batch(es), recent lag {lags[-1] if lags else '-'} s",
                    flush=True,
                )
            code = stop(stream_proc, signal.SIGINT, grace_s=180)
            sampler.untrack("stream")
            reader.join()
        finally:
            for proc in reversed(children):
                stop(proc)
    wall_s = time.monotonic() - clock
    records, ids = landed_transaction_ids(stream_home / "landing")
    committed = committed_manifests(stream_home / "lake" / "_checkpoints" / "stream")
    committed_records, committed_ids = landed_transaction_ids(stream_home / "landing", committed)
    tables, silver_ids = stream_tables(stream_home / "lake")
    stream_check = {
        "exit_code": code,
        "last_line": reader.lines[-2 if len(reader.lines) > 1 else -1] if reader.lines else "",
        "landed_records": records,
        "landed_distinct": len(ids),
        "committed_manifests": len(committed),
        "committed_records": committed_records,
        "committed_distinct": len(committed_ids),
        **tables,
        "merged_by_the_cut_short_micro_batch": len(silver_ids - committed_ids),
        "reconciles": stream_reconciles(ids, committed_ids, silver_ids, tables["quarantined_transactions"]),
    }
    report = summarise(args, command_line, info, windows, reader, sampler, stream_check, wall_s)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, indent=2) + "\n")
    plot(FIGURE, sampler, reader.batches, window_ends)
    growth = report["memory"]["stream_growth"]
    print(
        f"soak: {len(windows)} window(s), all reconcile: {report['batch']['all_reconcile']}; stream "
        f"{len(reader.batches)} micro-batch(es), lag p95 {report['stream']['lag_s']['p95']} s, reconciles: "
        f"{stream_check['reconciles']}; stream memory: {growth['verdict']}; written to bench/results/soak.json"
    )
    failures = [f for w in windows for f in w.failures]
    if code not in (0, None):
        failures.append(f"stream: exited {code}: {stream_check['last_line']}")
    if not stream_check["reconciles"]:
        failures.append(f"stream: {json.dumps(stream_check)}")
    if failures:
        print("soak FAILED:\n" + "\n".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
