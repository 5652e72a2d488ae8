"""The moving-block bootstrap the report's tests share: bars resampled in blocks of a day,
so the overlap of consecutive 4-bar outcomes (and a day's autocorrelation) stays inside a
block instead of being counted as independent evidence."""

from __future__ import annotations

import math

import numpy as np

BLOCK_BARS = 24
"""Block length of the bootstrap: a day of hourly bars, several times the 4-bar horizon,
so overlapping outcomes stay inside one block."""


def block_sample(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` row indices of ``0..n-1`` drawn as consecutive blocks of :data:`BLOCK_BARS`."""
    if n == 0:
        return np.arange(0)
    starts = rng.integers(0, max(n - BLOCK_BARS, 0) + 1, size=math.ceil(n / BLOCK_BARS))
    return (starts[:, None] + np.arange(min(BLOCK_BARS, n))[None, :]).ravel()[:n]
