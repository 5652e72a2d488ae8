"""Causal standardization and the members' standardized mean."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import ConfigError
from models.features.standardize import standardized_mean, trailing_zscore


def test_zscore_by_hand():
    x = np.array([1.0, 2.0, 3.0, np.nan, 5.0])
    z = trailing_zscore(x, window=3, min_count=2)
    # row 1: [1, 2] mean 1.5 std 0.5 -> +1; row 2: [1, 2, 3] -> (3 - 2) / 0.8165
    assert np.isnan(z[0]) and z[1] == pytest.approx(1.0)
    assert z[2] == pytest.approx(1.0 / np.std([1.0, 2.0, 3.0]))
    assert np.isnan(z[3])  # no score at the row
    assert z[4] == pytest.approx((5.0 - 4.0) / 1.0)  # window rows 2..4: [3, 5]


def test_zscore_is_prefix_causal_to_the_bit():
    x = np.random.default_rng(0).normal(0.2, 0.05, 3000)
    x[::7] = np.nan
    full = trailing_zscore(x)
    for k in (150, 999, 2500):
        np.testing.assert_array_equal(trailing_zscore(x[:k]), full[:k])


def test_a_biased_member_does_not_dominate_the_mean():
    rng = np.random.default_rng(1)
    signal = rng.normal(size=2000)
    quiet = 0.01 * signal + 0.3  # tiny scale, big bias
    loud = 5.0 * rng.normal(size=2000)  # pure noise on a big scale
    mean = standardized_mean({"quiet": quiet, "loud": loud})
    late = slice(600, None)
    assert np.corrcoef(mean[late], signal[late])[0, 1] == pytest.approx(np.sqrt(0.5), abs=0.05)
    assert np.isnan(mean[:99]).all() and np.isfinite(mean[99:]).all()


def test_constant_scores_and_bad_windows():
    assert np.isnan(trailing_zscore(np.full(300, 0.2))).all()
    with pytest.raises(ConfigError, match="min_count"):
        trailing_zscore(np.zeros(10), window=5, min_count=6)
    with pytest.raises(ConfigError, match="no member"):
        standardized_mean({})
