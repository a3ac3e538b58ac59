"""Two `cardlake run`s of one window started together end with the same tables as one run.

Real parts throughout: a Prefect server (child process) holding the lake-writer limit, the card API simulator over
HTTP, `spark-submit`, delta-rs and DuckDB. The clean run (shared by the session, tests/chain.py) has its own home;
the two concurrent runs share another. Every Delta table and every warehouse table is compared.
"""

from __future__ import annotations

import pytest

from tests.chain import Chain, Snapshot, differences, leftover_processes, snapshot, wait_ok

pytestmark = [pytest.mark.slow, pytest.mark.prefect, pytest.mark.spark]


@pytest.fixture(scope="module")
def together(chain: Chain, clean_run: Snapshot) -> dict[str, object]:
    home = chain.home("together")
    started = [chain.start(home, log=name) for name in ("first", "second")]
    for proc, log in started:
        wait_ok(proc, log)
    return {
        "snapshot": snapshot(home),
        "leftovers": leftover_processes(home),
        "logs": "\n".join(log.read_text() for _, log in started),
    }


def test_two_runs_of_one_window_started_together_leave_the_tables_of_one_run(
    together: dict[str, object], clean_run: Snapshot
) -> None:
    assert clean_run.warehouse["fact_transaction"].rows > 50 and clean_run.lake["silver/transactions"].rows > 50
    assert isinstance(together["snapshot"], Snapshot)
    assert differences(together["snapshot"], clean_run) == []


def test_the_concurrent_runs_took_turns_at_the_lake_and_left_no_process(together: dict[str, object]) -> None:
    assert "waits for the lake" in str(together["logs"]), "the second run never waited: were they concurrent?"
    assert together["leftovers"] == []
