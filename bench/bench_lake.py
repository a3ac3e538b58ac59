"""Lake benchmark (issue #5): silver + gold on local Spark beside a DuckDB reference, and a daily batch.

    .venv/bin/python bench/bench_lake.py [--cards 1000 --start 2024-01-01 --end 2026-01-01] [--rounds 3]
                                         [--workdir $TMPDIR/cardlake-bench] [--scale small]

Builds (once, cached in the workdir) a landing zone of the simulator's transactions, rewards and PLU rates in
the contract layout (bench/lake_landing.py), then measures, each as a cold child process:
  1. the DuckDB reference (bench/lake_duckdb_reference.py) over the range minus its last day;
  2. `spark-submit spark_jobs/main.py --job silver,gold` on the same pages, into an empty lake;
  3. the last day as a one-day batch into the lake of (1);
  4. the same one-day batch into an empty lake.
(1) and (2) run `--rounds` times, interleaved and alternating which goes first, because this machine's speed
drifts by up to 20 % between runs; the goal compares their medians, and every round is reported.
Goals: (2) within 3x of (1); (3) within 1.5x of (4). Peak RSS is the child's ru_maxrss (the largest single
process of its tree: the driver JVM or the Python driver with delta-rs) and a sampled sum over the tree.
Writes bench/results/lake.json (full scale) or <workdir>/lake.json (--scale small) and prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from lake_landing import LandingSpec, build_landing  # noqa: E402
from proc_tree import PeakTreeRss  # noqa: E402

from contracts.results import JobResult  # noqa: E402

GOAL_SPARK_VS_DUCKDB = 3.0
GOAL_DAILY_VS_EMPTY = 1.5
VENV_BIN = Path(sys.executable).parent


@dataclass
class Measurement:
    name: str
    command: list[str]
    seconds: float = 0.0
    max_rss_mb: float = 0.0
    tree_rss_peak_mb: float = 0.0
    load_average_at_start: float = 0.0
    returncode: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def measure(name: str, command: list[str], env: dict[str, str], log_path: Path) -> Measurement:
    """Run `command` as a child process; wall time, its ru_maxrss (wait4) and a sampled tree RSS peak."""
    result = Measurement(name, command, load_average_at_start=round(os.getloadavg()[0], 2))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        with PeakTreeRss(proc.pid) as memory:
            _, status, usage = os.wait4(proc.pid, 0)
            result.seconds = round(time.monotonic() - started, 2)
        proc.returncode = os.waitstatus_to_exitcode(status)
    result.returncode = proc.returncode
    result.max_rss_mb = round(usage.ru_maxrss / 1024, 1)
    result.tree_rss_peak_mb = round(memory.peak_kb / 1024, 1)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-30:]
        raise SystemExit(f"{name} failed (exit {proc.returncode}); log {log_path}:\n" + "\n".join(tail))
    return result


def _iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def spark_command(landing: Path, lake: Path, start: datetime, end: datetime, run_id: str, memory: str) -> list[str]:
    """Exactly the spark-submit line the pipeline's local runner builds (same Spark settings), plus memory."""
    from pydantic import SecretStr

    from cardlake.config import PanKey
    from cardlake.settings import Settings
    from cardlake.spark_runner.local import LocalSubmitRunner
    from contracts.jobs import JobRequest
    from contracts.landing import Window

    settings = Settings()
    key = PanKey(value=SecretStr("unused: the command carries no key"), is_local_default=False)
    runner = LocalSubmitRunner(key, settings.logs_dir, local=settings.local_spark,
                               spark_conf={"spark.driver.memory": memory})  # fmt: skip
    request = JobRequest(("silver", "gold"), str(landing), str(lake), Window(start, end), run_id)
    return runner.command(request)


