"""dim_date and dim_time."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.tables import DIM_DATE, DIM_TIME
from spark_jobs.transforms.star import star_struct
from spark_jobs.transforms.star_calendar import calendar_days, dim_date, dim_time

pytestmark = pytest.mark.spark


def test_dim_date_covers_the_range_with_iso_weekdays(spark):
    out = dim_date(calendar_days(spark, date(2024, 2, 28), date(2024, 3, 4)))
    assert [(f.name, f.dataType) for f in out.schema] == [(f.name, f.dataType) for f in star_struct(DIM_DATE)]
    rows = {r["full_date"]: r for r in out.collect()}
    assert sorted(rows) == [date(2024, 2, d) for d in (28, 29)] + [date(2024, 3, d) for d in (1, 2, 3, 4)]
    leap = rows[date(2024, 2, 29)]
    assert (leap["date_key"], leap["year"], leap["quarter"], leap["month"], leap["month_name"]) == (
        20240229,
        2024,
        1,
        2,
        "February",
    )
    assert (leap["day_of_week"], leap["day_name"], leap["is_weekend"]) == (4, "Thursday", False)
    sunday = rows[date(2024, 3, 3)]
    assert (sunday["day_of_week"], sunday["day_name"], sunday["is_weekend"]) == (7, "Sunday", True)
    monday = rows[date(2024, 3, 4)]
    assert (monday["day_of_week"], monday["is_weekend"]) == (1, False)


def test_calendar_refuses_reversed_or_absurd_ranges(spark):
    with pytest.raises(ValueError, match="empty"):
        calendar_days(spark, date(2025, 1, 2), date(2025, 1, 1))
    with pytest.raises(ValueError, match="bad dates upstream"):
        calendar_days(spark, date(1900, 1, 1), date(2025, 1, 1))


def test_dim_time_has_24_hours_and_the_night_flag(spark):
    out = dim_time(spark)
    assert [(f.name, f.dataType) for f in out.schema] == [(f.name, f.dataType) for f in star_struct(DIM_TIME)]
    rows = sorted(out.collect(), key=lambda r: r["time_key"])
    assert [r["time_key"] for r in rows] == list(range(24))
    assert {r["hour_of_day"] for r in rows if r["is_night"]} == {22, 23, 0, 1, 2, 3}
    by_hour = {r["hour_of_day"]: r for r in rows}
    assert (by_hour[21]["is_night"], by_hour[4]["is_night"]) == (False, False)
    assert by_hour[22]["hour_label"] == "22:00-22:59"
    assert by_hour[7]["hour_label"] == "07:00-07:59"
    assert [by_hour[h]["day_part"] for h in (3, 4, 11, 12, 17, 18, 21, 22)] == [
        "night",
        "morning",
        "morning",
        "afternoon",
        "afternoon",
        "evening",
        "evening",
        "night",
    ]
