"""Whole-chain benchmark (issue #20): extract, every Spark job and the warehouse load, as `cardlake run` runs them.

    .venv/bin/python bench/bench_pipeline.py [--cards 1000 --start 2024-01-01 --end 2026-01-01 --chunk week]
                                             [--runner local-submit] [--daily-runners local-submit local-session]
                                             [--workdir $TMPDIR/cardlake-bench-pipeline]

Starts the card API simulator (`cardlake api serve`, real HTTP on loopback), then:
  1. backfill: one `cardlake run --start --end` per chunk (a week by default) over [start, end - 1 day), into one
     lake and one DuckDB warehouse, each a cold child process as a user or a scheduler starts it;
  2. the last day as a daily run into a copy of that full lake, once per runner of --daily-runners;
  3. the same day into an empty lake, once per runner;
  4. the daily run into another copy of the full lake twice in one process on the in-process runner
     (`local-session`), the second forced run meeting a warm SparkSession: what a long-lived process would save;
  5. the backfill's whole range as one run into an empty lake: every stage once, the single-run times the
     weekly backfill is reported against.
Each run's stage seconds come from what the run itself recorded: the Spark jobs' `<lake>/_runs/<run>/<job>.json`
(`duration_s`), and Prefect's own records of the `extract`, `transform` and `load` subflows (start and end times
in the run's Prefect database). `spark_startup` is the transform subflow minus its jobs: the JVM's start, the
session, the application's end and the fingerprint of the landed manifests. `outside_stages` is the wall time
outside extract, transform and load: the interpreter, Prefect's temporary API server, the warehouse summary and
the report. Peak memory is the sum of
resident memory over the run's process tree (the CLI, spark-submit's JVM, Python workers), sampled once a second.
Writes bench/results/pipeline.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from proc_tree import PeakTreeRss  # noqa: E402

from contracts.jobs import JOBS  # noqa: E402
from contracts.lake import job_result_uri  # noqa: E402
from contracts.landing import Window  # noqa: E402
from contracts.results import JobResult  # noqa: E402

VENV_BIN = Path(sys.executable).parent
GOAL_DAILY_WALL_S = 30.0
GOAL_DAILY_FULL_VS_EMPTY = 1.2
GOAL_MAX_STAGE_SHARE = 0.40
LOCAL_RUNNERS = ("local-submit", "local-session")
SUBFLOW_STAGES = ("extract", "transform", "load")  # the pipeline's subflows, as Prefect names them


@dataclass
class RunMeasure:
    """One `cardlake run`: its window, wall time, peak memory and where the time went."""

    name: str
    window: str
    runner: str
    seconds: float = 0.0
    tree_rss_peak_mb: float = 0.0
    load_average_at_start: float = 0.0
    load_average_at_end: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


def run_sampled(command: list[str], env: dict[str, str], log_path: Path) -> tuple[float, float]:
    """Run a child to completion: (wall seconds, peak tree RSS in MB sampled once a second). Exits on failure."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        with PeakTreeRss(proc.pid) as memory:
            returncode = proc.wait()
            seconds = time.monotonic() - started
    if returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-20:]
        raise SystemExit(f"{' '.join(command[1:4])} failed (exit {returncode}); log {log_path}:\n" + "\n".join(tail))
    return round(seconds, 2), round(memory.peak_kb / 1024, 1)


