"""The silver and gold jobs on real Delta tables: order independence, idempotency, reconciliation, no PANs."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from deltalake import DeltaTable

from spark_jobs import schemas
from spark_jobs.main import run_jobs
from tests.lake.landing_fixtures import PAN2, land, reward, transaction

pytestmark = [pytest.mark.spark, pytest.mark.slow]
DAY = timedelta(days=1)
D0 = datetime(2025, 6, 1, tzinfo=UTC)
TABLES = ["silver/transactions", "silver/rewards", "silver/cardholders", "silver/addresses", "silver/merchants",
          "silver/cards", "gold/reward_transactions"]  # fmt: skip
# Columns that record *which* run wrote a row, not what the row says.
BOOKKEEPING = {"run_id", "source_file"}


@pytest.fixture(autouse=True)
def pan_key(monkeypatch):
    monkeypatch.setenv("CARDLAKE_PAN_TOKEN_KEY", "lake-test-key")


def iso(day: int, hour: int = 10) -> str:
    return (D0 + day * DAY + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ")


def daily_batches() -> list[tuple[int, dict[str, list]]]:
    """Three days of extractions in which rewards come before their transaction and change state later."""
    return [
        (0, {
            "transactions": [transaction("t1", iso(0), 1250), transaction("t2", iso(0, 11), 4000, pan=PAN2,
                                                                              cardholder="ch_2")],
            "rewards": [reward("r1", "t1", iso(0, 12)), reward("r3", "t3", iso(0, 13)),  # r3 before t3
                        reward("perk", None, iso(0, 14), rate=0.0, fiat=500,
                               referenceType="perk_1_reward")],
        }),
        (1, {
            "transactions": [transaction("t3", iso(1), 700), transaction("t4", iso(1, 12), 150),
                             transaction("bad", iso(1), amount="abc"),
                             transaction("t5", iso(1, 13), 990, tx_type="CARD_REFUND", originalTransactionId="t1")],
            "rewards": [reward("r2", "t2", iso(1, 9)), reward("r1", "t1", iso(0, 12), status="approved",
                                                          updated=iso(1, 15))],
        }),
        (2, {
            "transactions": [transaction("t1", iso(0), 1250)],  # a duplicate of an old record, re-sent
            "rewards": [reward("r2", "t2", iso(1, 9), status="rejected", updated=iso(2, 8)),
                        reward("r1", "t1", iso(0, 12))],  # a stale pending version arriving late
        }),
    ]  # fmt: skip


def land_day(root: Path, day: int, batch: dict[str, list]) -> None:
    start, end = D0 + day * DAY, D0 + (day + 1) * DAY
    for entity, records in batch.items():
        land(root, entity, start, end, [records])


def run(tmp: Path, start: datetime, end: datetime, run_id: str, jobs: str = "silver,gold", options: str = "{}") -> dict:
    args = ["--job", jobs, "--landing-uri", str(tmp / "landing"), "--lake-uri", str(tmp / "lake"),
            "--window-start", start.isoformat(), "--window-end", end.isoformat(), "--run-id", run_id,
            "--options", options]  # fmt: skip
    return run_jobs(args)


def snapshot(lake: Path) -> dict[str, list[tuple]]:
    out = {}
    for table in TABLES:
        df = DeltaTable(str(lake / table)).to_pandas()
        df = df[[c for c in sorted(df.columns) if c not in BOOKKEEPING]]
        out[table] = sorted(tuple(str(v) for v in row) for row in df.itertuples(index=False))
    return out


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory, spark):
    """All three days landed, then processed as one batch (shared by the tests that only read it)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CARDLAKE_PAN_TOKEN_KEY", "lake-test-key")
        root = tmp_path_factory.mktemp("one-batch")
        for day, batch in daily_batches():
            land_day(root / "landing", day, batch)
        result = run(root, D0, D0 + 3 * DAY, "all")
    return root, result