def run_spark(name: str, landing: Path, lake: Path, start: datetime, end: datetime, env: dict, args) -> Measurement:
    shutil.rmtree(lake, ignore_errors=True) if name != "spark_daily_into_full_lake" else None
    run_id = f"bench-{name}"
    command = spark_command(landing, lake, start, end, run_id, args.driver_memory)
    log = args.workdir / "logs" / f"{name}.log"
    m = measure(name, command, env, log)
    m.details["profile"] = spark_log_profile(log)
    in_stages = sum(m.details["profile"]["spark_stage_seconds"].values())
    m.details["profile"]["outside_spark_stages_s"] = round(m.seconds - in_stages, 2)
    for job in ("silver", "gold"):
        result = JobResult.from_json((lake / "_runs" / run_id / f"{job}.json").read_text())
        m.details[f"{job}_job_s"] = result.duration_s
        m.details[f"{job}_metrics"] = {t.table: dataclasses.asdict(t) for t in result.tables}
    return m


_STAGE_LINE = re.compile(r"(?:ResultStage|ShuffleMapStage) \d+ \((\w+) at (\S+)\) finished in ([0-9.]+) s")


def spark_log_profile(log_path: Path) -> dict[str, Any]:
    """Where a run's time went, from the driver log (the Spark UI is off): Spark stages by action and call site.

    `parquet` jobs are the delta-rs engine's Parquet writes, staged or in place (dedup window + Parquet);
    `first`/`count` are the reconciliation actions; the remainder (outside_spark_stages_s) is JVM start,
    planning, delta-rs commits and merges, and Python.
    """
    by_action: dict[str, float] = {}
    stages = 0
    for action, site, took in _STAGE_LINE.findall(log_path.read_text(errors="replace")):
        label = f"{action} at {site.rsplit('/', 1)[-1]}" if site.endswith(tuple("0123456789")) else action
        by_action[label] = round(by_action.get(label, 0.0) + float(took), 2)
        stages += 1
    return {"spark_stages": stages, "spark_stage_seconds": dict(sorted(by_action.items(), key=lambda kv: -kv[1]))}


def table_rows(uri: Path) -> int:
    from deltalake import DeltaTable

    return DeltaTable(str(uri)).to_pyarrow_dataset().count_rows() if DeltaTable.is_deltatable(str(uri)) else 0


def spark_counts(lake: Path, silver: dict) -> dict[str, int]:
    tx, rewards, rates = silver["silver/transactions"], silver["silver/rewards"], silver["silver/plu_rates"]
    return {
        "transactions_read": tx["read"],
        "transactions_accepted": tx["accepted"],
        "transactions_quarantined": tx["rejected"],
        "rewards_accepted": rewards["accepted"],
        "rewards_quarantined": rewards["rejected"],
        "plu_rates_accepted": rates["accepted"],
        "distinct_transactions": table_rows(lake / "silver" / "transactions"),
        "distinct_rewards": table_rows(lake / "silver" / "rewards"),
        "quarantine_rows": table_rows(lake / "silver" / "quarantine"),
        "cards": table_rows(lake / "silver" / "cards"),
        "merchants": table_rows(lake / "silver" / "merchants"),
        "reward_transactions": table_rows(lake / "gold" / "reward_transactions"),
    }


