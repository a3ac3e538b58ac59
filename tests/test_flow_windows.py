"""The windows the backfill, alerts and pipeline flows run over."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.landing import Window
from flows.alerts import alert_window
from flows.backfill import chunks
from flows.pipeline import default_window, resolve_window


def d(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=UTC)


def test_backfill_chunks_cover_the_range_exactly_once_and_the_last_is_short():
    assert chunks(d(1), d(10), 4) == [Window(d(1), d(5)), Window(d(5), d(9)), Window(d(9), d(10))]


@pytest.mark.parametrize(("start", "end", "days", "message"), [(d(2), d(1), 1, "after"), (d(1), d(2), 0, "at least")])
def test_backfill_refuses_an_empty_range_or_chunk(start, end, days, message):
    with pytest.raises(ValueError, match=message):
        chunks(start, end, days)


def test_alert_window_ends_on_the_minute_and_looks_back():
    assert alert_window(datetime(2025, 6, 1, 12, 7, 42, tzinfo=UTC), 15) == Window(
        datetime(2025, 6, 1, 11, 52, tzinfo=UTC),
        datetime(2025, 6, 1, 12, 7, tzinfo=UTC),
    )


def test_the_daily_default_window_is_yesterday_in_utc():
    assert default_window(d(3, 2)) == Window(d(2), d(3))


def test_a_half_given_window_is_refused():
    with pytest.raises(ValueError, match="both start and end"):
        resolve_window(d(1), None)
