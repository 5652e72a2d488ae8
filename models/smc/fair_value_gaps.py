"""Fair value gaps: three-candle imbalances and how price fills them afterwards.

Bullish gap at bar ``t``: ``low[t] > high[t-2]``, band ``[high[t-2], low[t]]``; bearish gap:
``high[t] < low[t-2]``, band ``[high[t], low[t-2]]``. Both need bar ``t`` to close, so
they appear at row ``t`` (the middle candle ``t-1`` is recorded as the gap's bar). Gaps
smaller than ``fvg_min_size_atr`` ATRs are ignored.

From the next bar on a gap fills: a bar trading into the band makes it partially filled
(the still-open band shrinks to what price has not reached; counted once, at the first
such bar) and a bar reaching its far edge fills it fully (counted at that bar; it is then
inactive). A bar that goes straight through counts only as a full fill. Gaps expire
``max_lookback`` bars after they form; at most ``max_active`` are kept per side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.smc.config import SmcConfig
from models.smc.inputs import Candles
from models.smc.zones import Zone, ZoneBook, ZoneState


@dataclass(frozen=True)
class GapSide:
    """Per-row events and state of the bullish or the bearish gaps."""

    new_top: np.ndarray  # band of a gap that formed at this row (NaN otherwise)
    new_bottom: np.ndarray
    partial: np.ndarray  # gaps that became partially filled at this row
    filled: np.ndarray  # gaps that became fully filled at this row
    state: ZoneState  # active count and nearest still-open band after the row

    @classmethod
    def empty(cls, size: int) -> GapSide:
        return cls(
            np.full(size, np.nan),
            np.full(size, np.nan),
            np.zeros(size, dtype=np.int32),
            np.zeros(size, dtype=np.int32),
            ZoneState.empty(size),
        )


@dataclass(frozen=True)
class FairValueGaps:
    bull: GapSide
    bear: GapSide


def _fill(book: ZoneBook, low: float, high: float, bullish: bool) -> tuple[int, int]:
    """Apply one bar to the open gaps; return (newly partial, fully filled) counts."""
    partial = filled = 0
    kept = []
    for z in book.zones:
        if (low <= z.bottom) if bullish else (high >= z.top):
            filled += 1
            continue
        if bullish and low < z.top:
            z.top = low
        elif not bullish and high > z.bottom:
            z.bottom = high
        else:
            kept.append(z)
            continue
        if not z.partial:
            z.partial = True
            partial += 1
        kept.append(z)
    book.zones = kept
    return partial, filled


def detect_fair_value_gaps(c: Candles, scale: np.ndarray, cfg: SmcConfig) -> FairValueGaps:
    """One forward pass: gaps form at their third candle and fill at later bars."""
    size = len(c)
    sides = {1: GapSide.empty(size), -1: GapSide.empty(size)}
    books = {d: ZoneBook(cfg.max_lookback, cfg.max_active) for d in sides}
    high, low, close = c.high.tolist(), c.low.tolist(), c.close.tolist()
    min_size = (cfg.fvg_min_size_atr * scale).tolist()
    for t in range(size):
        for d, side in sides.items():
            books[d].expire(t)
            side.partial[t], side.filled[t] = _fill(books[d], low[t], high[t], d > 0)
        if t >= 2:
            bands = {1: (low[t], high[t - 2]), -1: (low[t - 2], high[t])}
            for d, (top, bottom) in bands.items():
                if top > bottom and top - bottom >= min_size[t]:
                    books[d].add(Zone(top, bottom, t - 1, t))
                    sides[d].new_top[t], sides[d].new_bottom[t] = top, bottom
        for d, side in sides.items():
            books[d].record(t, close[t], side.state)
    return FairValueGaps(bull=sides[1], bear=sides[-1])
