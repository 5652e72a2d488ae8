"""Causal standardization of a score against its own trailing distribution, and the
equal-weight average of standardized scores (the evaluation's ``members_mean``).

Members state their scores (``P(up) - P(down)``) on their own scales, with their own
biases; averaging them raw lets the most biased one dominate. Each is therefore
z-scored at every bar against its own last ``window`` bars *including that bar* (all
known when the bar closes), skipping bars where it gave no score (NaN), and only once it
has ``min_count`` scores there (a score that does not vary there has no z-score). Sums
run front to back (``numpy.cumsum`` is sequential), so the first ``k`` rows are the same
whether computed on ``k`` rows or more.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from models.errors import ConfigError

WINDOW = 500
MIN_COUNT = 100


def trailing_zscore(
    values: np.ndarray, window: int = WINDOW, min_count: int = MIN_COUNT
) -> np.ndarray:
    """``(x_t - mean) / std`` over the finite values among the last ``window`` rows up to
    ``t``; NaN where ``x_t`` is NaN, fewer than ``min_count`` values, or a zero std."""
    if window < 2 or not 2 <= min_count <= window:
        raise ConfigError(f"window {window} / min_count {min_count}: need 2 <= min_count <= window")
    x = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(x)
    filled = np.where(finite, x, 0.0)
    csum = np.concatenate([[0.0], np.cumsum(filled)])
    csq = np.concatenate([[0.0], np.cumsum(filled * filled)])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    hi = np.arange(1, x.size + 1)
    lo = np.maximum(hi - window, 0)
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (csum[hi] - csum[lo]) / count
        var = (csq[hi] - csq[lo]) / count - mean * mean
        std = np.sqrt(np.maximum(var, 0.0))
        z = (x - mean) / std
    # the prefix sums' rounding (~1e-16 of the sum of squares so far) is not variance
    ok = finite & (count >= min_count) & (var > 1e-10 * csq[hi] / np.maximum(count, 1))
    return np.where(ok, z, np.nan)


def standardized_mean(
    scores: Mapping[str, np.ndarray], window: int = WINDOW, min_count: int = MIN_COUNT
) -> np.ndarray:
    """Mean over the members with a standardized score at each row (NaN where none has)."""
    if not scores:
        raise ConfigError("standardized_mean: no member scores")
    z = np.vstack([trailing_zscore(v, window, min_count) for v in scores.values()])
    have = np.isfinite(z)
    total = np.where(have, z, 0.0).sum(axis=0)
    count = have.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)
