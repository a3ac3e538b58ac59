"""The whole chain under faults, each case compared table by table with the session's clean run (tests/chain.py).

Real parts: `cardlake run` processes against a Prefect server, the simulator over HTTP, `spark-submit`, delta-rs and
DuckDB. Cases:
- every simulator fault at once at a high rate (429, 5xx, truncated bodies, slow answers, duplicated and malformed
  records): the same tables, plus the malformed records in silver/quarantine;
- SIGKILL of the run's process group during extraction, inside each Spark job and during the warehouse load,
  then a re-run: the same tables, no process left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from cardapi.faults import MALFORMED_PREFIX
from contracts.jobs import JOBS, JobName
from contracts.lake import RUNS
from contracts.landing import MANIFESTS, PAGE_SUFFIX
from tests.chain import (
    CHAIN_SIMULATOR,
    Chain,
    Snapshot,
    differences,
    leftover_processes,
    simulator,
    snapshot,
    wait_ok,
)

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]

FAULTY = CHAIN_SIMULATOR.model_copy(
    update={
        "fault_seed": 7,
        "fault_429_rate": 0.25,
        "retry_after_seconds": 0.2,
        "fault_5xx_rate": 0.25,
        "fault_truncated_rate": 0.25,
        "slow_rate": 0.2,
        "slow_seconds": 0.2,
        "fault_duplicate_rate": 0.5,
        "malformed_rate": 0.1,
    }
)
# Every request slow: extraction takes seconds, long enough to be killed in the middle of it.
SLOW = CHAIN_SIMULATOR.model_copy(update={"slow_rate": 1.0, "slow_seconds": 0.4})
SMALL_PAGES = {"CARDLAKE_API_PAGE_SIZE": "20"}  # several pages per entity: duplicates and a page-by-page landing


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL of the run's whole process group: no handler, no finally, no Prefect state change."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def landed_pages(home: Path) -> list[Path]:
    return list((home / "landing").rglob(f"*{PAGE_SUFFIX}"))


def manifests(home: Path) -> list[Path]:
    return list((home / "landing").rglob(f"{MANIFESTS}/*.json"))


def delta_commits(home: Path, table: str) -> list[Path]:
    return list((home / "lake" / table / "_delta_log").glob("*.json"))


# What each case did and what was compared, for the table the last test prints.
CASES: list[tuple[str, str, str]] = []


def record(case: str, done: str, compared: str) -> None:
    CASES.append((case, done, compared))


def compare_all(home: Path, clean: Snapshot) -> Snapshot:
    after = snapshot(home)  # reads every Delta table
    assert differences(after, clean) == []
    assert leftover_processes(home) == []
    return after


def test_every_fault_at_once_leaves_the_clean_tables_plus_the_quarantined_malformed_records(
    chain: Chain, clean_run: Snapshot
) -> None:
    home = chain.home("faults")
    with simulator(FAULTY) as api_url:
        proc, log = chain.start(home, api_url=api_url, log="faults", extra=SMALL_PAGES)
        wait_ok(proc, log)
    faulty = snapshot(home)
    quarantine = DeltaTable(str(home / "lake" / "silver" / "quarantine")).to_pyarrow_table().to_pylist()
    assert quarantine, "no malformed record reached the quarantine: were the faults on?"
    for row in quarantine:
        assert MALFORMED_PREFIX in row["raw_record"], f"a good record was quarantined: {row['reason']}"
    # Everything but the quarantine and the run's record counts (which now include the malformed records).
    found = differences(faulty, clean_run)
    others = [d for d in found if not d.startswith(("lake silver/quarantine", "lake silver/run_metrics"))]
    assert others == []
    metrics = DeltaTable(str(home / "lake" / "silver" / "run_metrics")).to_pyarrow_table().to_pylist()
    clean_metrics = DeltaTable(str(chain.home("clean") / "lake" / "silver" / "run_metrics")).to_pyarrow_table()
    # Accepted records include the duplicates (the merge keeps the newest per key): the distinct ones match.
    distinct = {(m["job"], m["entity"]): m["accepted"] - m["duplicates"] for m in clean_metrics.to_pylist()}
    for m in metrics:
        assert m["records_read"] == m["accepted"] + m["quarantined"], m
        assert m["accepted"] - m["duplicates"] == distinct[(m["job"], m["entity"])], m
    # A malformed record that the duplicate fault repeats is counted each time it is read and stored once.
    assert len({row["quarantine_id"] for row in quarantine}) == len(quarantine)
    assert len(quarantine) <= sum(m["quarantined"] for m in metrics if m["job"] == "silver")
    assert leftover_processes(home) == []
    log_text = log.read_text()
    assert "retry" in log_text, "the client never retried: were the transport faults on?"
    record(
        "all faults at once (429 25%, 5xx 25%, truncated 25%, slow 20%, duplicates 50%, malformed 10%)",
        "one run, pages of 20",
        f"every table but silver/quarantine ({len(quarantine)} malformed rows, each checked) and run_metrics "
        "(read = accepted + quarantined; distinct accepted = clean)",
    )


def test_a_run_killed_during_extraction_then_run_again_leaves_the_clean_tables(
    chain: Chain, clean_run: Snapshot
) -> None:
    home = chain.home("kill-extract")
    with simulator(SLOW) as slow_url:
        proc, _ = chain.start(home, api_url=slow_url, log="killed", extra=SMALL_PAGES)
        wait_for(lambda: len(landed_pages(home)) >= 2, "two landed pages")
        kill_group(proc)
    pages, written = len(landed_pages(home)), len(manifests(home))
    assert written < 3, "extraction had finished before the kill"
    assert leftover_processes(home) == []
    chain.run(home, log="rerun", extra=SMALL_PAGES)
    compare_all(home, clean_run)
    record("SIGKILL during extraction", f"killed with {pages} page(s) and {written} manifest(s) landed, re-run",
           "every Delta and warehouse table; no process left")  # fmt: skip


def job_results(home: Path) -> set[str]:
    """The jobs of the run that have finished: each writes `<lake>/_runs/<run_id>/<job>.json` as it ends."""
    return {p.stem for p in (home / "lake" / RUNS).rglob("*.json")}


def in_job(home: Path, job: JobName) -> bool:
    """True once `job` is under way: silver from its first commit, a later job once the one before it ended."""
    if job == JOBS[0]:
        return bool(delta_commits(home, "silver/transactions"))
    return JOBS[JOBS.index(job) - 1] in job_results(home)


@pytest.mark.parametrize("job", JOBS)
def test_a_run_killed_inside_each_spark_job_then_run_again_leaves_the_clean_tables(
    chain: Chain, clean_run: Snapshot, job: JobName
) -> None:
    home = chain.home(f"kill-spark-{job}")
    # The killed run's slot of the lake-writer limit lapses with its lease (the shortest allowed, 60 s); the re-run
    # waits for it.
    proc, log = chain.start(home, log="killed", extra={"CARDLAKE_LAKE_WRITER_LEASE_S": "60"})
    wait_for(lambda: in_job(home, job) or proc.poll() is not None, f"the {job} job under way")
    assert proc.poll() is None, f"the run ended before it was killed: {log.read_text()[-2000:]}"
    kill_group(proc)
    finished = job_results(home)
    assert job not in finished, f"{job} had already finished when the run was killed: kill earlier"
    assert leftover_processes(home) == [], "the Spark job outlived the killed run"
    assert not (home / "warehouse.duckdb").exists()
    rerun = chain.run(home, log="rerun")
    compare_all(home, clean_run)
    record(
        f"SIGKILL inside the {job} job",
        f"killed with {len(finished)} of {len(JOBS)} jobs finished, re-run "
        f"({'waited for the lease' if 'waits for the lake' in rerun else 'no wait'})",
        "every Delta and warehouse table; the Spark JVM ended with the run; no process left",
    )


def test_a_run_killed_during_the_warehouse_load_then_run_again_leaves_the_clean_tables(
    chain: Chain, clean_run: Snapshot
) -> None:
    home = chain.home("kill-load")
    warehouse = home / "warehouse.duckdb"
    home.mkdir(parents=True)
    duckdb.connect(str(warehouse)).close()
    # A reader holds the warehouse file (as a BI tool may), so the load task waits inside the load: kill it there.
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(warehouse)!r}, read_only=True); time.sleep(600)",
        ]
    )
    try:
        proc, log = chain.start(home, log="killed")
        wait_for(lambda: "is open in" in log.read_text(), "the load waiting for the warehouse", timeout_s=400)
        kill_group(proc)
    finally:
        reader.kill()
        reader.wait()
    assert leftover_processes(home) == []
    rerun = chain.run(home, log="rerun")
    compare_all(home, clean_run)
    record(
        "SIGKILL during the warehouse load",
        "killed in the load task (waiting for the DuckDB file a reader held), re-run "
        f"({'Spark served from the cache' if 'Cached' in rerun else 'Spark ran again'})",
        "every Delta and warehouse table; no process left",
    )


def test_print_the_cases(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n| case | what was done | what was compared with the clean run |")
        print("| --- | --- | --- |")
        for row in CASES:
            print("| " + " | ".join(row) + " |")
