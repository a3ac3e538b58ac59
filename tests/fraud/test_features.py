"""Each feature on hand-made card histories with known answers, including every window boundary.

Every scenario runs on its own card (and its own category where the category reference matters); all of them
go through the feature pipeline together once, so the module costs one Spark job rather than one per test.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from spark_jobs.transforms.features import (
    DAY_S,
    HOUR_S,
    TWO_DAYS_S,
    WEEK_S,
    category_amount_reference,
    transaction_features,
    with_calendar_features,
    with_card_velocity,
    with_event_time,
    with_row_hash,
)
from tests.fraud.helpers import T0, addresses_df, at, cardholders_df, transactions_df, txn

pytestmark = pytest.mark.spark

DAY1, DAY2 = datetime(2025, 6, 1, 10), datetime(2025, 6, 2, 10)
N0 = datetime(2025, 6, 12, 23, 0)  # a night purchase at the end of a burst

PARIS, LONDON = (48.8566, 2.3522), (51.5074, -0.1278)

SCENARIOS: list[dict] = [
    # windows: exactly 1 h / 24 h / 7 d before count, one second more does not; refunds and other cards never
    txn("w7d_out", at(-WEEK_S - 1), card="win"),
    txn("w7d_edge", at(-WEEK_S), card="win"),
    txn("w24_out", at(-DAY_S - 1), card="win"),
    txn("w24_edge", at(-DAY_S), card="win"),
    txn("w1h_out", at(-HOUR_S - 1), card="win"),
    txn("w1h_edge", at(-HOUR_S), card="win"),
    txn("w_refund", at(-10), card="win", refund=True),
    txn("w_other_card", at(-5), card="win-other"),
    txn("w_now", T0, card="win"),
    # night purchases and spend in the last 24 h
    txn("n_23h", datetime(2025, 6, 3, 23, 0), "100", card="night"),
    txn("n_01h", datetime(2025, 6, 4, 1, 0), "50.50", card="night"),
    txn("n_refund", datetime(2025, 6, 4, 2, 0), "999", card="night", refund=True),
    txn("n_10h", datetime(2025, 6, 4, 10, 0), "20", card="night"),
    txn("n_now", datetime(2025, 6, 4, 11, 0), "5", card="night"),
    # order: later rows never leak into earlier ones
    txn("o1", T0, card="order"),
    txn("o2", at(60), card="order"),
    txn("o3", at(120), card="order"),
    # same second: ordered by transaction_id
    txn("s_b", T0, "20", card="same"),
    txn("s_a", T0, "10", card="same"),
    txn("s_c", T0, "30", card="same"),
    txn("s_earlier", at(-30), "40", card="same"),
    # time since previous purchase skips refunds
    txn("g_p1", T0, card="gap"),
    txn("g_r", at(100), card="gap", refund=True),
    txn("g_p2", at(250), card="gap"),
    # running amount statistics
    txn("a1", T0, "10", card="amt"),
    txn("a2", at(10), "20", card="amt"),
    txn("a3", at(20), "30", card="amt"),
    txn("a4", at(30), "60", card="amt"),
    *[txn(f"flat{i}", at(i * 10), "10", card="flat") for i in range(4)],
    txn("flat_big", at(100), "50", card="flat"),
    # first purchase at a merchant
    txn("m1a", T0, card="merch", merchant="m1"),
    txn("m2a", at(10), card="merch", merchant="m2"),
    txn("m1b", at(20), card="merch", merchant="m1"),
    txn("m3refund", at(30), card="merch", merchant="m3", refund=True),
    txn("m3a", at(40), card="merch", merchant="m3"),
    txn("m_other_card_m1", at(50), card="merch-other", merchant="m1"),
    # age on the birthday (date of birth 1988-03-09)
    txn("age_before", datetime(2020, 3, 8, 23, 0), card="age"),
    txn("age_on", datetime(2020, 3, 9, 1, 0), card="age"),
    # distance: home in London
    txn("d_paris", T0, card="dist", merchant="paris", address="london", merchant_at=PARIS),
    txn("d_home", at(5), card="dist", merchant="home", address="london", merchant_at=LONDON),
    # a merchant that reports another location on a later purchase: each purchase keeps its own distance
    txn("d_chain_paris", at(7), card="dist", merchant="chain", address="london", merchant_at=PARIS),
    txn("d_chain_london", at(9), card="dist", merchant="chain", address="london", merchant_at=LONDON),
    txn("d_unknown", at(9), card="dist", merchant="zz", address="london"),
    # category reference: category mean over earlier days only (min history 2 in this module)
    txn("c_d1a", DAY1, "10", card="cat1", category="cat_ref"),
    txn("c_d1b", at(60, DAY1), "30", card="cat2", category="cat_ref"),
    txn("c_d1refund", at(90, DAY1), "500", card="cat1", category="cat_ref", refund=True),
    txn("c_d1other", at(120, DAY1), "999", card="cat1", category="cat_other"),
    txn("c_d2", DAY2, "40", card="cat3", category="cat_ref"),
    txn("c_d2same_day", at(60, DAY2), "40", card="cat1", category="cat_ref"),
    # burst footprint: 48 h boundary, night vs day (22:00 is night, 21:00 is not), a night refund, the same second
    txn("b_48_out", at(-TWO_DAYS_S - 1, N0), "300", card="burst", category="misc_net"),
    txn("b_48_edge", at(-TWO_DAYS_S, N0), "200", card="burst", category="misc_net"),
    txn("b_24_out", at(-DAY_S - 1, N0), "20", card="burst", category="entertainment"),
    txn("b_24_edge", at(-DAY_S, N0), "10", card="burst", category="kids_pets"),
    txn("b_day", datetime(2025, 6, 12, 15, 0), "999", card="burst", category="home"),
    txn("b_21h", datetime(2025, 6, 12, 21, 0), "5", card="burst", category="travel"),
    txn("b_22h", datetime(2025, 6, 12, 22, 0), "0.01", card="burst", category="travel"),
    txn("b_refund", at(-1800, N0), "500", card="burst", category="misc_pos", refund=True),
    txn("b_night1", at(-600, N0), "50", card="burst", category="shopping_net"),
    txn("b_same_a", N0, "70", card="burst", category="grocery_pos"),
    txn("b_same_b", N0, "80", card="burst", category="grocery_pos"),
    # amount against the card's own mean in the category
    txn("cc1", T0, "10", card="cc", category="shopping_net"),
    txn("cc2", at(10), "20", card="cc", category="shopping_net"),
    txn("cc_other", at(15), "1000", card="cc", category="grocery_pos"),
    txn("cc_refund", at(18), "500", card="cc", category="shopping_net", refund=True),
    txn("cc3", at(20), "30", card="cc", category="shopping_net"),
    txn("cc4_a", at(30), "60", card="cc", category="shopping_net"),
    txn("cc4_b", at(30), "60", card="cc", category="shopping_net"),
    txn("cc_other_card", at(40), "40", card="cc-other", category="shopping_net"),
]


@pytest.fixture(scope="module")
def computed(spark):
    df = transactions_df(spark, SCENARIOS)
    result = transaction_features(
        df,
        cardholders_df(spark, {"ch1": date(1988, 3, 9)}),
        addresses_df(spark, {"addr1": (36.0, -81.0), "london": LONDON}),
        category_amount_reference(df, min_history=2),
    ).cache()
    return result, {r["transaction_id"]: r for r in result.collect()}


@pytest.fixture(scope="module")
def rows(computed):
    return computed[1]


def test_every_transaction_gets_one_feature_row(computed):
    df, by_id = computed
    assert df.count() == len(SCENARIOS) == len(by_id)


def test_velocity_windows_count_prior_purchases_with_inclusive_boundaries(rows):
    now = rows["w_now"]
    assert now["txn_count_1h"] == 1  # 3600 s before counts, 3601 s does not; the refund never counts
    assert now["txn_count_24h"] == 3
    assert now["txn_count_7d"] == 5
    assert now["card_txn_count_before"] == 6
    assert rows["w1h_edge"]["txn_count_1h"] == 1  # w1h_out is exactly 1 s earlier
    assert rows["w7d_out"]["txn_count_7d"] == 0


def test_night_count_and_spend_in_last_24h(rows):
    now = rows["n_now"]
    assert (now["night_txn_count_24h"], now["amount_24h_gbp"]) == (2, 170.5)  # the refund counts for neither
    assert now["max_amount_24h_gbp"] == 100.0
    assert now["amount_24h_to_card_mean"] == pytest.approx(170.5 / ((100 + 50.5 + 20) / 3))
    assert rows["n_10h"]["amount_24h_to_card_mean"] is None  # two prior purchases: too short a history
    assert (rows["n_23h"]["night_txn_count_24h"], rows["n_23h"]["amount_24h_gbp"]) == (0, 0.0)
    assert rows["n_23h"]["max_amount_24h_gbp"] is None
    assert rows["s_b"]["max_amount_24h_gbp"] == 40.0 and rows["s_c"]["max_amount_24h_gbp"] == 40.0  # same second
    assert rows["w_now"]["amount_24h_gbp"] == 30.0  # three 10.00 purchases, the one 24 h 1 s before excluded


def test_velocity_excludes_current_row_and_later_rows(rows):
    assert [rows[i]["txn_count_1h"] for i in ("o1", "o2", "o3")] == [0, 1, 2]


def test_same_second_transactions_are_ordered_by_transaction_id(rows):
    assert [rows[i]["txn_count_1h"] for i in ("s_earlier", "s_a", "s_b", "s_c")] == [0, 1, 2, 3]
    assert rows["s_a"]["seconds_since_prev_txn"] == 30
    assert rows["s_b"]["seconds_since_prev_txn"] == 0
    assert rows["s_earlier"]["seconds_since_prev_txn"] is None
    assert rows["s_c"]["card_amount_mean_before"] == pytest.approx((40 + 10 + 20) / 3)
    assert rows["s_b"]["card_txn_count_before"] == 2


def test_velocity_transform_alone(spark):
    """The window transform on minimal rows: the same second counts only smaller ids; 1 h ago counts, 1 h 1 s not."""
    history = [txn("x", at(-HOUR_S - 1)), txn("y", at(-HOUR_S)), txn("z1", T0), txn("z2", T0)]
    actual = (
        transactions_df(spark, history)
        .transform(with_event_time)
        .transform(with_calendar_features)
        .transform(with_card_velocity)
        .select("transaction_id", "txn_count_1h")
    )
    expected = spark.createDataFrame(
        [("x", 0), ("y", 1), ("z1", 1), ("z2", 2)], "transaction_id string, txn_count_1h long"
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_seconds_since_previous_skips_refunds(rows):
    assert rows["g_p2"]["seconds_since_prev_txn"] == 250
    assert rows["g_r"]["seconds_since_prev_txn"] == 100  # a refund gets features too, against purchases only
    assert rows["g_p2"]["card_txn_count_before"] == 1


def test_amount_against_card_history(rows):
    a4 = rows["a4"]
    assert a4["card_txn_count_before"] == 3
    assert a4["card_amount_mean_before"] == pytest.approx(20.0)
    assert a4["card_amount_std_before"] == pytest.approx(10.0)
    assert a4["amount_to_card_mean"] == pytest.approx(3.0)
    assert a4["amount_zscore"] == pytest.approx(4.0)
    # fewer than MIN_CARD_HISTORY (3) prior purchases: no ratio, no z-score
    assert rows["a3"]["amount_to_card_mean"] is None and rows["a3"]["amount_zscore"] is None
    assert rows["a1"]["card_amount_mean_before"] is None and rows["a1"]["card_txn_count_before"] == 0


def test_zscore_is_null_when_history_has_no_spread(rows):
    assert rows["flat_big"]["amount_to_card_mean"] == pytest.approx(5.0)
    assert rows["flat_big"]["amount_zscore"] is None


def test_first_purchase_at_merchant(rows):
    firsts = {i: rows[i]["is_first_at_merchant"] for i in ("m1a", "m2a", "m1b", "m3refund", "m3a", "m_other_card_m1")}
    assert firsts == {
        "m1a": True,
        "m2a": True,
        "m1b": False,
        "m3refund": True,
        "m3a": True,  # the earlier refund there is not a purchase
        "m_other_card_m1": True,
    }


@pytest.mark.parametrize(
    ("clock", "hour", "night"),
    [("21:59:59", 21, False), ("22:00:00", 22, True), ("03:59:59", 3, True), ("04:00:00", 4, False)],
)
def test_hour_and_night_boundaries(spark, clock, hour, night):
    df = spark.createDataFrame([(f"2025-06-09 {clock}",)], "ts string").select(
        F.to_timestamp("ts").alias("transaction_ts"), F.lit(False).alias("is_refund")
    )
    row = df.transform(with_event_time).transform(with_calendar_features).first()
    assert (row["hour_of_day"], row["is_night"], row["day_of_week"]) == (hour, night, 1)  # 2025-06-09: Monday


def test_day_of_week_is_iso(spark):
    df = spark.createDataFrame([("2025-06-15 12:00:00",), ("2025-06-10 00:00:00",)], "ts string").select(
        F.to_timestamp("ts").alias("transaction_ts"), F.lit(False).alias("is_refund")
    )
    days = [r["day_of_week"] for r in df.transform(with_event_time).transform(with_calendar_features).collect()]
    assert days == [7, 2]


def test_calendar_columns_in_pipeline(rows):
    assert (rows["w_now"]["hour_of_day"], rows["w_now"]["is_night"], rows["w_now"]["day_of_week"]) == (12, False, 2)


def test_cardholder_age_turns_on_the_birthday(rows):
    assert (rows["age_before"]["cardholder_age_years"], rows["age_on"]["cardholder_age_years"]) == (31, 32)


def test_distance_is_from_each_purchases_own_merchant_location(rows):
    assert rows["d_chain_paris"]["home_merchant_distance_km"] == pytest.approx(343.5, abs=1.0)
    assert rows["d_chain_london"]["home_merchant_distance_km"] == pytest.approx(0.0, abs=1e-9)


def test_home_merchant_distance_haversine(rows):
    assert rows["d_paris"]["home_merchant_distance_km"] == pytest.approx(343.5, abs=1.0)
    assert rows["d_home"]["home_merchant_distance_km"] == pytest.approx(0.0, abs=1e-9)
    assert rows["d_unknown"]["home_merchant_distance_km"] is None  # unknown merchant: null, not a guess


def test_category_reference_uses_only_earlier_days(rows):
    assert rows["c_d1b"]["category_amount_mean_before"] is None  # nothing from earlier days
    assert rows["c_d2"]["category_amount_mean_before"] == pytest.approx(20.0)  # refund, other category ignored
    assert rows["c_d2"]["category_txn_count_before"] == 2
    assert rows["c_d2"]["amount_to_category_mean"] == pytest.approx(2.0)
    assert rows["c_d2same_day"]["amount_to_category_mean"] == pytest.approx(2.0)  # same day adds nothing


def test_burst_windows_count_prior_purchases_with_inclusive_boundaries(rows):
    now = rows["b_same_b"]
    # night purchases in 48 h: b_48_edge, b_24_out, b_24_edge, b_22h, b_night1 and b_same_a (same second, smaller
    # id); not b_48_out (48 h 1 s before), the day purchases (b_day, b_21h) nor the refund
    assert now["night_txn_count_48h"] == 6
    assert now["night_amount_48h_gbp"] == pytest.approx(200 + 20 + 10 + 0.01 + 50 + 70)
    assert now["max_night_amount_48h_gbp"] == 200.0
    assert rows["b_same_a"]["night_txn_count_48h"] == 5  # a larger id in the same second never counts
    assert rows["b_48_out"]["max_night_amount_48h_gbp"] is None and rows["b_48_out"]["night_amount_48h_gbp"] == 0.0
    assert rows["b_48_edge"]["night_txn_count_48h"] == 1


def test_seconds_since_previous_night_purchase(rows):
    assert rows["b_48_out"]["seconds_since_prev_night_txn"] is None
    assert rows["b_day"]["seconds_since_prev_night_txn"] == 16 * HOUR_S  # since b_24_edge at 23:00 the day before
    assert rows["b_22h"]["seconds_since_prev_night_txn"] == 23 * HOUR_S  # b_day and b_21h are day purchases
    assert rows["b_night1"]["seconds_since_prev_night_txn"] == 50 * 60  # the refund in between is skipped
    assert rows["b_same_b"]["seconds_since_prev_night_txn"] == 0


def test_card_night_share_before(rows):
    assert rows["b_24_out"]["card_night_share_before"] is None  # two prior purchases: too short a history
    assert rows["b_24_edge"]["card_night_share_before"] == 1.0
    assert rows["b_same_b"]["card_night_share_before"] == pytest.approx(7 / 9)  # the refund is no purchase


def test_amount_against_card_category_mean(rows):
    assert rows["cc3"]["card_category_txn_count_before"] == 2  # the other category and the refund excluded
    assert rows["cc3"]["amount_to_card_category_mean"] is None
    assert rows["cc4_a"]["card_category_txn_count_before"] == 3
    assert rows["cc4_a"]["amount_to_card_category_mean"] == pytest.approx(60 / 20)
    assert rows["cc4_b"]["amount_to_card_category_mean"] == pytest.approx(60 / 30)  # same second, smaller id first
    assert rows["cc_other"]["card_category_txn_count_before"] == 0
    assert rows["cc_other_card"]["card_category_txn_count_before"] == 0


def test_row_hash_ignores_run_id_and_tracks_features(computed):
    df, _ = computed
    one = df.where("transaction_id = 'a4'")
    rehashed = one.withColumn("run_id", F.lit("another-run")).transform(with_row_hash).first()
    changed = one.withColumn("amount_gbp", F.lit(61.0)).transform(with_row_hash).first()
    original = one.first()
    assert rehashed["row_hash"] == original["row_hash"]
    assert changed["row_hash"] != original["row_hash"]
