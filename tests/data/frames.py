"""Synthetic candle frames for tests of mechanics (parsing, validation), not of markets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

START = datetime(2022, 3, 1, tzinfo=timezone.utc)


def synthetic_candles(
    n: int = 48, seed: int = 0, start: datetime = START, step: timedelta = timedelta(hours=1)
) -> pl.DataFrame:
    """A valid candle frame of ``n`` bars: a random walk with consistent high/low envelopes."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.01, n))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.01, n))
    volume = rng.uniform(0.0, 1000.0, n)
    timestamps = pl.datetime_range(
        start, start + (n - 1) * step, interval=step, time_unit="us", time_zone="UTC", eager=True
    )
    return pl.DataFrame(
        {
            "timestamp": timestamps,
            "open": np.round(open_, 4),
            "high": np.round(high, 4) + 0.0001,
            "low": np.round(low, 4) - 0.0001,
            "close": np.round(close, 4),
            "volume": np.round(volume, 6),
        }
    )
