"""One clock per symbol: steps in whole intervals, nothing from the future, stored bars closed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from models.data.clock import check_clock, check_continues_clock
from models.errors import DataValidationError

HOUR_US = 3_600_000_000


def _frame(stamps: list[datetime]) -> pl.DataFrame:
    n = len(stamps)
    ts = pl.Series("timestamp", stamps).cast(pl.Datetime("us", "UTC"))
    return pl.DataFrame({"timestamp": ts, "close": [1.0] * n})


def _us(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


START = datetime(2023, 3, 24, 10, tzinfo=timezone.utc)
NOW = _us(datetime(2024, 1, 1, tzinfo=timezone.utc))


def test_hourly_candles_with_an_exchange_gap_pass(btc) -> None:
    window = btc.filter(pl.col("timestamp") >= START).head(30)  # the 2 h gap of 2023-03-24
    assert window["timestamp"].diff().max() == timedelta(hours=2)
    check_clock(window, HOUR_US, NOW, closed=True)


@pytest.mark.parametrize("minutes", [1, 30, 90])
def test_steps_that_are_not_whole_intervals_name_the_row(minutes: int) -> None:
    stamps = [START + timedelta(hours=i) for i in range(5)]
    stamps[3] = stamps[2] + timedelta(minutes=minutes)
    stamps[4] = stamps[3] + timedelta(hours=1)
    with pytest.raises(DataValidationError) as err:
        check_clock(_frame(stamps), HOUR_US, NOW, closed=False)
    assert err.value.row == 3 and err.value.column == "timestamp"
    assert "this symbol's bars are 1h" in err.value.reason


def test_the_future_is_refused_and_stored_bars_must_have_closed() -> None:
    now = START + timedelta(hours=10, minutes=20)
    forming = [START + timedelta(hours=i) for i in range(11)]  # the last opened 20 min ago
    check_clock(_frame(forming), HOUR_US, _us(now), closed=False)  # a prediction on it: fine
    with pytest.raises(DataValidationError, match="has not closed yet"):
        check_clock(_frame(forming), HOUR_US, _us(now), closed=True)
    ahead = [*forming, START + timedelta(hours=13)]
    with pytest.raises(DataValidationError, match="in the future") as err:
        check_clock(_frame(ahead), HOUR_US, _us(now), closed=False)
    assert err.value.row == 11


def test_an_append_continues_the_stored_bars_in_whole_intervals() -> None:
    last = _us(START)
    check_continues_clock(last + 3 * HOUR_US, last, HOUR_US)
    check_continues_clock(last + HOUR_US, None, HOUR_US)
    with pytest.raises(DataValidationError, match=r"90m after the last stored one"):
        check_continues_clock(last + HOUR_US + 30 * 60_000_000, last, HOUR_US)
