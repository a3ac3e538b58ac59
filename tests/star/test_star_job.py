"""The star job and the export over a tiny lake written through the Delta I/O merge, across three runs:

run-1 builds everything; run-1 again must change nothing; run-2 brings a late transaction, a reward turning
approved, a reward whose transaction finally arrives, a fraud score and an alert. The export runs after run-1
(twice) and after run-2. One module-scoped lake keeps the Spark work small; each test checks one behaviour.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contracts import lake as lake_tables
from contracts.jobs import ExportOptions, StarOptions
from contracts.lake import LakeTable
from contracts.landing import Window
from contracts.tables import FRAUD_ALERTS, STAR_TABLES, TABLES_BY_NAME
from spark_jobs import schemas
from spark_jobs.delta_io import MergeSpec
from spark_jobs.delta_io.delta_rs import DeltaRsIO
from spark_jobs.jobs import export, star
from spark_jobs.jobs.context import JobContext
from spark_jobs.transforms.star import star_struct
from spark_jobs.transforms.star_facts import TRANSACTION_SCORES
from tests.star.builders import (
    address,
    card,
    cardholder,
    frame,
    merchant,
    refund,
    reward_transaction,
    transaction,
    xxhash64,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

GOLD_STAR = [
    "dim_time",
    "dim_statement_kind",
    "dim_address",
    "dim_merchant",
    "dim_customer",
    "fact_transaction",
    "fact_reward",
    "dim_date",
]
REWARD_TX_SPEC = MergeSpec(keys=("reward_id",), version_column=None, compare_column="row_hash")


def _ctx(spark, lake: str, run_id: str) -> JobContext:
    return JobContext(
        spark=spark,
        delta=DeltaRsIO(),
        landing_uri=str(Path(lake).parent / "landing"),
        lake_uri=lake,
        window=Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 15, tzinfo=UTC)),
        run_id=run_id,
    )


def _merge(ctx: JobContext, layer: str, name: str, schema, rows: list[dict[str, Any]], spec: MergeSpec) -> None:
    ctx.delta.merge(frame(ctx.spark, schema, rows), LakeTable(layer, name).uri(ctx.lake_uri), spec)


def _silver(ctx: JobContext, name: str, schema, key: str, rows: list[dict[str, Any]]) -> None:
    _merge(ctx, "silver", name, schema, rows, MergeSpec(keys=(key,)))


def _reward_tx(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    """Stamp row_hash the way the gold job does (content-based), so unchanged rows are not rewritten."""
    return [{**r, "row_hash": f"{r['reward_status']}|{r['transaction_found']}"} for r in rows]


def _snapshot(ctx: JobContext) -> dict[str, Any]:
    tables = {}
    for name in GOLD_STAR:
        uri = ctx.table(lake_tables.gold_star_table(name))
        rows = sorted(tuple(r) for r in ctx.delta.read(ctx.spark, uri).collect())
        tables[name] = {"version": ctx.delta.version(uri), "rows": rows}
    return tables


def _by_key(snapshot: dict[str, Any], table: str, key: str) -> dict[Any, dict[str, Any]]:
    names = [*TABLES_BY_NAME[table].column_names, "row_hash", "run_id"]
    rows = [dict(zip(names, r, strict=True)) for r in snapshot[table]["rows"]]
    return {r[key]: r for r in rows}


def _export_state(lake: str, run_id: str) -> dict[str, Any]:
    folder = Path(lake) / "exports" / run_id
    manifest = json.loads((folder / "_export.json").read_text())
    parquet = sorted(str(p) for p in folder.rglob("*.parquet"))
    return {"manifest": manifest, "parquet_on_disk": parquet}


@pytest.fixture(scope="module")
def lake_runs(spark, tmp_path_factory) -> dict[str, Any]:
    lake = str(tmp_path_factory.mktemp("star") / "lake")
    state: dict[str, Any] = {"lake": lake}

    ctx1 = _ctx(spark, lake, "run-1")
    _silver(
        ctx1,
        "transactions",
        schemas.SILVER_TRANSACTIONS,
        "transaction_id",
        [
            transaction("tx_1"),
            refund("tx_2", "tx_1", amount_gbp=Decimal("10.00"), transaction_ts=datetime(2025, 6, 3, 2, tzinfo=UTC)),
        ],
    )
    _silver(ctx1, "cards", schemas.SILVER_CARDS, "card_token", [card("tok_a", "ch_1")])
    _silver(ctx1, "cardholders", schemas.SILVER_CARDHOLDERS, "cardholder_id", [cardholder("ch_1")])
    _silver(ctx1, "addresses", schemas.SILVER_ADDRESSES, "address_id", [address("addr_1")])
    _silver(ctx1, "merchants", schemas.SILVER_MERCHANTS, "merchant_id", [merchant("m_1")])
    perk_day = datetime(2025, 5, 30, 12, tzinfo=UTC)
    _merge(
        ctx1,
        "gold",
        "reward_transactions",
        schemas.GOLD_REWARD_TRANSACTIONS,
        _reward_tx(
            reward_transaction("rw_1", "tx_1"),
            reward_transaction("rw_perk", None, reward_created_at=perk_day, reward_updated_at=perk_day),
            reward_transaction("rw_early", "tx_late", transaction_found=False),
        ),
        REWARD_TX_SPEC,
    )
    state["run1_metrics"] = star.run(ctx1, StarOptions())
    state["after_run1"] = _snapshot(ctx1)
    state["rerun_metrics"] = star.run(ctx1, StarOptions())
    state["after_rerun"] = _snapshot(ctx1)
    state["export1_metrics"] = export.run(ctx1, ExportOptions())
    state["export1"] = _export_state(lake, "run-1")
    export.run(ctx1, ExportOptions())
    state["export1_again"] = _export_state(lake, "run-1")

    ctx2 = _ctx(spark, lake, "run-2")
    late = transaction(
        "tx_late", transaction_ts=datetime(2025, 6, 10, 22, 30, tzinfo=UTC), merchant_id="m_2", run_id="run-2"
    )
    _silver(ctx2, "transactions", schemas.SILVER_TRANSACTIONS, "transaction_id", [late])
    _silver(ctx2, "merchants", schemas.SILVER_MERCHANTS, "merchant_id", [merchant("m_2", merchant_name="Late Ltd")])
    approved_at = datetime(2025, 7, 17, 1, tzinfo=UTC)
    _merge(
        ctx2,
        "gold",
        "reward_transactions",
        schemas.GOLD_REWARD_TRANSACTIONS,
        _reward_tx(
            reward_transaction("rw_1", "tx_1", reward_status="approved", reward_updated_at=approved_at, run_id="run-2"),
            reward_transaction("rw_early", "tx_late", run_id="run-2"),
        ),
        REWARD_TX_SPEC,
    )
    scores = spark.createDataFrame([("tx_1", 0.7, "v1", "run-2")], TRANSACTION_SCORES)
    ctx2.delta.merge(
        scores,
        ctx2.table(lake_tables.GOLD_TRANSACTION_SCORES),
        MergeSpec(keys=("transaction_id",), compare_column="run_id", version_column=None),
    )
    alert = [
        (
            xxhash64(spark, "tx_late"), "tx_late", xxhash64(spark, "tok_a"), "tok_a", "2095", "Late Ltd", "misc_net",
            4997, "GBP", Decimal("49.97"), 0.93, "amount,hour", "v1", datetime(2025, 6, 10, 22, 30, tzinfo=UTC),
            datetime(2025, 6, 10, 22, 35, tzinfo=UTC), "open", "h", "run-2",
        )
    ]  # fmt: skip
    alerts = spark.createDataFrame(alert, star_struct(FRAUD_ALERTS, bookkeeping=True))
    ctx2.delta.merge(
        alerts,
        ctx2.table(lake_tables.GOLD_FRAUD_ALERTS),
        MergeSpec(keys=("alert_key",), version_column=None, compare_column="row_hash"),
    )
    state["run2_metrics"] = star.run(ctx2, StarOptions())
    state["after_run2"] = _snapshot(ctx2)
    export.run(ctx2, ExportOptions())
    state["export2"] = _export_state(lake, "run-2")
    return state


# -- the star job ------------------------------------------------------------------------------------------


def test_first_run_builds_every_table(lake_runs):
    after = lake_runs["after_run1"]
    assert {t: len(after[t]["rows"]) for t in GOLD_STAR} == {
        "dim_time": 24,
        "dim_statement_kind": 9,
        "dim_address": 1,
        "dim_merchant": 1,
        "dim_customer": 1,
        "fact_transaction": 2,
        "fact_reward": 3,
        "dim_date": 5,  # 2025-05-30 (the perk) .. 2025-06-03 (the refund)
    }
    facts = _by_key(after, "fact_transaction", "transaction_id")
    assert facts["tx_2"]["signed_amount_gbp"] == Decimal("-10.00")
    assert facts["tx_1"]["reward_amount_gbp"] == Decimal("1.4991")
    assert facts["tx_1"]["fraud_score"] is None  # no scores table yet
    assert {r["run_id"] for t in GOLD_STAR for r in _by_key(after, t, TABLES_BY_NAME[t].primary_key[0]).values()} == {
        "run-1"
    }


def test_dim_date_covers_every_fact_date(lake_runs):
    for snapshot in ("after_run1", "after_run2"):
        after = lake_runs[snapshot]
        dates = set(_by_key(after, "dim_date", "date_key"))
        fact_dates = {r["date_key"] for r in _by_key(after, "fact_transaction", "transaction_id").values()}
        fact_dates |= {r["date_key"] for r in _by_key(after, "fact_reward", "reward_id").values()}
        assert fact_dates <= dates
        assert len(dates) == (max(_by_key(after, "dim_date", "full_date")) - date(2025, 5, 30)).days + 1


def test_rerunning_the_same_run_writes_nothing(lake_runs):
    assert sum(t.written for t in lake_runs["rerun_metrics"].tables) == 0
    assert lake_runs["after_rerun"] == lake_runs["after_run1"]  # same Delta versions, same rows


def test_reward_turning_approved_updates_its_fact_row(lake_runs):
    before = _by_key(lake_runs["after_run1"], "fact_reward", "reward_id")
    after = _by_key(lake_runs["after_run2"], "fact_reward", "reward_id")
    assert after.keys() == before.keys()
    assert (before["rw_1"]["reward_status"], after["rw_1"]["reward_status"]) == ("pending", "approved")
    assert after["rw_1"]["is_available"] is True
    assert after["rw_1"]["reward_key"] == before["rw_1"]["reward_key"]
    assert after["rw_1"]["run_id"] == "run-2"
    assert after["rw_perk"] == before["rw_perk"]  # untouched rows keep their run and content


def test_late_transaction_links_its_early_reward(lake_runs):
    before = _by_key(lake_runs["after_run1"], "fact_reward", "reward_id")
    after = _by_key(lake_runs["after_run2"], "fact_reward", "reward_id")
    assert before["rw_early"]["transaction_key"] is None
    assert before["rw_perk"]["transaction_key"] is None
    late = _by_key(lake_runs["after_run2"], "fact_transaction", "transaction_id")["tx_late"]
    assert after["rw_early"]["transaction_key"] == late["transaction_key"]
    assert late["reward_amount_gbp"] == Decimal("1.4991")
    assert late["time_key"] == 22


def test_second_run_rewrites_only_what_changed(lake_runs):
    facts = _by_key(lake_runs["after_run2"], "fact_transaction", "transaction_id")
    assert facts["tx_1"]["fraud_score"] == 0.7
    assert {k: r["run_id"] for k, r in facts.items()} == {"tx_1": "run-2", "tx_2": "run-1", "tx_late": "run-2"}
    merchants = _by_key(lake_runs["after_run2"], "dim_merchant", "merchant_id")
    assert {k: r["run_id"] for k, r in merchants.items()} == {"m_1": "run-1", "m_2": "run-2"}
    before, after = lake_runs["after_run1"], lake_runs["after_run2"]
    for unchanged in ("dim_customer", "dim_address", "dim_time"):
        assert after[unchanged] == before[unchanged], unchanged
    dates = _by_key(after, "dim_date", "full_date")
    assert max(dates) == date(2025, 6, 10)
    assert dates[date(2025, 6, 1)]["run_id"] == "run-1" and dates[date(2025, 6, 10)]["run_id"] == "run-2"


# -- the export --------------------------------------------------------------------------------------------

_ARROW_TYPES = {
    "string": pa.string(),
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}


def _arrow_type(column_type: str) -> pa.DataType:
    if column_type.startswith("decimal("):
        precision, scale = column_type[len("decimal(") : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    if column_type == "timestamp":
        return pa.timestamp("us", tz="UTC")
    return _ARROW_TYPES[column_type]


def test_export_files_match_the_warehouse_tables(lake_runs):
    manifest = lake_runs["export1"]["manifest"]
    assert manifest["run_id"] == "run-1"
    assert list(manifest["tables"]) == [t.name for t in STAR_TABLES]
    for table in STAR_TABLES:
        entry = manifest["tables"][table.name]
        rows = 0
        for uri in entry["files"]:
            assert Path(uri).is_absolute() and Path(uri).exists(), uri
            parquet = pq.ParquetFile(uri)
            arrow = parquet.schema_arrow
            assert arrow.names == table.column_names, table.name
            assert [f.type for f in arrow] == [_arrow_type(c.type) for c in table.columns], table.name
            for i, column in enumerate(table.columns):
                if column.type == "timestamp":  # TIMESTAMP_MICROS, not Spark's legacy INT96
                    assert parquet.metadata.schema.column(i).physical_type == "INT64"
            rows += parquet.metadata.num_rows
        assert rows == entry["rows"], table.name
    gold_rows = {t: len(lake_runs["after_run1"][t]["rows"]) for t in GOLD_STAR}
    assert {t: manifest["tables"][t]["rows"] for t in GOLD_STAR} == gold_rows
    assert manifest["tables"]["fraud_alerts"] == {"files": [], "rows": 0}  # no alerts table yet


def test_export_values_survive_the_round_trip(lake_runs):
    entry = lake_runs["export1"]["manifest"]["tables"]["fact_transaction"]
    table = pa.concat_tables([pq.read_table(f) for f in entry["files"]]).to_pylist()
    refund_row = next(r for r in table if r["transaction_id"] == "tx_2")
    assert refund_row["signed_amount_gbp"] == Decimal("-10.00")
    assert refund_row["transaction_ts"] == datetime(2025, 6, 3, 2, tzinfo=UTC)
    assert "row_hash" not in refund_row and "run_id" not in refund_row


def test_export_rerun_is_idempotent(lake_runs):
    assert lake_runs["export1_again"] == lake_runs["export1"]
    listed = sorted(f for t in lake_runs["export1"]["manifest"]["tables"].values() for f in t["files"])
    assert listed == lake_runs["export1"]["parquet_on_disk"]  # no stale files beside the manifest's


def test_export_holds_only_the_rows_the_run_changed(lake_runs):
    tables = lake_runs["export2"]["manifest"]["tables"]
    assert {name: t["rows"] for name, t in tables.items()} == {
        "dim_date": 7,  # 2025-06-04 .. 2025-06-10
        "dim_time": 0,
        "dim_statement_kind": 0,  # constant: written once, by the first run
        "dim_address": 0,
        "dim_customer": 0,
        "dim_merchant": 1,
        "fact_transaction": 2,
        "fact_reward": 2,
        "fraud_alerts": 1,
    }
    assert tables["dim_customer"]["files"] == []
    assert lake_runs["export1_metrics"].export_manifest_uri.endswith("exports/run-1/_export.json")
