"""Compile the features' per-bar loops before the first request needs them.

The indicators, SMC, regime and tree features run compiled loops (:mod:`models.compiled`),
compiled at their first call: seconds on a fresh install, a fraction of a second when
numba's disk cache already holds them. A Serve replica calls :func:`compile_feature_kernels`
while it starts, so the first live request (and its deadline) never pays for it; the test
session does the same before any Ray replica starts.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from models.predictors.tree_features import leader_feature_block, own_feature_block

WARM_UP_BARS = 800
"""Longer than every feature's warm-up (a week of hours for the longest window), so every
compiled loop runs its main path, not only an early return."""


def synthetic_candles(bars: int = WARM_UP_BARS, seed: int = 0) -> pl.DataFrame:
    """Hourly candles of a seeded random walk: only to exercise the code, never to score."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, bars)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.004, bars)) * close
    start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    stamps = pl.datetime_range(
        start, start + timedelta(hours=bars - 1), "1h", eager=True, time_unit="us"
    )
    return pl.DataFrame(
        {
            "timestamp": stamps,
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.lognormal(3.0, 0.5, bars),
        }
    )


@functools.cache
def compile_feature_kernels() -> None:
    """Run the tree features (which call every compiled loop of the indicators, the SMC
    analysis and the regime scores) once on synthetic candles; once per process (several
    replicas' constructors may share one)."""
    candles = synthetic_candles()
    own_feature_block(candles)
    leader_feature_block(candles)
