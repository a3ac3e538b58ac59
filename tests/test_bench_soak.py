"""The soak benchmark's pure parts (bench/bench_soak.py): per-hop reconciliation, stream lines, no-growth verdict."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_soak.py"
    spec = importlib.util.spec_from_file_location("bench_soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_soak"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


soak = _load()


def _row(stage: str, table: str, read: int, accepted: int, rejected: int) -> dict[str, object]:
    return {"stage": stage, "table": table, "in": read, "accepted": accepted, "rejected": rejected, "written": 0}


def test_every_stage_lands_on_its_hop() -> None:
    rows = [
        _row("extract", "raw/transactions", 10, 10, 0),
        _row("silver", "silver/transactions", 12, 9, 3),
        _row("gold", "gold/reward_transactions", 5, 5, 0),
        _row("load", "fact_transaction", 9, 9, 0),
    ]
    hops = [c.hop for c in soak.hop_counts(rows)]
    assert hops == ["api -> landing", "landing -> silver", "silver -> gold", "gold -> warehouse"]
    assert soak.reconciliation_failures(soak.hop_counts(rows)) == []


def test_a_record_lost_between_in_and_accepted_plus_quarantined_is_reported() -> None:
    rows = [_row("silver", "silver/transactions", 12, 9, 2), _row("load", "fact_transaction", 9, 9, 0)]
    failures = soak.reconciliation_failures(soak.hop_counts(rows))
    assert len(failures) == 1
    assert "landing -> silver" in failures[0] and "in 12" in failures[0] and "quarantined 2" in failures[0]


def test_missing_counts_read_as_zero() -> None:
    row = {"stage": "export", "table": "gold/x", "in": None, "accepted": None, "rejected": None}
    assert soak.reconciliation_failures(soak.hop_counts([row])) == []


def test_stream_line_is_parsed_with_its_lag() -> None:
    line = (
        "micro-batch 7: 2 manifest(s), 31 transaction(s), 1 quarantined, 31 scored, 0 alert(s) upserted "
        "in 12.5 s, lag 20.3 s"
    )
    batch = soak.parse_micro_batch(line)
    assert batch == soak.MicroBatch(7, 2, 31, 1, 12.5, 20.3)
    no_lag = soak.parse_micro_batch(line.split(", lag")[0])
    assert no_lag is not None and no_lag.lag_s is None
    assert soak.parse_micro_batch("streaming from landing into warehouse.duckdb; Ctrl-C stops") is None


def test_stream_line_with_step_timings_keeps_its_lag() -> None:
    """`cardlake stream` prints each step's seconds between the duration and the lag."""
    line = (
        "micro-batch 57: 5 manifest(s), 55 transaction(s), 0 quarantined, 0 scored, 0 alert(s) upserted in 10.6 s "
        "(silver 3.0, features 7.5, score 0.0, alerts 0.2, sink 0.0), lag 14.1 s"
    )
    assert soak.parse_micro_batch(line) == soak.MicroBatch(57, 5, 55, 0, 10.6, 14.1)


def _series(values: list[float]) -> list[tuple[float, float]]:
    return [(3.0 * i, v) for i, v in enumerate(values)]


def test_flat_memory_with_spikes_is_no_growth() -> None:
    flat = [1000.0 + (300.0 if i % 7 == 0 else 0.0) + (i % 3) for i in range(80)]
    verdict = soak.growth_verdict(_series(flat))
    assert verdict["verdict"] == "no growth"
    assert verdict["second_quarter_median_mb"] == pytest.approx(1001.0, abs=2)


def test_a_warm_up_climb_then_a_plateau_is_no_growth() -> None:
    # a JVM's heap grows to its working size in the first minutes, then stays there
    warming = [500.0 + 100.0 * i for i in range(20)] + [2500.0 + (i % 5) for i in range(60)]
    verdict = soak.growth_verdict(_series(warming))
    assert verdict["verdict"] == "no growth"
    assert verdict["first_quarter_median_mb"] < verdict["second_quarter_median_mb"]


