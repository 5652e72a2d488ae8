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
        return (self.bos + self.choch).astype(np.int8)


class _Level:
    """The last confirmed swing on one side and whether a close has gone through it."""

    __slots__ = ("broken", "index", "price")

    def __init__(self) -> None:
        self.price = float("nan")
        self.index = NO_INDEX
        self.broken = True

    def confirm(self, price: float, index: int) -> None:
        self.price, self.index, self.broken = price, index, False


def detect_structure(c: Candles, swings: Swings) -> Structure:
    """One forward pass: swings confirmed at a bar count from that bar on."""
    size = len(c)
    close = c.close.tolist()
    sh_idx, sl_idx = swings.high_index.tolist(), swings.low_index.tolist()
    sh_lvl, sl_lvl = swings.high_level.tolist(), swings.low_level.tolist()
    bos = np.zeros(size, dtype=np.int8)
    choch = np.zeros(size, dtype=np.int8)
    level = np.full(size, np.nan)
    pivot = np.full(size, NO_INDEX, dtype=np.int64)
    trend = np.zeros(size, dtype=np.int8)
    last_high = np.full(size, np.nan)
    last_low = np.full(size, np.nan)
    high, low = _Level(), _Level()
    current = 0
    for t in range(size):
        if sh_idx[t] != NO_INDEX:
            high.confirm(sh_lvl[t], sh_idx[t])
        if sl_idx[t] != NO_INDEX:
            low.confirm(sl_lvl[t], sl_idx[t])
        direction = 0
        if not high.broken and close[t] > high.price:
            direction, broken = 1, high
        elif not low.broken and close[t] < low.price:
            direction, broken = -1, low
        if direction:
            (choch if current == -direction else bos)[t] = direction
            level[t], pivot[t] = broken.price, broken.index
            broken.broken = True
            current = direction
        trend[t] = current
        last_high[t], last_low[t] = high.price, low.price
    return Structure(bos, choch, level, pivot, trend, last_high, last_low)