def fingerprints(lake: Path, duckdb_out: Path) -> dict[str, dict[str, Any]]:
    """Content checks beyond counts: the same card tokens (HMAC), money totals and quarantine reasons."""
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    for layer, name in (("silver", "cards"), ("silver", "transactions"), ("silver", "quarantine"),
                        ("gold", "reward_transactions")):  # fmt: skip
        con.register(f"s_{name}", DeltaTable(str(lake / layer / name)).to_pyarrow_dataset())
        con.execute(f"CREATE VIEW d_{name} AS SELECT * FROM read_parquet('{duckdb_out / layer / name}/**/*.parquet')")
    queries = {
        "card_tokens_md5": "SELECT md5(string_agg(card_token, ',' ORDER BY card_token)) FROM {}_cards",
        "transactions_amount_gbp": "SELECT sum(amount_gbp)::VARCHAR FROM {}_transactions",
        "reward_amount_gbp": "SELECT sum(reward_amount_gbp)::VARCHAR FROM {}_reward_transactions",
        "rewards_without_transaction": "SELECT count(*) FROM {}_reward_transactions WHERE NOT transaction_found",
        "reward_amount_minor": "SELECT sum(reward_amount_minor)::VARCHAR FROM {}_reward_transactions",
        "reward_links": "SELECT string_agg(transaction_link || '/' || coalesce(unresolved_reason, '-') || '=' || n, ' '"
        " ORDER BY transaction_link, unresolved_reason) FROM (SELECT transaction_link, unresolved_reason, count(*) AS n"
        " FROM {}_reward_transactions GROUP BY ALL)",
        "statement_kinds": "SELECT string_agg(statement_kind || '=' || n, ' ' ORDER BY statement_kind) "
        "FROM (SELECT statement_kind, count(*) AS n FROM {}_transactions GROUP BY ALL)",
        "quarantine_reasons": "SELECT string_agg(entity || '/' || reason || '=' || n, ' ' ORDER BY entity, reason) "
        "FROM (SELECT entity, reason, count(*) AS n FROM {}_quarantine GROUP BY ALL)",
    }
    out = {}
    for key, sql in queries.items():
        spark_value, duck_value = (con.execute(sql.format(side)).fetchone()[0] for side in ("s", "d"))
        out[key] = {"spark": spark_value, "duckdb": duck_value, "equal": spark_value == duck_value}
    return out


def duckdb_counts(m: dict) -> dict[str, int]:
    return {
        "transactions_read": m["transactions"]["records_read"],
        "transactions_accepted": m["transactions"]["accepted"],
        "transactions_quarantined": m["transactions"]["quarantined"],
        "rewards_accepted": m["rewards"]["accepted"],
        "rewards_quarantined": m["rewards"]["quarantined"],
        "plu_rates_accepted": m["plu_rates"]["accepted"],
        "distinct_transactions": m["transactions"]["rows"],
        "distinct_rewards": m["rewards"]["rows"],
        "quarantine_rows": m["quarantine_rows"],
        "cards": m["cards"]["rows"],
        "merchants": m["merchants"]["rows"],
        "reward_transactions": m["reward_transactions"]["rows"],
    }


def run_duckdb(landing: Path, out: Path, start: datetime, end: datetime, env: dict, args) -> Measurement:
    shutil.rmtree(out, ignore_errors=True)
    env = {**env, "CARDLAKE_DUCKDB_MEMORY": args.driver_memory.upper().rstrip("B") + "B"}
    command = [
        sys.executable, str(HERE / "lake_duckdb_reference.py"), "--landing-uri", str(landing), "--out", str(out),
        "--window-start", _iso(start), "--window-end", _iso(end),
    ]  # fmt: skip
    log = args.workdir / "logs" / "duckdb_full.log"
    m = measure("duckdb_full", command, env, log)
    m.details["metrics"] = json.loads(log.read_text().strip().splitlines()[-1])
    return m


def portable(command: list[str], workdir: Path) -> str:
    """The command as a reader re-runs it: paths relative to the repository, the work folder named."""
    return " ".join(command).replace(str(workdir), "<workdir>").replace(f"{ROOT}/", "")


