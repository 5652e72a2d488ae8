"""ISO instants read one way everywhere, and the half-open period of candles between them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from models.data.times import epoch_us_array, parse_utc, restrict_period
from models.errors import ConfigError
from tests.data.frames import START, synthetic_candles

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-06-01", datetime(2023, 6, 1, tzinfo=UTC)),
        ("2023-06-01T10:00Z", datetime(2023, 6, 1, 10, tzinfo=UTC)),
        ("2023-06-01T10:00:00", datetime(2023, 6, 1, 10, tzinfo=UTC)),
        ("2023-06-01T12:00:00+02:00", datetime(2023, 6, 1, 10, tzinfo=UTC)),
    ],
)
def test_iso_text_becomes_an_aware_instant(text: str, expected: datetime) -> None:
    parsed = parse_utc(text, "start")
    assert parsed == expected and parsed.tzinfo is not None


def test_datetimes_pass_and_naive_ones_are_utc() -> None:
    aware = datetime(2023, 1, 1, 5, tzinfo=timezone(timedelta(hours=3)))
    assert parse_utc(aware, "x") is aware
    assert parse_utc(datetime(2023, 1, 1), "x") == datetime(2023, 1, 1, tzinfo=UTC)


def test_bad_values_name_the_field() -> None:
    with pytest.raises(ConfigError, match="--start: not an ISO date or timestamp: 'yesterday'"):
        parse_utc("yesterday", "--start")
    with pytest.raises(ConfigError, match="end: expected an ISO date or datetime, got 5"):
        parse_utc(5, "end")  # type: ignore[arg-type]


def test_period_is_half_open_and_bounds_are_optional() -> None:
    candles = synthetic_candles(48)
    assert restrict_period(candles, None, None).equals(candles)
    start, end = START + timedelta(hours=10), START + timedelta(hours=20)
    part = restrict_period(candles, start, end.isoformat())
    assert part["timestamp"].to_list() == candles["timestamp"].to_list()[10:20]
    assert restrict_period(candles, None, "2022-03-01T05:00").height == 5
    assert restrict_period(candles, "2022-03-02T23:00Z", None).height == 1


_STAMPS = [datetime(1969, 12, 31, 23, tzinfo=UTC), datetime(2023, 6, 1, 10, 30, 0, 7, tzinfo=UTC)]


@pytest.mark.parametrize(
    "dtype",
    [
        pl.Datetime("us", "UTC"),
        pl.Datetime("us", "Europe/Berlin"),
        pl.Datetime("us"),
        pl.Datetime("ms", "UTC"),
        pl.Datetime("ns", "UTC"),
    ],
    ids=str,
)
def test_epoch_microseconds_are_polars_own_in_every_unit_and_zone(dtype: pl.DataType) -> None:
    """The fast read of a microsecond column and polars' conversion agree, before 1970 too."""
    stamps = pl.Series("timestamp", _STAMPS).cast(dtype)
    expected = stamps.dt.epoch("us").to_numpy()
    got = epoch_us_array(stamps)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_epoch_microseconds_of_a_column_with_nulls_keep_polars_reading() -> None:
    stamps = pl.Series("timestamp", [_STAMPS[1], None], dtype=pl.Datetime("us", "UTC"))
    np.testing.assert_array_equal(epoch_us_array(stamps), stamps.dt.epoch("us").to_numpy())