def test_daily_batches_in_any_order_give_the_same_tables_as_one_batch(tmp_path, one_batch):
    one = one_batch[0]

    shuffled = tmp_path / "shuffled"
    order = daily_batches()
    random.Random(7).shuffle(order)
    assert [d for d, _ in order] != [0, 1, 2]
    for day, batch in order:
        land_day(shuffled / "landing", day, batch)
        run(shuffled, D0 + day * DAY, D0 + (day + 1) * DAY, f"day-{day}")

    expected, got = snapshot(one / "lake"), snapshot(shuffled / "lake")
    assert got == expected
    # And the content is what the batches say: r1 approved (the late stale version lost), r2 rejected,
    # r3 joined to t3 although it arrived first, the perk kept without a transaction.
    gold = DeltaTable(str(one / "lake/gold/reward_transactions")).to_pandas().set_index("reward_id")
    assert gold.loc["r1", "reward_status"] == "approved"
    assert gold.loc["r2", "reward_status"] == "rejected"
    assert bool(gold.loc["r3", "transaction_found"]) and gold.loc["r3", "transaction_amount_gbp"] == 7
    assert not bool(gold.loc["perk", "transaction_found"])


def test_the_same_batch_twice_writes_no_new_data_files(one_batch, spark):
    tmp_path = one_batch[0]
    versions = {t: DeltaTable(str(tmp_path / "lake" / t)).version() for t in TABLES}
    before = snapshot(tmp_path / "lake")
    cached_before = spark.sparkContext._jsc.getPersistentRDDs().size()
    second = run(tmp_path, D0, D0 + 3 * DAY, "second")
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached_before  # every cache the jobs made is released
    # Asserted on Delta history: no table got a new version, so no data file was added or rewritten.
    assert {t: DeltaTable(str(tmp_path / "lake" / t)).version() for t in TABLES} == versions
    assert snapshot(tmp_path / "lake") == before
    assert second["silver"].table("silver/transactions").inserted == 0
    assert second["gold"].table("gold/reward_transactions").inserted == 0


def test_records_read_reconcile_with_accepted_plus_quarantined(one_batch):
    tmp_path, result = one_batch
    silver = result["silver"]
    tx = silver.table("silver/transactions")
    assert (tx.read, tx.accepted, tx.rejected) == (7, 6, 1) and tx.reconciles
    assert tx.duplicates == 1  # t1 twice
    rewards = silver.table("silver/rewards")
    assert rewards.read == 7 and rewards.accepted == 7
    gold = result["gold"].table("gold/reward_transactions")
    # r1, r2, r3 and the perk, counted as they were written; only the perk has no transaction, and needs none.
    assert (gold.read, gold.inserted) == (4, 4) and gold.note.startswith("0 reward(s) whose transaction")
    assert "1 of no transaction" in gold.note
    quarantine = DeltaTable(str(tmp_path / "lake/silver/quarantine")).to_pandas()
    assert quarantine["reason"].tolist() == ["wrong_type:amount"]
    run_metrics = DeltaTable(str(tmp_path / "lake/silver/run_metrics")).to_pandas()
    row = run_metrics[(run_metrics.job == "silver") & (run_metrics.entity == "silver/transactions")].iloc[0]
    assert row.records_read == row.accepted + row.quarantined


def test_no_silver_or_gold_table_holds_a_card_number(one_batch):
    tmp_path = one_batch[0]
    # 11-19 digits standing alone; a digit run inside a hex token or hash is not a card number.
    pan_like = re.compile(r"(?<![0-9A-Za-z])\d{11,19}(?![0-9A-Za-z])")
    scanned = 0
    for layer in ("silver", "gold"):
        for table in (tmp_path / "lake" / layer).iterdir():
            if not (table / "_delta_log").exists():
                continue
            df = DeltaTable(str(table)).to_pandas()
            for column in df.columns:
                for value in df[column].astype(str):
                    scanned += 1
                    assert not pan_like.search(value), f"{table.name}.{column} holds a card-number-like value"
    assert scanned > 100
    raw_text = b"".join(p.read_bytes() for p in (tmp_path / "landing").rglob("*.json.gz"))
    assert raw_text  # the raw zone keeps the bytes as received (with PANs): only it may


def test_only_manifested_extractions_inside_the_window_are_read(tmp_path):
    land_day(tmp_path / "landing", 0, {"transactions": [transaction("t1", iso(0))]})
    # A page written without a manifest (an extraction killed mid-way) must not be read.
    orphan = tmp_path / "landing/raw/cardapi/transactions/ingest_date=2025-06-02/orphan-00001.json.gz"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"not even gzip")
    land_day(tmp_path / "landing", 5, {"transactions": [transaction("late", iso(5))]})  # outside the window
    counts = run(tmp_path, D0, D0 + 3 * DAY, "r")["silver"].table("silver/transactions")
    assert counts.note.startswith("1 manifest(s)") and counts.read == 1