def prefect_timings(prefect_db: Path, since: datetime) -> dict[str, float]:
    """Seconds of the pipeline's subflows started `since`, from Prefect's records of its flow runs.

    Flow runs only: Prefect records task runs through its event stream, which the temporary API server of a
    `cardlake run` may not have written when the process ends.
    """
    con = sqlite3.connect(f"file:{prefect_db}?mode=ro", uri=True)
    try:
        flows = con.execute(
            "SELECT f.name, r.start_time, r.end_time FROM flow_run r JOIN flow f ON f.id = r.flow_id"
            " WHERE r.start_time IS NOT NULL AND r.end_time IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, float] = {}
    for name, start, end in flows:
        if name in SUBFLOW_STAGES and _when(start) >= since:
            out[name] = round(out.get(name, 0.0) + (_when(end) - _when(start)).total_seconds(), 2)
    return out


def _when(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def job_seconds(lake: Path, run_id: str) -> tuple[dict[str, float], dict[str, int]]:
    """Each Spark job's own duration, and rows written per job, from the results the run wrote."""
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    for job in JOBS:
        result = JobResult.from_json(Path(job_result_uri(str(lake), run_id, job)).read_text())
        seconds[job] = result.duration_s
        rows[job] = sum(t.written for t in result.tables)
    return seconds, rows


def stage_breakdown(wall: float, prefect: dict[str, float], jobs: dict[str, float]) -> dict[str, float]:
    """extract, each Spark job, Spark start-up, load, and the rest of the wall time."""
    stages = {"extract": prefect.get("extract", 0.0), **jobs}
    stages["spark_startup"] = round(max(0.0, prefect.get("transform", 0.0) - sum(jobs.values())), 2)
    stages["load"] = prefect.get("load", 0.0)
    stages["outside_stages"] = round(max(0.0, wall - sum(prefect.get(s, 0.0) for s in SUBFLOW_STAGES)), 2)
    return stages


def run_env(home: Path, api_url: str, runner: str, pan_key: str) -> dict[str, str]:
    """What `make run` sets, pointed at one benchmark home; a throwaway PAN key in the child's environment only."""
    return {
        **os.environ,
        "CARDLAKE_HOME": str(home),
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "CARDLAKE_API_BASE_URL": api_url,
        "CARDLAKE_SPARK_RUNNER": runner,
        "CARDLAKE_PAN_TOKEN_KEY": pan_key,
    }


def measure_run(name: str, home: Path, window: Window, runner: str, api_url: str, pan_key: str) -> RunMeasure:
    """`cardlake run` for one window into `home`, cold, as a user starts it."""
    command = [
        str(VENV_BIN / "cardlake"), "run", "--start", window.start.isoformat(), "--end", window.end.isoformat(),
        "--no-summary",
    ]  # fmt: skip
    measure = RunMeasure(name, window.label, runner, load_average_at_start=round(os.getloadavg()[0], 2))
    since = datetime.now(UTC) - timedelta(seconds=1)
    wall, peak = run_sampled(command, run_env(home, api_url, runner, pan_key), home / "logs" / f"{name}.log")
    jobs, rows = job_seconds(home / "lake", window.label)
    measure.seconds, measure.tree_rss_peak_mb = wall, peak
    measure.load_average_at_end = round(os.getloadavg()[0], 2)
    measure.stages = stage_breakdown(wall, prefect_timings(home / "prefect" / "prefect.db", since), jobs)
    measure.rows = rows
    return measure


WARM_CHILD = "--warm-child"


def warm_child(argv: list[str]) -> None:
    """In this one process: the pipeline for a window, then again (forced), on the session the first left warm.

    What a long-lived process (a worker, a serve loop) would pay per run with the in-process runner.
    """
    from flows.pipeline import pipeline

    start, end, out = datetime.fromisoformat(argv[0]), datetime.fromisoformat(argv[1]), Path(argv[2])
    seconds = []
    for _ in range(2):
        clock = time.monotonic()
        pipeline(start=start, end=end, force=True)
        seconds.append(round(time.monotonic() - clock, 2))
    out.write_text(json.dumps({"first_s": seconds[0], "warm_s": seconds[1]}))


def measure_warm(home: Path, window: Window, api_url: str, pan_key: str) -> dict[str, Any]:
    """Two forced runs of the day in one process on the in-process runner: the second meets a warm session."""
    out = home / "warm.json"
    command = [sys.executable, str(Path(__file__).resolve()), WARM_CHILD, window.start.isoformat(),
               window.end.isoformat(), str(out)]  # fmt: skip
    load_before = round(os.getloadavg()[0], 2)
    wall, peak = run_sampled(command, run_env(home, api_url, "local-session", pan_key), home / "logs" / "warm.log")
    return {**json.loads(out.read_text()), "process_wall_s": wall, "tree_rss_peak_mb": peak,
            "load_average_at_start": load_before}  # fmt: skip


def chunk_windows(start: date, end: date, days: int) -> list[Window]:
    """[start, end) in chunks of `days` (the last one shorter)."""
    out, cursor = [], _midnight(start)
    stop = _midnight(end)
    while cursor < stop:
        nxt = min(cursor + timedelta(days=days), stop)
        out.append(Window(cursor, nxt))
        cursor = nxt
    return out


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_chunk(value: str) -> int:
    """`week`, `day`, or a number of days."""
    named = {"day": 1, "week": 7}
    if value in named:
        return named[value]
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--chunk: week, day or a number of days, not {value!r}") from None
    if days < 1:
        raise argparse.ArgumentTypeError("--chunk: at least one day")
    return days


def stage_totals(runs: list[RunMeasure]) -> dict[str, dict[str, float]]:
    """Each stage's seconds summed over the runs, and its share of their summed wall time."""
    wall = sum(r.seconds for r in runs)
    totals: dict[str, float] = {}
    for run in runs:
        for stage, seconds in run.stages.items():
            totals[stage] = round(totals.get(stage, 0.0) + seconds, 2)
    return {stage: {"seconds": s, "share": round(s / wall, 3) if wall else 0.0} for stage, s in totals.items()}


@dataclass(frozen=True)
class Simulator:
    url: str
    proc: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(cards: int, start: date, end: date, log_path: Path) -> Simulator:
    port = free_port()
    command = [
        str(VENV_BIN / "cardlake"), "api", "serve", "--port", str(port), "--cards", str(cards),
        "--start", start.isoformat(), "--end", end.isoformat(),
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2).read()
            return Simulator(url, proc)
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit(f"the simulator did not answer at {url}; log {log_path}") from None
            time.sleep(0.5)


def stop_simulator(sim: Simulator) -> None:
    sim.proc.send_signal(signal.SIGINT)
    try:
        sim.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()


def daily_goals(full: RunMeasure, empty: RunMeasure) -> dict[str, Any]:
    ratio = full.seconds / empty.seconds
    return {
        "daily_into_full_s": full.seconds,
        "daily_into_empty_s": empty.seconds,
        "full_vs_empty": round(ratio, 2),
        "wall_goal_s": GOAL_DAILY_WALL_S,
        "wall_met": full.seconds <= GOAL_DAILY_WALL_S,
        "ratio_goal": GOAL_DAILY_FULL_VS_EMPTY,
        "ratio_met": ratio <= GOAL_DAILY_FULL_VS_EMPTY,
    }


def build_report(
    args: argparse.Namespace,
    command_line: str,
    backfill: list[RunMeasure],
    single: RunMeasure,
    daily: dict[str, dict[str, RunMeasure]],
    started_load: list[float],
) -> dict[str, Any]:
    totals = stage_totals(backfill)
    work_stages = {s: t for s, t in totals.items() if s in ("extract", *JOBS, "load")}
    top_stage, top = max(work_stages.items(), key=lambda kv: kv[1]["share"])
    backfill_wall = round(sum(r.seconds for r in backfill), 2)
    first = backfill[0] if backfill else None
    size = {
        "cards": args.cards,
        "start": args.start.isoformat(),
        "end": args.end.isoformat(),
        "chunk_days": args.chunk,
        "chunks": len(backfill),
        "daily_day": daily_window(args).label,
    }
    load_seen = [r.load_average_at_start for r in backfill] + [
        m.load_average_at_start for by_lake in daily.values() for m in by_lake.values()
    ]
    return {
        "benchmark": "pipeline",
        "command": ".venv/bin/python " + command_line.strip(),
        "size": size,
        "size_note": size_note(size),
        "runner": args.runner,
        "machine": {
            "nproc": os.cpu_count(),
            "load_average_at_start": started_load,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "load_average_per_run": {"min": min(load_seen), "max": max(load_seen)},
        },
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "backfill": {
            "wall_s": backfill_wall,
            "rows_written": {job: sum(r.rows.get(job, 0) for r in backfill) for job in JOBS},
            "stage_totals": totals,
            "largest_work_stage": {
                "stage": top_stage,
                "share": top["share"],
                "goal": GOAL_MAX_STAGE_SHARE,
                "met": top["share"] <= GOAL_MAX_STAGE_SHARE,
            },
            # The sum of the stages' single-run times: the backfill's whole range as one run, every stage once.
            "single_run": asdict(single),
            "vs_single_run": round(backfill_wall / single.seconds, 2),
            # What the backfill would cost if a chunk's cost did not grow with the lake.
            "first_chunk_times_chunks_s": round(first.seconds * len(backfill), 2) if first else 0.0,
            "per_chunk": [asdict(r) for r in backfill],
        },
        "daily": {runner: {lake: asdict(m) for lake, m in by_lake.items()} for runner, by_lake in daily.items()},
        "goals": {runner: daily_goals(by_lake["full"], by_lake["empty"]) for runner, by_lake in daily.items()},
    }


ISSUE_SIZE = {"cards": 1000, "start": "2024-01-01", "end": "2026-01-01", "chunk_days": 7}


def size_note(size: dict[str, Any]) -> str:
    """Whether this run is the issue's size (1,000 cards over two years, weekly), or smaller and so not its goal's."""
    if all(size[key] == value for key, value in ISSUE_SIZE.items()):
        return "the issue's size"
    return (
        "reduced size, not the issue's 1,000 cards x 2024-01-01..2026-01-01 in weekly chunks (hours on 2 cores): "
        "the daily-into-full-lake figures say little about a two-year lake"
    )


def daily_window(args: argparse.Namespace) -> Window:
    end = _midnight(args.end)
    return Window(end - timedelta(days=1), end)


def print_table(report: dict[str, Any]) -> None:
    size = report["size"]
    print(f"\n{report['command']}")
    print(f"{size['cards']} cards, {size['start']}..{size['end']}, {size['chunks']} chunks of {size['chunk_days']} d")
    print(f"{'stage':<18}{'seconds':>10}{'share':>8}")
    for stage, t in report["backfill"]["stage_totals"].items():
        print(f"{stage:<18}{t['seconds']:>10.1f}{t['share']:>8.1%}")
    print(f"{'backfill wall':<18}{report['backfill']['wall_s']:>10.1f}")
    single = report["backfill"]["single_run"]["seconds"]
    print(f"the same range as one run: {single} s (backfill {report['backfill']['vs_single_run']}x)")
    for runner, by_lake in report["daily"].items():
        for lake, m in by_lake.items():
            print(f"daily into {lake} lake ({runner}): {m['seconds']} s, peak {m['tree_rss_peak_mb']:.0f} MB")
    for runner, g in report["goals"].items():
        print(
            f"{runner}: daily {g['daily_into_full_s']} s (goal <= {g['wall_goal_s']} s, "
            f"{'MET' if g['wall_met'] else 'MISSED'}), full/empty {g['full_vs_empty']}x "
            f"(goal <= {g['ratio_goal']}x, {'MET' if g['ratio_met'] else 'MISSED'})"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 1, 1), help="exclusive; last day = daily")
    parser.add_argument("--chunk", type=parse_chunk, default=7, help="backfill chunk: week (default), day or N days")
    parser.add_argument("--runner", choices=LOCAL_RUNNERS, default="local-submit", help="Spark runner of the backfill")
    parser.add_argument(
        "--daily-runners", nargs="+", choices=LOCAL_RUNNERS, default=list(LOCAL_RUNNERS), help="runners of the daily"
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cardlake-bench-pipeline")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pipeline.json")
    args = parser.parse_args(argv)
    if args.end - args.start < timedelta(days=2):
        parser.error("--start..--end needs at least two days: a backfill and the daily day")
    args.workdir = args.workdir.resolve()
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command_line = "bench/bench_pipeline.py " + " ".join(sys.argv[1:] if argv is None else argv)
    started_load = [round(x, 2) for x in os.getloadavg()]
    shutil.rmtree(args.workdir, ignore_errors=True)
    full_home = args.workdir / "full"
    pan_key = secrets.token_hex(32)
    day = daily_window(args)
    sim = start_simulator(args.cards, args.start, args.end, args.workdir / "logs" / "api.log")
    try:
        backfill: list[RunMeasure] = []
        for number, window in enumerate(chunk_windows(args.start, args.end - timedelta(days=1), args.chunk), 1):
            backfill.append(measure_run(f"chunk-{number:03d}", full_home, window, args.runner, sim.url, pan_key))
            print(f"chunk {window.label}: {backfill[-1].seconds} s {backfill[-1].stages}", flush=True)
        daily: dict[str, dict[str, RunMeasure]] = {}
        for runner in args.daily_runners:
            full_copy, empty = args.workdir / f"daily-full-{runner}", args.workdir / f"daily-empty-{runner}"
            shutil.copytree(full_home, full_copy)  # every runner meets the same full lake, before the day is in it
            daily[runner] = {
                "full": measure_run(f"daily-full-{runner}", full_copy, day, runner, sim.url, pan_key),
                "empty": measure_run(f"daily-empty-{runner}", empty, day, runner, sim.url, pan_key),
            }
            for lake, m in daily[runner].items():
                print(f"daily into {lake} lake ({runner}): {m.seconds} s {m.stages}", flush=True)
        warm_home = args.workdir / "daily-full-warm"
        shutil.copytree(full_home, warm_home)
        warm = measure_warm(warm_home, day, sim.url, pan_key)
        print(f"daily into full lake, twice in one process (local-session): {warm}", flush=True)
        whole = Window(_midnight(args.start), day.start)
        single = measure_run("single-run", args.workdir / "single", whole, args.runner, sim.url, pan_key)
        print(f"the backfill's range as one run: {single.seconds} s {single.stages}", flush=True)
    finally:
        stop_simulator(sim)
    report = build_report(args, command_line, backfill, single, daily, started_load)
    report["daily_in_one_long_lived_process"] = warm
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.out}")
    return report


if __name__ == "__main__":
    if sys.argv[1:2] == [WARM_CHILD]:
        warm_child(sys.argv[2:])
    else:
        main()
