"""Dimension transforms: keys, age bands, city sizes, conformance to tables.py."""

from __future__ import annotations

from datetime import date

import pytest
from chispa import assert_df_equality

from contracts.tables import DIM_ADDRESS, DIM_CUSTOMER, DIM_MERCHANT
from spark_jobs import schemas
from spark_jobs.transforms.star import star_struct, surrogate_key
from spark_jobs.transforms.star_dims import (
    cards_with_cardholder,
    customers_with_stale_age_band,
    dim_address,
    dim_customer,
    dim_merchant,
)
from tests.star.builders import T0, address, card, cardholder, frame, merchant, xxhash64

pytestmark = pytest.mark.spark

AS_OF = date(2025, 6, 15)


def test_surrogate_key_is_spark_xxhash64_and_pinned(spark):
    """Keys must never change between runs or releases: a different hash would orphan every warehouse row."""
    row = spark.createDataFrame([("tx_1",), (None,)], "id string").select(surrogate_key("id").alias("k")).collect()
    assert row[0]["k"] == 3262884105429560825
    assert row[1]["k"] is None  # not xxhash64's seed 42, which would glue all missing references to one row


def test_dim_address_row_and_key(spark):
    out = frame(spark, schemas.SILVER_ADDRESSES, [address("addr_1")]).transform(dim_address)
    expected = spark.createDataFrame(
        [
            (
                9049093493332916881,
                "addr_1",
                "561 Perry Cove",
                "Moravian Falls",
                "NC",
                "28654",
                36.0788,
                -81.1781,
                3495,
                "rural",
                T0,
            )
        ],
        star_struct(DIM_ADDRESS),
    )
    assert_df_equality(out, expected, ignore_nullable=True)


CITY_SIZES = [(0, "rural"), (9_999, "rural"), (10_000, "town"), (99_999, "town"), (100_000, "urban"), (None, None)]


def test_city_size_boundaries(spark):
    rows = [address(f"a{i}", city_population=population) for i, (population, _) in enumerate(CITY_SIZES)]
    out = frame(spark, schemas.SILVER_ADDRESSES, rows).transform(dim_address).collect()
    assert [(r["city_population"], r["city_size"]) for r in sorted(out, key=lambda r: r["address_id"])] == CITY_SIZES


def test_dim_merchant_renames_and_keys(spark):
    out = frame(spark, schemas.SILVER_MERCHANTS, [merchant("m_1")]).transform(dim_merchant)
    assert [(f.name, f.dataType) for f in out.schema] == [(f.name, f.dataType) for f in star_struct(DIM_MERCHANT)]
    row = out.first()
    assert row["merchant_key"] == xxhash64(spark, "m_1")
    assert (row["merchant_latitude"], row["merchant_longitude"]) == (36.011293, -82.048315)


def _customers(spark, holders, cards):
    return dim_customer(
        cards_with_cardholder(
            frame(spark, schemas.SILVER_CARDS, cards), frame(spark, schemas.SILVER_CARDHOLDERS, holders)
        ),
        AS_OF,
    )


AGE_BANDS_ON_AS_OF = [
    (date(2007, 6, 16), "under 18"),  # 18 tomorrow
    (date(2007, 6, 15), "18-24"),  # 18 today
    (date(2000, 6, 16), "18-24"),  # 24, 25 tomorrow
    (date(2000, 6, 15), "25-34"),
    (date(1990, 6, 16), "25-34"),
    (date(1990, 6, 15), "35-44"),
    (date(1970, 6, 15), "55-64"),
    (date(1960, 6, 16), "55-64"),  # 64
    (date(1960, 6, 15), "65+"),
    (date(2008, 2, 29), "under 18"),  # leap-day birth: 17 on 2025-06-15
    (None, None),
]


def test_age_band_boundaries(spark):
    holders = [cardholder(f"ch_{i:02d}", date_of_birth=birth) for i, (birth, _) in enumerate(AGE_BANDS_ON_AS_OF)]
    cards = [card(f"tok_{i:02d}", f"ch_{i:02d}") for i in range(len(AGE_BANDS_ON_AS_OF))]
    out = sorted(_customers(spark, holders, cards).collect(), key=lambda r: r["card_token"])
    assert [(r["date_of_birth"], r["age_band"]) for r in out] == AGE_BANDS_ON_AS_OF


def test_dim_customer_one_row_per_card_with_holder_and_address_key(spark):
    holders = [cardholder("ch_1"), cardholder("ch_2", address_id=None, updated_at=T0.replace(year=2026))]
    cards = [card("tok_a", "ch_1"), card("tok_b", "ch_1", card_last4="1111"), card("tok_c", "ch_2")]
    out = {r["card_token"]: r for r in _customers(spark, holders, cards).collect()}
    assert out.keys() == {"tok_a", "tok_b", "tok_c"}
    assert out["tok_a"]["cardholder_id"] == out["tok_b"]["cardholder_id"] == "ch_1"
    assert out["tok_a"]["customer_key"] != out["tok_b"]["customer_key"]
    assert out["tok_a"]["address_key"] == 9049093493332916881
    assert out["tok_c"]["address_key"] is None
    assert out["tok_c"]["updated_at"].year == 2026  # the holder's change is the row's change
    assert _customers(spark, holders, cards).columns == DIM_CUSTOMER.column_names


def test_card_without_known_cardholder_still_gets_a_row(spark):
    out = _customers(spark, [], [card("tok_x", "ch_missing")]).collect()
    assert [(r["card_token"], r["first_name"], r["age_band"]) for r in out] == [("tok_x", None, None)]


def test_stale_age_band_is_found_after_a_birthday(spark):
    stored = _customers(spark, [cardholder("ch_1", date_of_birth=date(2007, 6, 16))], [card("tok_a", "ch_1")])
    assert stored.first()["age_band"] == "under 18"
    assert customers_with_stale_age_band(stored, AS_OF).count() == 0
    stale = customers_with_stale_age_band(stored, date(2025, 6, 16)).collect()
    assert [r["card_token"] for r in stale] == ["tok_a"]