def test_steadily_rising_memory_grows() -> None:
    rising = [1000.0 + 10.0 * i for i in range(80)]
    verdict = soak.growth_verdict(_series(rising))
    assert verdict["verdict"] == "grows"
    assert verdict["slope_mb_per_hour"] == pytest.approx(10.0 / 3.0 * 3600, rel=0.01)


def test_small_absolute_drift_under_the_slack_is_no_growth() -> None:
    # 30 % of a small process is still under the 50 MB slack: not a leak worth a verdict.
    small = [100.0] * 40 + [130.0] * 40
    assert soak.growth_verdict(_series(small))["verdict"] == "no growth"


def test_too_few_samples_give_no_verdict() -> None:
    assert soak.growth_verdict(_series([1.0, 2.0, 3.0]))["verdict"] == "too few samples"


def test_records_lost_between_two_hops_are_reported() -> None:
    rows = [
        _row("extract", "raw/transactions", 10, 10, 0),
        _row("silver", "silver/transactions", 9, 8, 1),  # one landed record never reached silver
        _row("extract", "raw/rewards", 4, 4, 0),
        _row("silver", "silver/rewards", 4, 4, 0),
        _row("export", "fact_transaction", 8, 8, 0),
        _row("load", "fact_transaction", 8, 8, 0),
        _row("export", "dim_card", 3, 3, 0),
        _row("load", "dim_card", 2, 2, 0),  # one exported row never loaded
    ]
    counts = soak.hop_counts(rows)
    assert soak.reconciliation_failures(counts) == []
    failures = soak.handoff_failures(counts)
    assert len(failures) == 2
    assert "raw/transactions passed on 10" in failures[0] and "silver/transactions read 9" in failures[0]
    assert "dim_card passed on 3" in failures[1] and "load dim_card read 2" in failures[1]


def test_only_the_manifests_of_committed_micro_batches_count(tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint"
    (checkpoint / "commits").mkdir(parents=True)
    (checkpoint / "sources" / "0").mkdir(parents=True)
    (checkpoint / "commits" / "0").write_text("v1\n{}\n")

    def entry(name: str, batch: int) -> str:
        return json.dumps({"path": f"file:///lake/raw/s/transactions/_manifests/{name}", "batchId": batch})

    (checkpoint / "sources" / "0" / "0").write_text("v1\n" + entry("a.json", 0) + "\n" + entry("b.json", 0) + "\n")
    (checkpoint / "sources" / "0" / "1").write_text("v1\n" + entry("c.json", 1) + "\n")  # cut short: no commit
    (checkpoint / "sources" / "0" / ".0.crc").write_bytes(b"crc\xf6\x00")  # Hadoop's binary checksum beside it
    assert soak.committed_manifests(checkpoint) == {"a.json", "b.json"}


def test_the_quoted_command_names_no_folder_of_this_machine() -> None:
    argv = ["--hours", "3", "--workdir", "scratch/soak", "--cards", "5", "--workdir=other/dir"]
    assert soak.public_command(argv) == "bench/bench_soak.py --hours 3 --cards 5"


def test_the_stream_reconciles_with_rows_of_the_micro_batch_a_stop_cut_short() -> None:
    soak = _load()
    landed, committed = {"a", "b", "c", "d"}, {"a", "b"}
    assert soak.stream_reconciles(landed, committed, {"a", "b", "c"}, quarantined=0)  # c: cut short, re-run later
    assert soak.stream_reconciles(landed, committed, {"a"}, quarantined=1)  # b was quarantined


def test_a_committed_transaction_missing_from_silver_or_an_invented_one_does_not_reconcile() -> None:
    soak = _load()
    landed, committed = {"a", "b", "c"}, {"a", "b"}
    assert not soak.stream_reconciles(landed, committed, {"a"}, quarantined=0)  # b lost
    assert not soak.stream_reconciles(landed, committed, {"a", "b", "x"}, quarantined=0)  # x never landed
