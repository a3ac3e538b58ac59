"""The whole-chain benchmark's accounting: chunks cover the range, stages add up to the wall time, shares to 1."""

from __future__ import annotations

import argparse
import itertools
import sqlite3
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_pipeline as bench


def test_weekly_chunks_cover_the_range_without_gaps_and_the_last_one_is_shorter() -> None:
    windows = bench.chunk_windows(date(2024, 1, 1), date(2024, 1, 18), 7)
    assert [w.start.day for w in windows] == [1, 8, 15]
    assert windows[-1].end == datetime(2024, 1, 18, tzinfo=UTC)
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))


@pytest.mark.parametrize(("value", "days"), [("week", 7), ("day", 1), ("30", 30)])
def test_chunk_is_a_week_a_day_or_a_number_of_days(value: str, days: int) -> None:
    assert bench.parse_chunk(value) == days


@pytest.mark.parametrize("value", ["0", "fortnight"])
def test_a_chunk_of_no_days_or_an_unknown_name_is_refused(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        bench.parse_chunk(value)


def test_the_stages_of_a_run_add_up_to_its_wall_time() -> None:
    jobs = {"silver": 10.0, "gold": 2.0, "features": 3.0, "score": 0.5, "star": 4.0, "export": 1.5}
    stages = bench.stage_breakdown(60.0, {"extract": 5.0, "transform": 30.0, "load": 3.0}, jobs)
    assert stages["spark_startup"] == 9.0  # the transform subflow beyond its jobs
    assert stages["outside_stages"] == 22.0
    assert sum(stages.values()) == pytest.approx(60.0)


def test_stage_shares_are_of_the_summed_wall_time_of_all_chunks() -> None:
    runs = [
        bench.RunMeasure("a", "w1", "local-submit", seconds=30.0, stages={"extract": 3.0, "silver": 27.0}),
        bench.RunMeasure("b", "w2", "local-submit", seconds=10.0, stages={"extract": 1.0, "silver": 9.0}),
    ]
    totals = bench.stage_totals(runs)
    assert totals["silver"] == {"seconds": 36.0, "share": 0.9}
    assert sum(t["share"] for t in totals.values()) == pytest.approx(1.0)


def test_subflow_seconds_are_read_from_prefects_flow_runs_of_this_run_only(tmp_path: Path) -> None:
    db = tmp_path / "prefect.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE flow (id TEXT, name TEXT)")
    con.execute("CREATE TABLE flow_run (flow_id TEXT, start_time TEXT, end_time TEXT)")
    con.executemany("INSERT INTO flow VALUES (?, ?)", [("1", "extract"), ("2", "load"), ("3", "pipeline")])
    since = datetime(2026, 1, 1, 12, tzinfo=UTC)
    rows = [("1", since - timedelta(hours=1), since - timedelta(minutes=59)),  # an earlier chunk's extraction
            ("1", since + timedelta(seconds=1), since + timedelta(seconds=3.5)),
            ("2", since + timedelta(seconds=40), since + timedelta(seconds=41)),
            ("3", since, since + timedelta(seconds=50))]  # fmt: skip
    # Prefect stores naive UTC stamps in SQLite.
    naive = [(f, str(s.replace(tzinfo=None)), str(e.replace(tzinfo=None))) for f, s, e in rows]
    con.executemany("INSERT INTO flow_run VALUES (?, ?, ?)", naive)
    con.commit()
    con.close()
    assert bench.prefect_timings(db, since) == {"extract": 2.5, "load": 1.0}


def test_a_run_smaller_than_the_issues_says_so_in_its_results() -> None:
    issue = {"cards": 1000, "start": "2024-01-01", "end": "2026-01-01", "chunk_days": 7}
    assert bench.size_note(issue) == "the issue's size"
    assert bench.size_note({**issue, "cards": 50}).startswith("reduced size")
