"""Resampling against a by-hand aggregation of the real hourly candles."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.data.resample import resample_ohlcv
from models.errors import ConfigError, DataValidationError
from tests.data.frames import synthetic_candles

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _by_hand(df: pl.DataFrame, hours: int) -> list[tuple]:
    """Plain-Python aggregation: bucket = floor((t - epoch) / width), rows in time order."""
    width = timedelta(hours=hours)
    buckets: dict[datetime, list[float]] = {}
    for ts, o, h, low, c, v in df.iter_rows():
        start = EPOCH + ((ts - EPOCH) // width) * width
        if start not in buckets:
            buckets[start] = [o, h, low, c, v]
        else:
            bar = buckets[start]
            bar[1] = max(bar[1], h)
            bar[2] = min(bar[2], low)
            bar[3] = c
            bar[4] += v
    return [(start, *bar) for start, bar in buckets.items()]


@pytest.mark.parametrize(("every", "hours"), [("4h", 4), ("1d", 24)])
def test_matches_hand_computation_on_real_data(btc: pl.DataFrame, every: str, hours: int):
    out = resample_ohlcv(btc, every)
    expected = _by_hand(btc, hours)
    assert out.height == len(expected)
    assert out.schema == btc.schema
    for got, want in zip(out.iter_rows(), expected, strict=True):
        assert got[:5] == want[:5]
        assert got[5] == pytest.approx(want[5], rel=1e-12)


def test_known_bars_by_value(btc: pl.DataFrame) -> None:
    four = resample_ohlcv(btc, "4h")
    first = four.row(0, named=True)
    hours = btc.head(3)  # data starts 21:00, inside the 20:00-24:00 bucket
    assert first["timestamp"] == datetime(2021, 4, 4, 20, tzinfo=timezone.utc)
    assert first["open"] == hours["open"][0] and first["close"] == hours["close"][2]
    assert first["high"] == hours["high"].max() and first["low"] == hours["low"].min()
    # 2021-04-20 02:00 and 03:00 are missing: the 00:00 bar is built from 00:00 and 01:00.
    gap_bar = four.filter(pl.col("timestamp") == datetime(2021, 4, 20, tzinfo=timezone.utc))
    src = btc.filter(
        pl.col("timestamp").is_between(
            datetime(2021, 4, 20, tzinfo=timezone.utc),
            datetime(2021, 4, 20, 3, tzinfo=timezone.utc),
        )
    )
    assert src.height == 2
    assert gap_bar["close"][0] == src["close"][1]
    assert gap_bar["volume"][0] == pytest.approx(src["volume"].sum())
    daily = resample_ohlcv(btc, "1d")
    assert (daily["timestamp"].dt.hour() == 0).all()
    assert daily.schema["timestamp"] == pl.Datetime("us", "UTC")


def test_weekly_bars_open_on_monday(btc: pl.DataFrame) -> None:
    weekly = resample_ohlcv(btc, "1w")
    assert (weekly["timestamp"].dt.weekday() == 1).all()
    assert weekly["volume"].sum() == pytest.approx(btc["volume"].sum())


def test_closed_only_is_prefix_causal(btc: pl.DataFrame) -> None:
    full = resample_ohlcv(btc, "4h", closed_only=True)
    assert full.height == resample_ohlcv(btc, "4h").height  # data ends 19:00: last bar closed
    for k in (1, 3, 4, 100, 1_001, 5_003, 23_986):
        part = resample_ohlcv(btc.head(k), "4h", closed_only=True)
        assert_frame_equal(part, full.head(part.height))
        last_end = btc["timestamp"][k - 1] + timedelta(hours=1)
        assert part.height == 0 or part["timestamp"][-1] + timedelta(hours=4) <= last_end
        forming = resample_ohlcv(btc.head(k), "4h")
        assert forming.height - part.height in (0, 1)


def test_extra_columns_dropped_and_bad_arguments() -> None:
    df = synthetic_candles(24).with_columns(rsi=pl.lit(50.0))
    assert resample_ohlcv(df, "6h").columns == [
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    with pytest.raises(ConfigError, match="every=30m is not a whole multiple of the data's 1h"):
        resample_ohlcv(df, "30m")
    with pytest.raises(ConfigError, match="every=90m is not a whole multiple"):
        resample_ohlcv(df, "90m")
    with pytest.raises(ConfigError, match="every 'daily' is not an interval"):
        resample_ohlcv(df, "daily")
    with pytest.raises(DataValidationError, match="column 'close': missing column"):
        resample_ohlcv(df.drop("close"), "4h")