def test_a_bad_record_landed_in_two_windows_is_quarantined_once_with_its_latest_landing(tmp_path):
    bad = transaction("bad", iso(0), amount="abc")
    for day in (0, 1):
        land_day(tmp_path / "landing", day, {"transactions": [bad]})
    # The later window first, then the earlier one twice: arrival order and re-runs leave the same row.
    for day, run_id in ((1, "day-1"), (0, "day-0"), (0, "day-0-again")):
        run(tmp_path, D0 + day * DAY, D0 + (day + 1) * DAY, run_id, jobs="silver")
    quarantine = DeltaTable(str(tmp_path / "lake/silver/quarantine")).to_pandas()
    assert len(quarantine) == 1
    row = quarantine.iloc[0]
    assert (row.reason, row.run_id) == ("wrong_type:amount", "day-1")
    assert "ingest_date=2025-06-02/" in row.source_file


def test_a_clean_first_batch_leaves_an_empty_quarantine_with_its_schema(tmp_path):
    land_day(
        tmp_path / "landing",
        0,
        {"transactions": [transaction("t1", iso(0))], "rewards": [reward("r1", "t1", iso(0, 12))]},
    )
    counts = run(tmp_path, D0, D0 + DAY, "clean", jobs="silver")["silver"].table("silver/transactions")
    assert counts.rejected == 0
    table = DeltaTable(str(tmp_path / "lake/silver/quarantine"))
    assert [f.name for f in table.schema().fields] == [f.name for f in schemas.SILVER_QUARANTINE.fields]
    assert table.to_pandas().empty
    created = table.version()
    # A re-run adds no version; a later bad record merges into the table that is already there.
    run(tmp_path, D0, D0 + DAY, "clean-again", jobs="silver")
    assert DeltaTable(str(tmp_path / "lake/silver/quarantine")).version() == created
    land_day(tmp_path / "landing", 1, {"transactions": [transaction("bad", iso(1), amount="abc")]})
    run(tmp_path, D0 + DAY, D0 + 2 * DAY, "bad", jobs="silver")
    quarantine = DeltaTable(str(tmp_path / "lake/silver/quarantine")).to_pandas()
    assert quarantine["reason"].tolist() == ["wrong_type:amount"]


def test_maintenance_compacts_daily_merges_and_vacuums_without_changing_a_row(tmp_path):
    for day, batch in daily_batches():
        land_day(tmp_path / "landing", day, batch)
        run(tmp_path, D0 + day * DAY, D0 + (day + 1) * DAY, f"day-{day}")
    lake = tmp_path / "lake"
    before = snapshot(lake)
    files_before = {t: len(DeltaTable(str(lake / t)).file_uris()) for t in TABLES}
    assert files_before["silver/transactions"] > 1  # one file per daily merge in the month's partition

    result = run(tmp_path, D0, D0 + 3 * DAY, "maintain-1", "maintain", '{"maintain": {"retention_hours": 0}}')
    result = result["maintain"]

    assert snapshot(lake) == before  # the same rows, only fewer files
    done = {m.table: m for m in result.maintenance}
    assert set(TABLES) <= set(done)
    for table in TABLES:
        files_after = len(DeltaTable(str(lake / table)).file_uris())
        assert done[table].files_before == files_before[table]
        assert done[table].files_after == files_after <= files_before[table]
    transactions = done["silver/transactions"]
    assert transactions.files_after == 1 and transactions.files_compacted == files_before["silver/transactions"]
    # Retention 0: the replaced files are deleted from storage, so the folder holds only the live file.
    parquet_on_disk = [p for p in (lake / "silver/transactions").rglob("*.parquet") if "_delta_log" not in p.parts]
    assert len(parquet_on_disk) == 1 and transactions.files_vacuumed > 0

    again = run(tmp_path, D0, D0 + 3 * DAY, "maintain-2", "maintain")["maintain"]
    assert all(m.files_compacted == 0 for m in again.maintenance if m.table in TABLES)  # nothing left to compact
    assert snapshot(lake) == before
