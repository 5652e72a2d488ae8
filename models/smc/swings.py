"""Swing highs and lows, reported only when they are confirmed.

A pivot at bar ``i`` needs ``N`` bars on each side, so nobody can know it before the close
of bar ``i + N``. The original code marked it at ``i`` (a centred window, i.e. it used the
future); here the pivot appears at row ``i + N`` together with the pivot's own index.

Pivot high: ``high[i]`` is above every high of the ``N`` bars before and not below any of the
``N`` bars after (on a flat top the first bar is the pivot). Pivot low mirrors it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.smc.inputs import Candles

NO_INDEX = -1
"""Index value meaning "no swing confirmed at this row"."""


@dataclass(frozen=True)
class Swings:
    """Per-row confirmations: level (NaN when none) and pivot bar index (-1 when none)."""

    high_level: np.ndarray
    high_index: np.ndarray
    low_level: np.ndarray
    low_index: np.ndarray


def _pivots(values: np.ndarray, n: int, *, high: bool) -> np.ndarray:
    """Bar indices ``i`` (with ``n`` bars both sides) that are pivots of ``values``."""
    size = len(values)
    if size < 2 * n + 1:
        return np.empty(0, dtype=np.int64)
    windows = sliding_window_view(values, n)
    extreme = windows.max(axis=1) if high else windows.min(axis=1)
    centre = np.arange(n, size - n)
    left = extreme[centre - n]
    right = extreme[centre + 1]
    v = values[centre]
    keep = (v > left) & (v >= right) if high else (v < left) & (v <= right)
    pivots: np.ndarray = centre[keep]
    return pivots


def detect_swings(c: Candles, swing_length: int) -> Swings:
    """Swing pivots placed at their confirmation row ``i + swing_length``."""
    size = len(c)
    out: list[np.ndarray] = []
    for values, high in ((c.high, True), (c.low, False)):
        level = np.full(size, np.nan)
        index = np.full(size, NO_INDEX, dtype=np.int64)
        pivots = _pivots(values, swing_length, high=high)
        level[pivots + swing_length] = values[pivots]
        index[pivots + swing_length] = pivots
        out.extend((level, index))
    return Swings(*out)
