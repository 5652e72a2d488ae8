"""Market structure: break of structure (BOS) and change of character (CHoCH).

A break happens at the bar whose CLOSE goes beyond the last confirmed swing high (bullish)
or swing low (bearish) that has not been broken yet. A break in the direction of the
current trend is a BOS, one against it is a CHoCH (the first break of all, with no trend
yet, counts as a BOS); either way the trend becomes the break's direction.

Events are final: the original code deleted breaks that were later undone, which needs the
future. A swing level breaks at most once; a new confirmed swing replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.compiled import compiled
from models.smc.inputs import Candles
from models.smc.swings import NO_INDEX, Swings


@dataclass(frozen=True)
class Structure:
    """Per-row break events and the trend / last swing levels after each bar."""

    bos: np.ndarray  # int8: +1 bullish BOS, -1 bearish BOS, 0 none
    choch: np.ndarray  # int8: +1 bullish CHoCH, -1 bearish CHoCH, 0 none
    break_level: np.ndarray  # level that was broken (NaN when no break)
    break_swing_index: np.ndarray  # pivot bar of that level (-1 when no break)
    trend: np.ndarray  # int8: direction of the last break, 0 before any
    swing_high_level: np.ndarray  # last confirmed swing high (NaN before any)
    swing_low_level: np.ndarray  # last confirmed swing low (NaN before any)

    def break_direction(self) -> np.ndarray:
        """+1 / -1 at every break bar (BOS or CHoCH), 0 elsewhere."""
        direction: np.ndarray = (self.bos + self.choch).astype(np.int8)
        return direction


def _carried(rows: np.ndarray, values: np.ndarray, before: float) -> np.ndarray:
    """At each row ``t``, ``values`` at the latest of ``rows`` up to ``t`` (``before``: none)."""
    size = len(values)
    marks = np.full(size, -1, dtype=np.int64)
    marks[rows] = rows
    latest = np.maximum.accumulate(marks) if size else marks
    return np.where(latest >= 0, values[np.maximum(latest, 0)], before)


def detect_structure(c: Candles, swings: Swings) -> Structure:
    """One forward pass over the bars; swings confirmed at a bar count from that bar on.

    Only the breaks need the pass: the trend and the last swing levels are carried forward
    from the break and confirmation rows afterwards.
    """
    bos, choch, level, pivot = _breaks(
        np.ascontiguousarray(c.close, dtype=np.float64),
        np.ascontiguousarray(swings.high_index, dtype=np.int64),
        np.ascontiguousarray(swings.high_level, dtype=np.float64),
        np.ascontiguousarray(swings.low_index, dtype=np.int64),
        np.ascontiguousarray(swings.low_level, dtype=np.float64),
    )
    breaks = (bos + choch).astype(np.int8)
    trend = _carried(np.flatnonzero(breaks), breaks, 0).astype(np.int8)
    last_high = _carried(np.flatnonzero(swings.high_index != NO_INDEX), swings.high_level, np.nan)
    last_low = _carried(np.flatnonzero(swings.low_index != NO_INDEX), swings.low_level, np.nan)
    return Structure(bos, choch, level, pivot, trend, last_high, last_low)


@compiled
def _breaks(
    close: np.ndarray,
    sh_idx: np.ndarray,
    sh_lvl: np.ndarray,
    sl_idx: np.ndarray,
    sl_lvl: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bos, choch, broken level, its pivot bar) per row: the pass over the bars."""
    size = close.size
    bos = np.zeros(size, dtype=np.int8)
    choch = np.zeros(size, dtype=np.int8)
    level = np.full(size, np.nan)
    pivot = np.full(size, NO_INDEX, dtype=np.int64)
    # the last confirmed swing high / low: price, pivot bar, and whether a close went through
    high_price = low_price = np.nan
    high_index = low_index = NO_INDEX
    high_open = low_open = False
    current = 0
    for t in range(size):
        if sh_idx[t] != NO_INDEX:
            high_price, high_index, high_open = sh_lvl[t], sh_idx[t], True
        if sl_idx[t] != NO_INDEX:
            low_price, low_index, low_open = sl_lvl[t], sl_idx[t], True
        if high_open and close[t] > high_price:
            direction, level[t], pivot[t], high_open = 1, high_price, high_index, False
        elif low_open and close[t] < low_price:
            direction, level[t], pivot[t], low_open = -1, low_price, low_index, False
        else:
            continue
        if current == -direction:
            choch[t] = direction
        else:
            bos[t] = direction
        current = direction
    return bos, choch, level, pivot