def median_run(measurements: list[Measurement]) -> Measurement:
    """The run with the median time (the lower middle one for an even count)."""
    return sorted(measurements, key=lambda m: m.seconds)[(len(measurements) - 1) // 2]


def build_report(
    args: argparse.Namespace,
    command_line: str,
    info: dict,
    landing: dict,
    landing_s: float,
    runs: dict[str, Measurement],
    rounds: list[dict[str, Measurement]],
    check: dict[str, dict],
) -> dict[str, Any]:
    counts = landing["counts"]
    full_records = sum(c["records"] - c["daily_records"] for c in counts.values())
    full_tx = counts["transactions"]["records"] - counts["transactions"]["daily_records"]
    daily_records = sum(c["daily_records"] for c in counts.values())
    rows: dict[str, Any] = {}
    for name, m in runs.items():
        records = daily_records if "daily" in name else full_records
        tx = counts["transactions"]["daily_records"] if "daily" in name else full_tx
        rows[name] = {
            "seconds": m.seconds,
            "records": records,
            "transactions": tx,
            "records_per_s": round(records / m.seconds),
            "transactions_per_s": round(tx / m.seconds),
            "max_rss_mb": m.max_rss_mb,
            "tree_rss_peak_mb": m.tree_rss_peak_mb,
            "load_average_at_start": m.load_average_at_start,
            "command": portable(m.command, args.workdir),
            **{k: v for k, v in m.details.items() if k.endswith("_job_s") or k == "profile"},
        }
    rows["duckdb_full"]["step_seconds"] = runs["duckdb_full"].details["metrics"]["timings_s"]
    spark_ratio = runs["spark_full"].seconds / runs["duckdb_full"].seconds
    daily_ratio = runs["spark_daily_into_full_lake"].seconds / runs["spark_daily_into_empty_lake"].seconds
    round_rows = [
        {
            "first": next(iter(r)),
            "duckdb_full_s": r["duckdb_full"].seconds,
            "spark_full_s": r["spark_full"].seconds,
            "ratio": round(r["spark_full"].seconds / r["duckdb_full"].seconds, 2),
        }
        for r in rounds
    ]
    measured = [*runs.values(), *(m for r in rounds for m in r.values())]
    loaded = max(m.load_average_at_start for m in measured) > (info["nproc"] or 1)
    return {
        "benchmark": "lake",
        "command": ".venv/bin/python " + command_line.strip(),
        "machine": info,
        "busy_machine": loaded,
        "note": "load average above nproc during a run: the times are upper bounds" if loaded else "quiet machine",
        "landing": {**landing, "build_seconds": landing_s},
        "runs": rows,
        "rounds": round_rows,
        "goals": {
            "spark_vs_duckdb": {
                "ratio": round(spark_ratio, 2),
                "goal": GOAL_SPARK_VS_DUCKDB,
                "met": spark_ratio <= GOAL_SPARK_VS_DUCKDB,
                "method": f"median Spark run / median DuckDB run over {len(rounds)} interleaved rounds",
                "round_ratios": [r["ratio"] for r in round_rows],
            },
            "daily_into_full_vs_empty": {
                "ratio": round(daily_ratio, 2),
                "goal": GOAL_DAILY_VS_EMPTY,
                "met": daily_ratio <= GOAL_DAILY_VS_EMPTY,
            },
        },
        "spark_vs_duckdb_counts": {"all_equal": all(c["equal"] for c in check.values()), "counts": check},
        "spark_metrics": {
            name: m.details.get("silver_metrics") for name, m in runs.items() if name.startswith("spark")
        },
        "duckdb_metrics": runs["duckdb_full"].details["metrics"],
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"\n{report['command']}  (nproc {report['machine']['nproc']}, {report['note']})")
    print(f"{'run':<30}{'seconds':>9}{'records':>11}{'rec/s':>9}{'maxRSS MB':>11}{'tree MB':>9}{'load':>7}")
    for name, r in report["runs"].items():
        print(
            f"{name:<30}{r['seconds']:>9.1f}{r['records']:>11}{r['records_per_s']:>9}"
            f"{r['max_rss_mb']:>11.0f}{r['tree_rss_peak_mb']:>9.0f}{r['load_average_at_start']:>7.1f}"
        )
    print("full runs by round (" + report["goals"]["spark_vs_duckdb"]["method"] + "):")
    for i, r in enumerate(report["rounds"], 1):
        duck, spark = r["duckdb_full_s"], r["spark_full_s"]
        print(f"  {i}. {r['first']:<12} first: DuckDB {duck:6.1f} s, Spark {spark:6.1f} s, {r['ratio']}x")
    for goal, g in report["goals"].items():
        print(f"{goal}: {g['ratio']}x (goal <= {g['goal']}x) {'MET' if g['met'] else 'MISSED'}")
    print("Spark vs DuckDB counts on the same pages:")
    for key, c in report["spark_vs_duckdb_counts"]["counts"].items():
        values = f"{c['spark']:>10}{c['duckdb']:>10}" if isinstance(c["spark"], int) else f"  {c['spark']}"
        print(f"  {key:<28}{values}  {'ok' if c['equal'] else 'DIFFERENT: duckdb ' + str(c['duckdb'])}")


def machine() -> dict[str, Any]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(int(meminfo["MemTotal"].split()[0]) / 1024**2, 1),
        "cpu": next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in ln
            ),
            platform.processor(),
        ),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cardlake-bench")
    parser.add_argument("--scale", choices=("full", "small"), default="full", help="small: 100 cards x 2 months")
    parser.add_argument("--malformed-rate", type=float, default=0.001, help="share of extra malformed records")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved DuckDB/Spark full runs; medians compared")
    args = parser.parse_args(argv)
    if args.scale == "small":
        args.cards, args.end = (
            100,
            date(args.start.year + (args.start.month + 1) // 12, (args.start.month + 1) % 12 + 1, 1),
        )
        args.workdir = args.workdir.with_name(args.workdir.name + "-small")
    args.workdir = args.workdir.resolve()
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command_line = "bench/bench_lake.py " + " ".join(sys.argv[1:] if argv is None else argv)
    info = machine()
    spec = LandingSpec(args.cards, args.start, args.end, args.malformed_rate)
    clock = time.monotonic()
    landing_dir = args.workdir / "landing"
    landing = build_landing(landing_dir, spec)
    landing_s = round(time.monotonic() - clock, 1)
    print(f"landing zone ready in {landing_s} s: {json.dumps(landing['counts'])}", flush=True)

    start = datetime(args.start.year, args.start.month, args.start.day, tzinfo=UTC)
    daily, end = spec.daily_start, datetime(args.end.year, args.end.month, args.end.day, tzinfo=UTC)
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT),
        # INFO keeps the DAGScheduler's stage timings in the log, which the profile is read from.
        "CARDLAKE_SPARK_LOG_LEVEL": "INFO",
        # A throwaway key per benchmark run, in the children's environment only.
        "CARDLAKE_PAN_TOKEN_KEY": secrets.token_hex(32),
    }
    lake, empty_lake = args.workdir / "lake", args.workdir / "lake-daily-empty"
    full_runs = {
        "duckdb_full": lambda: run_duckdb(landing_dir, args.workdir / "duckdb", start, daily, env, args),
        "spark_full": lambda: run_spark("spark_full", landing_dir, lake, start, daily, env, args),
    }
    rounds: list[dict[str, Measurement]] = []
    for number in range(args.rounds):
        order = list(full_runs) if number % 2 == 0 else list(full_runs)[::-1]
        rounds.append({})
        for name in order:
            rounds[-1][name] = full_runs[name]()
            print(f"round {number + 1} {name}: {rounds[-1][name].seconds} s", flush=True)
    runs: dict[str, Measurement] = {name: median_run([r[name] for r in rounds]) for name in full_runs}
    spark_side = spark_counts(lake, runs["spark_full"].details["silver_metrics"])  # before the daily batch
    duck_side = duckdb_counts(runs["duckdb_full"].details["metrics"])
    check = {
        k: {"spark": spark_side[k], "duckdb": duck_side[k], "equal": spark_side[k] == duck_side[k]} for k in duck_side
    }
    check.update(fingerprints(lake, args.workdir / "duckdb"))
    for name, target_lake in (("spark_daily_into_full_lake", lake), ("spark_daily_into_empty_lake", empty_lake)):
        runs[name] = run_spark(name, landing_dir, target_lake, daily, end, env, args)
        print(f"{name}: {runs[name].seconds} s", flush=True)

    report = build_report(args, command_line, info, landing, landing_s, runs, rounds, check)
    print_table(report)
    target = ROOT / "bench" / "results" / "lake.json" if args.scale == "full" else args.workdir / "lake.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written to {target}")
    return report


if __name__ == "__main__":
    main()
