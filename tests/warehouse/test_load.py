"""Loading exports into DuckDB and PostgreSQL: idempotent upserts, state changes, all-or-nothing, bad exports."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cardlake.warehouse import ExportError, Warehouse
from contracts.tables import STAR_TABLES
from tests.warehouse.star_data import MON, SAT, fact_reward, make_export, reward, star


def snapshot(wh: Warehouse) -> dict[str, list[tuple]]:
    return {t.name: sorted(wh.query(f"SELECT * FROM {t.name}"), key=repr) for t in STAR_TABLES}


def test_counts_equal_the_export_rows(warehouse: Warehouse, tmp_path: Path) -> None:
    loaded = warehouse.load_export(make_export(tmp_path / "exports", "run-1"))
    expected = {name: len(rows) for name, rows in star().items()}
    assert list(loaded) == [t.name for t in STAR_TABLES]
    assert loaded == expected
    assert warehouse.counts() == expected


def test_loading_the_same_export_twice_leaves_the_same_warehouse(warehouse: Warehouse, tmp_path: Path) -> None:
    uri = make_export(tmp_path / "exports", "run-1")
    warehouse.load_export(uri)
    first = snapshot(warehouse)
    warehouse.ensure_schema()  # idempotent too: tables and rows survive it
    warehouse.load_export(uri)
    assert snapshot(warehouse) == first
    assert first["fact_transaction"], "the snapshot must hold rows for the comparison to mean anything"


def test_a_reward_changing_state_updates_its_row(warehouse: Warehouse, tmp_path: Path) -> None:
    warehouse.load_export(make_export(tmp_path / "exports", "run-1"))
    approved = reward(1, "approved", "0.5", "0.30", MON, 1)
    loaded = warehouse.load_export(make_export(tmp_path / "exports", "run-2", {"fact_reward": [approved]}))
    assert loaded["fact_reward"] == 1 and loaded["fact_transaction"] == 0
    rows = warehouse.query("SELECT reward_status, is_available FROM fact_reward WHERE reward_id = 'rw_1'")
    assert rows == [("approved", True)]
    assert warehouse.counts()["fact_reward"] == len(fact_reward())


@pytest.mark.parametrize("status", ["approved", "rejected"], ids=["different-rows", "identical-rows"])
def test_a_load_is_all_or_nothing(warehouse: Warehouse, tmp_path: Path, status: str) -> None:
    rows = star()
    rows["fact_reward"] = [*fact_reward(), reward(3, status, "2.0", "1.00", SAT, None)]  # rw_3 twice
    with pytest.raises(ExportError, match=r"fact_reward: the export repeats primary keys"):
        warehouse.load_export(make_export(tmp_path / "exports", "run-bad", rows))
    # the dimensions and facts before fact_reward were staged and upserted in the same transaction: rolled back
    assert set(warehouse.counts().values()) == {0}


def test_repeated_keys_in_a_later_export_change_nothing(warehouse: Warehouse, tmp_path: Path) -> None:
    warehouse.load_export(make_export(tmp_path / "exports", "run-1"))
    before = snapshot(warehouse)
    twice = [reward(1, "approved", "0.5", "0.30", MON, 1), reward(1, "rejected", "0.5", "0.30", MON, 1)]
    rows = {"dim_merchant": [], "fact_reward": twice}
    with pytest.raises(ExportError, match=r"fact_reward: the export repeats primary keys .*1"):
        warehouse.load_export(make_export(tmp_path / "exports", "run-2", rows))
    assert snapshot(warehouse) == before


def test_the_transaction_timestamp_is_stored_as_utc(warehouse: Warehouse, tmp_path: Path) -> None:
    warehouse.load_export(make_export(tmp_path / "exports", "run-1"))
    (ts,) = warehouse.query("SELECT transaction_ts FROM fact_transaction WHERE transaction_id = 't2'")[0]
    assert (ts.hour, ts.minute, ts.tzinfo) == (23, 15, None)


def _rewrite(uri: str, table: str, change) -> None:
    path = Path(uri).parent / table / "part-00000.parquet"
    pq.write_table(change(pq.read_table(path)), path)


def test_columns_out_of_order_are_refused_before_anything_loads(warehouse: Warehouse, tmp_path: Path) -> None:
    uri = make_export(tmp_path / "exports", "run-1")
    _rewrite(uri, "dim_merchant", lambda t: t.select(list(reversed(t.column_names))))
    with pytest.raises(ExportError, match=r"dim_merchant: .* has columns .*expected .*tables.py order"):
        warehouse.load_export(uri)
    assert warehouse.counts()["dim_date"] == 0


def test_a_wrong_type_or_row_count_is_refused(warehouse: Warehouse, tmp_path: Path) -> None:
    uri = make_export(tmp_path / "exports", "run-1")
    _rewrite(uri, "dim_time", lambda t: t.set_column(0, "time_key", t["time_key"].cast(pa.string())))
    with pytest.raises(ExportError, match=r"dim_time: .*time_key is string, expected smallint"):
        warehouse.load_export(uri)
    uri = make_export(tmp_path / "exports", "run-2")
    _rewrite(uri, "dim_time", lambda t: t.slice(0, 3))
    with pytest.raises(ExportError, match=r"dim_time: the manifest says 24 rows but the files hold 3"):
        warehouse.load_export(uri)


def test_a_missing_manifest_is_a_clear_error(warehouse: Warehouse, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="export manifest not found"):
        warehouse.load_export(str(tmp_path / "nope" / "_export.json"))


def test_an_export_on_s3_loads_like_a_local_one(warehouse: Warehouse, s3, tmp_path: Path) -> None:
    from tests.warehouse.s3_export import upload_export

    uri = upload_export(make_export(tmp_path / "exports", "run-1"), s3, "lake")
    assert uri.startswith("s3://lake/")
    assert warehouse.load_export(uri) == {name: len(rows) for name, rows in star().items()}
    assert warehouse.query("SELECT reward_status FROM fact_reward WHERE reward_id = 'rw_1'") == [("pending",)]


@pytest.mark.postgres
def test_postgres_reloads_write_no_new_row_versions(pg_dsn: str, tmp_path: Path) -> None:
    from cardlake.warehouse.postgres import PostgresWarehouse

    with PostgresWarehouse(pg_dsn) as wh:
        wh.ensure_schema()
        uri = make_export(tmp_path / "exports", "run-1")
        wh.load_export(uri)
        wh.load_export(
            make_export(tmp_path / "exports", "run-2", {"fact_reward": [reward(4, "pending", "1", "1", SAT, None)]})
        )
        primary_keys = "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'p' AND conrelid = 'fact_reward'::regclass"
        assert wh.query(primary_keys) == [(1,)]  # dropped for the first (bulk) load, rebuilt in its transaction
        versions = "SELECT reward_id, xmin::text FROM fact_reward ORDER BY reward_id"
        before = wh.query(versions)
        wh.load_export(uri)  # unchanged rows: MERGE leaves them alone (no WAL, no bloat)
        assert wh.query(versions) == before
        wh.load_export(
            make_export(tmp_path / "exports", "run-3", {"fact_reward": [reward(1, "approved", "0.5", "0.30", MON, 1)]})
        )
        after = dict(wh.query(versions))
        assert after["rw_1"] != dict(before)["rw_1"] and after["rw_2"] == dict(before)["rw_2"]
