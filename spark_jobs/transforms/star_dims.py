"""Dimension transforms: silver entities -> dim_address, dim_merchant, dim_customer (warehouse columns only;
`star.star_rows` adds row_hash and run_id)."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.records import CARD_KINDS, SPEND_KINDS, STATEMENT_KIND_LABELS, STATEMENT_KINDS
from contracts.tables import DIM_ADDRESS, DIM_CUSTOMER, DIM_MERCHANT, DIM_STATEMENT_KIND
from spark_jobs.transforms.star import conformed_to, surrogate_key

# Upper bounds (exclusive) of the city size classes, by population.
RURAL_BELOW = 10_000
TOWN_BELOW = 100_000

# (lowest age, label), highest first: the first band whose lowest age the customer has reached.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (65, "65+"),
    (55, "55-64"),
    (45, "45-54"),
    (35, "35-44"),
    (25, "25-34"),
    (18, "18-24"),
    (0, "under 18"),
)


def city_size(population: Column) -> Column:
    return (
        F.when(population.isNull(), F.lit(None).cast("string"))
        .when(population < RURAL_BELOW, "rural")
        .when(population < TOWN_BELOW, "town")
        .otherwise("urban")
    )


def age_in_years(date_of_birth: Column, as_of: date) -> Column:
    """Completed years on `as_of`: one less than the year difference before this year's birthday."""
    ref = F.lit(as_of)
    before_birthday = (F.month(ref) < F.month(date_of_birth)) | (
        (F.month(ref) == F.month(date_of_birth)) & (F.dayofmonth(ref) < F.dayofmonth(date_of_birth))
    )
    return F.year(ref) - F.year(date_of_birth) - F.when(before_birthday, 1).otherwise(0)


def age_band(date_of_birth: Column, as_of: date) -> Column:
    age = age_in_years(date_of_birth, as_of)
    band = F.when(date_of_birth.isNull() | (age < 0), F.lit(None).cast("string"))
    for lowest, label in AGE_BANDS:
        band = band.when(age >= lowest, label)
    return band


def dim_statement_kind(spark: SparkSession) -> DataFrame:
    """One row per statement row kind of contracts.records (constant, like dim_time)."""
    rows = [
        (i, kind, STATEMENT_KIND_LABELS[kind], kind in SPEND_KINDS, kind in CARD_KINDS, kind == "card_refund")
        for i, kind in enumerate(STATEMENT_KINDS)
    ]
    schema = "statement_kind_key int, statement_kind string, label string, is_spend boolean, is_card_row boolean, "
    return spark.createDataFrame(rows, schema + "is_refund boolean").transform(conformed_to(DIM_STATEMENT_KIND))


def dim_address(addresses: DataFrame) -> DataFrame:
    """silver/addresses -> dim_address."""
    return addresses.select(
        surrogate_key("address_id").alias("address_key"),
        "address_id",
        "street",
        "city",
        "state",
        "zip",
        F.col("lat").alias("latitude"),
        F.col("long").alias("longitude"),
        "city_population",
        city_size(F.col("city_population")).alias("city_size"),
        "updated_at",
    ).transform(conformed_to(DIM_ADDRESS))


def dim_merchant(merchants: DataFrame) -> DataFrame:
    """silver/merchants -> dim_merchant."""
    return merchants.select(
        surrogate_key("merchant_id").alias("merchant_key"),
        "merchant_id",
        "merchant_name",
        "category",
        "mcc",
        F.col("merchant_lat").alias("merchant_latitude"),
        F.col("merchant_long").alias("merchant_longitude"),
        "updated_at",
    ).transform(conformed_to(DIM_MERCHANT))


def cards_with_cardholder(cards: DataFrame, cardholders: DataFrame) -> DataFrame:
    """One row per card with its cardholder's attributes (null when the cardholder is unknown)."""
    holder = cardholders.select(
        "cardholder_id",
        "first_name",
        "last_name",
        "gender",
        "job",
        "date_of_birth",
        "address_id",
        F.col("updated_at").alias("cardholder_updated_at"),
    )
    return (
        cards.select("card_token", "card_last4", "cardholder_id", F.col("updated_at").alias("card_updated_at"))
        .join(holder, "cardholder_id", "left")
        # The row changes when either the card or its holder does.
        .withColumn("updated_at", F.greatest("card_updated_at", "cardholder_updated_at"))
        .drop("card_updated_at", "cardholder_updated_at")
    )


def dim_customer(cards_and_holders: DataFrame, as_of: date) -> DataFrame:
    """cards_with_cardholder -> dim_customer; the age band is the age on `as_of` (the run's reference date)."""
    return cards_and_holders.select(
        surrogate_key("card_token").alias("customer_key"),
        "card_token",
        "card_last4",
        "cardholder_id",
        "first_name",
        "last_name",
        "gender",
        "job",
        "date_of_birth",
        age_band(F.col("date_of_birth"), as_of).alias("age_band"),
        surrogate_key("address_id").alias("address_key"),
        "updated_at",
    ).transform(conformed_to(DIM_CUSTOMER))


def customers_with_stale_age_band(customers: DataFrame, as_of: date) -> DataFrame:
    """dim_customer rows whose stored age band is no longer the band on `as_of` (a birthday crossed a boundary),
    so the job refreshes them even though their silver rows did not change."""
    current = age_band(F.col("date_of_birth"), as_of)
    return customers.where(~F.col("age_band").eqNullSafe(current)).select("card_token")
