"""Trailing-window helpers of the regime detector against brute-force definitions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.errors import ConfigError, DataValidationError
from models.regime.rolling import (
    lagged_difference,
    prior_max,
    prior_median,
    prior_min,
    regression_slope,
    trailing_rank,
)
from tests.causality import assert_prefix_causal

RNG = np.random.default_rng(7)
SERIES = np.round(RNG.normal(0.0, 1.0, 120), 1)  # rounded so ties occur


def _brute(values: np.ndarray, window: int, fn, *, include_current: bool) -> np.ndarray:
    out = np.full(values.size, np.nan)
    for t in range(values.size):
        lo, hi = (t - window + 1, t + 1) if include_current else (t - window, t)
        if lo >= 0:
            out[t] = fn(values[lo:hi], values[t])
    return out


def _rank(window: np.ndarray, current: float) -> float:
    before = window[:-1]
    return ((before < current).sum() + 0.5 * (before == current).sum()) / before.size


@pytest.mark.parametrize("window", [2, 5, 30])
def test_trailing_rank_matches_definition(window: int) -> None:
    expected = _brute(SERIES, window, _rank, include_current=True)
    np.testing.assert_array_equal(trailing_rank(SERIES, window), expected)


def test_trailing_rank_extremes_constant_and_nan() -> None:
    rising = np.arange(10.0)
    assert np.all(trailing_rank(rising, 4)[3:] == 1.0)
    assert np.all(trailing_rank(-rising, 4)[3:] == 0.0)
    assert np.all(trailing_rank(np.ones(10), 4)[3:] == 0.5)
    with_gap = rising.copy()
    with_gap[5] = np.nan
    ranks = trailing_rank(with_gap, 3)
    assert np.isnan(ranks[5:8]).all() and ranks[8] == 1.0
    assert np.isnan(trailing_rank(rising, 20)).all()


_GAPPY = st.lists(st.sampled_from([-1.0, -0.0, 0.0, 0.5, 2.0, np.nan]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(values=_GAPPY, window=st.integers(2, 12))
def test_trailing_rank_counts_ties_and_nans_like_the_definition(values, window) -> None:
    """Ties (``-0.0 == 0.0`` too) count half; a NaN in the window or at the bar gives NaN."""
    series = np.array(values, dtype=np.float64)

    def rank(w: np.ndarray, current: float) -> float:
        return np.nan if np.isnan(w).any() else _rank(w, current)

    expected = _brute(series, window, rank, include_current=True)
    np.testing.assert_array_equal(trailing_rank(series, window), expected)


@pytest.mark.parametrize(
    ("helper", "reducer"),
    [(prior_median, np.median), (prior_max, np.max), (prior_min, np.min)],
)
@pytest.mark.parametrize("window", [1, 3, 20])
def test_prior_window_helpers_exclude_the_current_bar(helper, reducer, window: int) -> None:
    expected = _brute(SERIES, window, lambda w, _: reducer(w), include_current=False)
    np.testing.assert_array_equal(helper(SERIES, window), expected)


def test_regression_slope_matches_polyfit() -> None:
    window = 9
    got = regression_slope(SERIES, window)
    expected = _brute(
        SERIES, window, lambda w, _: np.polyfit(np.arange(w.size), w, 1)[0], include_current=True
    )
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    line = 3.0 + 0.25 * np.arange(40.0)
    np.testing.assert_allclose(regression_slope(line, 10)[9:], 0.25)


def test_lagged_difference() -> None:
    got = lagged_difference(np.array([1.0, 2.0, 4.0, 7.0]), 2)
    np.testing.assert_array_equal(got, [np.nan, np.nan, 3.0, 5.0])


def test_bad_windows_are_rejected() -> None:
    with pytest.raises(ConfigError, match="trailing_rank: window must be >= 2, got 1"):
        trailing_rank(SERIES, 1)
    with pytest.raises(ConfigError, match="prior_median: window must be >= 1, got 0"):
        prior_median(SERIES, 0)
    with pytest.raises(DataValidationError, match="1-D"):
        regression_slope(SERIES.reshape(2, -1), 3)


def test_helpers_are_prefix_causal_on_real_data(btc: pl.DataFrame) -> None:
    frame = btc.head(3000)

    def compute(df: pl.DataFrame) -> pl.DataFrame:
        close = df["close"].to_numpy()
        volume = df["volume"].to_numpy()
        return pl.DataFrame(
            {
                "rank": trailing_rank(close, 200),
                "median": prior_median(volume, 20),
                "max": prior_max(df["high"].to_numpy(), 20),
                "slope": regression_slope(np.log(close), 20),
            }
        )

    assert_prefix_causal(compute, frame, [1, 21, 199, 200, 201, 1234, 2999])
