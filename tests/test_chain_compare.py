"""The whole-chain comparison (tests/chain.py) on hand-made tables: it finds what differs and only that."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from tests.chain import differences, snapshot


def make_home(root: Path, amounts: list[float], ingested: datetime, extra_id: str | None = None) -> Path:
    ids = ["t1", "t2", "t3"] + ([extra_id] if extra_id else [])
    amounts = amounts + ([1.0] if extra_id else [])
    table = pa.table(
        {"transaction_id": ids, "amount_gbp": amounts, "ingested_at": [ingested] * len(ids), "city": ["a"] * len(ids)}
    )
    write_deltalake(str(root / "lake" / "silver" / "transactions"), table)
    with duckdb.connect(str(root / "warehouse.duckdb")) as db:
        db.execute("CREATE TABLE dim_time (time_key BIGINT, hour INTEGER)")
        db.execute("INSERT INTO dim_time VALUES (1, 0), (2, 1)")
    return root


def test_equal_tables_have_no_difference_even_when_written_at_other_times(tmp_path: Path) -> None:
    a = make_home(tmp_path / "a", [1.5, 2.25, 3.0], datetime(2025, 1, 1, tzinfo=UTC))
    b = make_home(tmp_path / "b", [3.0, 1.5, 2.25], datetime(2026, 1, 1, tzinfo=UTC))  # other order, other time
    assert differences(snapshot(b), snapshot(a)) == []


def test_a_changed_value_an_extra_key_and_a_missing_table_are_each_reported(tmp_path: Path) -> None:
    clean = snapshot(make_home(tmp_path / "a", [1.5, 2.25, 3.0], datetime(2025, 1, 1, tzinfo=UTC)))
    changed = snapshot(make_home(tmp_path / "b", [1.5, 2.25, 3.5], datetime(2025, 1, 1, tzinfo=UTC)))
    (line,) = differences(changed, clean)
    assert line.startswith("lake silver/transactions.amount_gbp: sum")
    extra = snapshot(make_home(tmp_path / "c", [1.5, 2.25, 3.0], datetime(2025, 1, 1, tzinfo=UTC), extra_id="t9"))
    found = differences(extra, clean)
    assert "lake silver/transactions: 4 rows, the clean run has 3" in found
    assert any(d.startswith("lake silver/transactions: keys differ (1 extra") for d in found)
    write_deltalake(str(tmp_path / "a" / "lake" / "silver" / "rewards"), pa.table({"reward_id": ["r1"]}))
    assert "lake silver/rewards: only in the expected run" in differences(changed, snapshot(tmp_path / "a"))


def test_a_table_without_a_declared_key_is_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path / "a", [1.0, 2.0, 3.0], datetime(2025, 1, 1, tzinfo=UTC))
    write_deltalake(str(home / "lake" / "gold" / "new_table"), pa.table({"x": [1]}))
    with pytest.raises(AssertionError, match=r"gold/new_table has no key in tests/chain\.py LAKE_KEYS"):
        snapshot(home)


def test_ignored_columns_and_tables_are_left_out(tmp_path: Path) -> None:
    clean = snapshot(make_home(tmp_path / "a", [1.5, 2.25, 3.0], datetime(2025, 1, 1, tzinfo=UTC)))
    changed = snapshot(make_home(tmp_path / "b", [1.5, 2.25, 3.5], datetime(2025, 1, 1, tzinfo=UTC)))
    assert differences(changed, clean, ignore_columns={"amount_gbp"}) == []
    assert differences(changed, clean, ignore_tables={"silver/transactions"}) == []
    assert differences(changed, clean, ignore_columns={"city"}) != []
