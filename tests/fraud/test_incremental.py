"""The incremental features job gives exactly what a full recomputation gives, whatever the batch order."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from contracts.jobs import FeaturesOptions
from contracts.lake import GOLD_TRANSACTION_FEATURES
from contracts.landing import Window
from contracts.results import TableCounts
from spark_jobs.delta_io import MergeSpec, get_delta_io
from spark_jobs.jobs import features as features_job
from spark_jobs.jobs.context import JobContext
from spark_jobs.transforms.features import (
    FEATURE_TABLE_COLUMNS,
    WEEK_S,
    card_history,
    category_amount_reference,
    transaction_features,
)
from tests.fraud.helpers import (
    addresses_df,
    cardholders_df,
    merchants_df,
    random_history,
    transactions_df,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SILVER_MERGE = MergeSpec(keys=("transaction_id",))
DOBS = {"ch0": date(1970, 1, 2), "ch1": date(1990, 5, 6), "ch2": date(2001, 12, 31)}
HOMES = {"addr0": (36.0, -81.0), "addr1": (40.7, -74.0), "addr2": (34.0, -118.2)}
SHOPS = {"m0": (36.1, -81.1), "m1": (40.0, -75.0), "m2": (35.0, -100.0), "m3": (47.6, -122.3)}


class Lake:
    def __init__(self, spark, root) -> None:
        self.spark, self.root, self.io = spark, str(root), get_delta_io("delta-rs", spark)
        for name, df in (
            ("cardholders", cardholders_df(spark, DOBS)),
            ("addresses", addresses_df(spark, HOMES)),
            ("merchants", merchants_df(spark, SHOPS)),
        ):
            self.io.merge(df, f"{self.root}/silver/{name}", MergeSpec(keys=(df.columns[0],)))

    def ingest(self, rows, run_id: str, full_refresh: bool = False) -> TableCounts:
        batch = [{**r, "run_id": run_id} for r in rows]
        self.io.merge(transactions_df(self.spark, batch), f"{self.root}/silver/transactions", SILVER_MERGE)
        ctx = JobContext(
            spark=self.spark,
            delta=self.io,
            landing_uri="",
            lake_uri=self.root,
            window=Window(datetime(2025, 1, 1), datetime(2025, 1, 2)),
            run_id=run_id,
        )
        return features_job.run(ctx, FeaturesOptions(full_refresh=full_refresh)).table(GOLD_TRANSACTION_FEATURES.path)

    def gold(self) -> dict[str, dict]:
        df = self.io.read(self.spark, f"{self.root}/gold/transaction_features")
        return {r["transaction_id"]: r.asDict() for r in df.collect()}


def full_recompute(spark, rows) -> dict[str, dict]:
    df = transactions_df(spark, rows)
    result = transaction_features(
        df,
        cardholders_df(spark, DOBS),
        addresses_df(spark, HOMES),
        category_amount_reference(df),
    )
    return {r["transaction_id"]: r.asDict() for r in result.collect()}


def without_run_id(table: dict[str, dict]) -> dict[str, dict]:
    return {k: {c: v[c] for c in FEATURE_TABLE_COLUMNS if c != "run_id"} for k, v in table.items()}


FIRST_DAY = date(2025, 3, 1)


def by_day(rows) -> list[list[dict]]:
    days: dict[int, list[dict]] = {}
    for r in rows:
        days.setdefault((r["transaction_date"] - FIRST_DAY).days // 2, []).append(r)  # two days a batch
    return [days[d] for d in sorted(days)]


HISTORY = random_history()


@pytest.fixture(scope="module")
def expected(spark):
    return full_recompute(spark, HISTORY)


def test_history_exercises_the_hard_cases():
    assert any(r["is_refund"] for r in HISTORY)
    stamps = [(r["card_token"], r["transaction_ts"]) for r in HISTORY]
    assert len(stamps) != len(set(stamps))  # same-second purchases on one card
    assert len(by_day(HISTORY)) == 4


def test_daily_batches_in_order_equal_full_recomputation(spark, tmp_path, expected):
    lake = Lake(spark, tmp_path)
    for i, batch in enumerate(by_day(HISTORY)):
        metrics = lake.ingest(batch, f"run-{i}")
        assert metrics.read == len(batch)
    gold = lake.gold()
    assert without_run_id(gold) == without_run_id(expected)

    # a correction to one earlier purchase: its card's later rows change, other cards' earlier rows are untouched
    target = sorted(
        (r for r in HISTORY if r["transaction_date"] == date(2025, 3, 5) and not r["is_refund"]),
        key=lambda r: r["transaction_id"],
    )[0]
    corrected = {
        **target,
        "amount_gbp": target["amount_gbp"] * 7,
        "updated_at": target["updated_at"] + timedelta(days=9),
        "record_hash": "corrected",
    }
    metrics = lake.ingest([corrected], "run-fix")
    history = [corrected if r["transaction_id"] == target["transaction_id"] else r for r in HISTORY]
    after = lake.gold()
    assert without_run_id(after) == without_run_id(full_recompute(spark, history))
    rewritten = {k for k, v in after.items() if v["run_id"] == "run-fix"}
    assert target["transaction_id"] in rewritten
    assert metrics.updated == len(rewritten) and metrics.inserted == 0
    untouched = [
        k
        for k, v in after.items()
        if v["card_token"] != target["card_token"] and v["transaction_date"] <= target["transaction_date"]
    ]
    assert untouched and not rewritten & set(untouched)

    again = lake.ingest([corrected], "run-fix")  # the same run re-processed (a retried window) rewrites nothing
    assert again.inserted == 0 and again.updated == 0


def test_shuffled_batches_with_late_arrivals_equal_full_recomputation(spark, tmp_path, expected):
    lake = Lake(spark, tmp_path)
    batches = by_day(HISTORY)
    order = list(range(len(batches)))
    random.Random(3).shuffle(order)
    assert order != sorted(order)
    for i in order:
        lake.ingest(batches[i], f"run-{i}")
    assert without_run_id(lake.gold()) == without_run_id(expected)

    refresh = lake.ingest([], "run-refresh", full_refresh=True)
    assert refresh.read == len(HISTORY) and refresh.updated == 0 and refresh.inserted == 0
    assert refresh.note.endswith(f"{len(HISTORY)} row(s) recomputed")


@pytest.mark.parametrize(
    ("earliest_change", "latest_other_day", "may_move"),
    [
        (date(2025, 3, 5), date(2025, 3, 6), True),  # a late arrival: the next day's references include it
        (date(2025, 3, 5), date(2025, 3, 5), False),  # same day: a reference counts earlier days only
        (date(2025, 3, 6), date(2025, 3, 5), False),  # a new day appended after all history (daily, stream)
        (date(2025, 3, 5), None, False),  # nothing else in silver: the first run
    ],
)
def test_category_references_are_refreshed_only_when_a_later_day_exists(earliest_change, latest_other_day, may_move):
    assert features_job._references_may_move(earliest_change, latest_other_day) is may_move


# ---- a card's history summarised before a boundary (what keeps an appended day cheap) ----------------------
LONG_HISTORY = random_history(seed=19, cards=3, days=24, start=datetime(2025, 4, 1))


def test_long_history_exercises_the_summary():
    assert any(r["is_refund"] for r in LONG_HISTORY)
    assert len({(r["card_token"], r["transaction_ts"]) for r in LONG_HISTORY}) < len(LONG_HISTORY)  # same second
    assert (max(r["transaction_ts"] for r in LONG_HISTORY) - min(r["transaction_ts"] for r in LONG_HISTORY)).days > 20


@pytest.mark.parametrize("boundary_day", [3, 10, 16])
def test_rows_a_week_past_a_summarised_history_equal_the_full_history(spark, boundary_day):
    boundary = datetime(2025, 4, 1) + timedelta(days=boundary_day, hours=13, seconds=17)
    everything = transactions_df(spark, LONG_HISTORY)
    earlier = transactions_df(spark, [r for r in LONG_HISTORY if r["transaction_ts"] < boundary])
    recent = transactions_df(spark, [r for r in LONG_HISTORY if r["transaction_ts"] >= boundary])
    dims = (cardholders_df(spark, DOBS), addresses_df(spark, HOMES))
    reference = category_amount_reference(everything)
    split = transaction_features(recent, *dims, reference, history=card_history(earlier))
    full = transaction_features(everything, *dims, reference)
    valid_from = boundary + timedelta(seconds=WEEK_S)
    expected = {r["transaction_id"]: r.asDict() for r in full.collect() if r["transaction_ts"] >= valid_from}
    got = {r["transaction_id"]: r.asDict() for r in split.collect() if r["transaction_ts"] >= valid_from}
    assert expected and got == expected  # bit for bit, row hash included
    assert any(r["card_txn_count_before"] > 20 and r["card_amount_std_before"] for r in got.values())


def test_days_appended_to_a_long_history_and_a_correction_equal_full_recomputation(spark, tmp_path):
    lake = Lake(spark, tmp_path)
    day = {r["transaction_id"]: (r["transaction_date"] - date(2025, 4, 1)).days for r in LONG_HISTORY}
    lake.ingest([r for r in LONG_HISTORY if day[r["transaction_id"]] < 20], "run-history")
    for n in range(20, 24):  # each later day on its own, as the daily run and the stream bring them
        lake.ingest([r for r in LONG_HISTORY if day[r["transaction_id"]] == n], f"run-day-{n}")
    assert without_run_id(lake.gold()) == without_run_id(full_recompute(spark, LONG_HISTORY))

    target = min((r for r in LONG_HISTORY if day[r["transaction_id"]] == 21 and not r["is_refund"]),
                 key=lambda r: r["transaction_id"])  # fmt: skip
    later = target["updated_at"] + timedelta(days=5)
    corrected = {**target, "amount_gbp": target["amount_gbp"] * 3, "updated_at": later, "record_hash": "corrected"}
    lake.ingest([corrected], "run-fix")
    history = [corrected if r["transaction_id"] == target["transaction_id"] else r for r in LONG_HISTORY]
    after = lake.gold()
    assert without_run_id(after) == without_run_id(full_recompute(spark, history))
    rewritten = {k for k, v in after.items() if v["run_id"] == "run-fix"}
    assert target["transaction_id"] in rewritten
    assert all(after[k]["transaction_ts"] >= target["transaction_ts"] for k in rewritten)
