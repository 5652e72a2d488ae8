"""Long windows (a week of hours and more): prefix-exact, and summed in the sequential
oldest-first order, whatever the window length."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.features import rolling


def _sequential_sum(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for i in range(n - 1, len(x)):
        total = 0.0
        for v in x[i - n + 1 : i + 1]:
            total += v
        out[i] = total
    return out


@pytest.mark.parametrize("n", [5, 64, 168, 200])
def test_prefixes_give_the_same_bits(n: int) -> None:
    rng = np.random.default_rng(n)
    x = 60_000 * np.exp(np.cumsum(rng.normal(0, 0.01, 9000)))
    full = {f.__name__: f(x, n) for f in (rolling.rolling_sum, rolling.rolling_std)}
    full["rolling_max"] = rolling.rolling_max(x, n)
    for k in (n - 1, n, n + 1, 4095 + n, 4096 + n, 4097 + n, 8999):
        for f in (rolling.rolling_sum, rolling.rolling_std, rolling.rolling_max):
            part = f(x[:k], n)
            np.testing.assert_array_equal(part, full[f.__name__][:k], err_msg=f"{f.__name__} {k}")


def test_long_sums_agree_with_the_sequential_order() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 1500) + 100.0
    for n in (3, 168):
        np.testing.assert_array_equal(rolling.rolling_sum(x, n), _sequential_sum(x, n))
    std = rolling.rolling_std(x, 168)[167:]
    ref = np.array([x[i : i + 168].std() for i in range(len(x) - 167)])
    np.testing.assert_allclose(std, ref, rtol=1e-12)
    assert np.isnan(rolling.rolling_max(np.r_[x[:10], np.nan, x[10:200]], 168)[167:178]).all()


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.sampled_from([-2.0, -0.0, 0.0, 1.0, 3.5, np.nan]), max_size=60),
    n=st.integers(1, 12),
)
def test_extremes_are_each_windows_own_with_nans_spreading(values, n) -> None:
    """The one-pass extremes against ``max`` / ``min`` of every window (NaN if it holds one)."""
    x = np.array(values, dtype=np.float64)
    for fast, reduce in ((rolling.rolling_max, np.max), (rolling.rolling_min, np.min)):
        expected = np.full(x.size, np.nan)
        for i in range(n - 1, x.size):
            expected[i] = reduce(x[i - n + 1 : i + 1])
        np.testing.assert_array_equal(fast(x, n), expected)
