"""Calendar dimensions: dim_date (one row per day of a range) and dim_time (one row per hour of the day)."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.tables import DIM_DATE, DIM_TIME
from spark_jobs.transforms.star import conformed_to, date_key

# A fact date decades away from the rest is bad data upstream, not a calendar to generate.
MAX_DATE_SPAN_DAYS = 366 * 50

# Card fraud clusters late at night: 22:00-03:59.
NIGHT_HOURS = frozenset({22, 23, 0, 1, 2, 3})


def calendar_days(spark: SparkSession, first: date, last: date) -> DataFrame:
    """One row (`full_date`) per day from `first` to `last` inclusive."""
    span = (last - first).days
    if span < 0:
        raise ValueError(f"calendar range is empty: {first} is after {last}")
    if span > MAX_DATE_SPAN_DAYS:
        raise ValueError(
            f"refusing to generate {span + 1} calendar days ({first}..{last}): fact dates that far apart mean "
            "bad dates upstream; check silver transactions/rewards for out-of-range dates"
        )
    return spark.range(0, span + 1).select(F.date_add(F.lit(first), F.col("id").cast("int")).alias("full_date"))


def dim_date(days: DataFrame) -> DataFrame:
    """calendar_days -> dim_date (ISO weekday: 1 = Monday ... 7 = Sunday)."""
    d = F.col("full_date")
    iso_weekday = (F.dayofweek(d) + 5) % 7 + 1  # Spark's dayofweek is 1 = Sunday
    return days.select(
        date_key(d).alias("date_key"),
        d.alias("full_date"),
        F.year(d).alias("year"),
        F.quarter(d).alias("quarter"),
        F.month(d).alias("month"),
        F.date_format(d, "MMMM").alias("month_name"),
        F.dayofmonth(d).alias("day_of_month"),
        iso_weekday.alias("day_of_week"),
        F.date_format(d, "EEEE").alias("day_name"),
        (iso_weekday >= 6).alias("is_weekend"),
    ).transform(conformed_to(DIM_DATE))


def day_part(hour: int) -> str:
    if hour in NIGHT_HOURS:
        return "night"
    if hour < 12:
        return "morning"
    if hour < 18:
        return "afternoon"
    return "evening"


def dim_time(spark: SparkSession) -> DataFrame:
    """The 24 hours of the day; time_key is the hour (the facts' time_key is hour(transaction_ts))."""
    rows = [(h, h, f"{h:02d}:00-{h:02d}:59", day_part(h), h in NIGHT_HOURS) for h in range(24)]
    df = spark.createDataFrame(
        rows, "time_key int, hour_of_day int, hour_label string, day_part string, is_night boolean"
    )
    return df.transform(conformed_to(DIM_TIME))
