"""Synthetic hourly candles for tests of mechanics (splits, loop, registry), not of markets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl


def random_walk_candles(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` hourly OHLCV bars of a log-normal random walk with some volume noise."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.004, n)) * close
    start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    return pl.DataFrame(
        {
            "timestamp": [start + timedelta(hours=i) for i in range(n)],
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.lognormal(3.0, 0.5, n),
        }
    ).with_columns(pl.col("timestamp").dt.cast_time_unit("us"))
