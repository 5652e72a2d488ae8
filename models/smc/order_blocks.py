"""Order blocks: the last opposite-colour candle before the leg that broke structure.

For a bullish break at bar ``t`` of the swing high formed at bar ``p``, the impulsive leg
starts at the lowest low between ``p`` and ``t`` (the latest one on ties). The order block
is the last bearish candle (close < open) among the ``ob_search_bars`` bars ending at that
low (never the break bar itself); its band is the candle's full range ``[low, high]``.
Bearish blocks mirror this (highest high, last bullish candle).

A block is known from the break bar on (the break is what makes it a block). It is
mitigated at the first LATER bar that trades back into it (bullish: ``low <= top``;
bearish: ``high >= bottom``) and is inactive from that bar on. Blocks also expire
``max_lookback`` bars after their break, and at most ``max_active`` are kept per side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.smc.config import SmcConfig
from models.smc.inputs import Candles
from models.smc.structure import Structure
from models.smc.swings import NO_INDEX
from models.smc.zones import Zone, ZoneBook, ZoneState


@dataclass(frozen=True)
class BlockSide:
    """Per-row events and state of the bullish or the bearish blocks."""

    new_top: np.ndarray  # band of a block created at this row (NaN otherwise)
    new_bottom: np.ndarray
    new_index: np.ndarray  # bar of that block's candle (-1 otherwise)
    mitigated: np.ndarray  # how many blocks were mitigated at this row
    state: ZoneState  # active count and nearest active band after the row

    @classmethod
    def empty(cls, size: int) -> BlockSide:
        return cls(
            np.full(size, np.nan),
            np.full(size, np.nan),
            np.full(size, NO_INDEX, dtype=np.int64),
            np.zeros(size, dtype=np.int32),
            ZoneState.empty(size),
        )


@dataclass(frozen=True)
class OrderBlocks:
    bull: BlockSide
    bear: BlockSide


def find_block_candle(c: Candles, pivot: int, t: int, direction: int, cfg: SmcConfig) -> int:
    """Bar of the order-block candle for a break at ``t`` of the swing at ``pivot`` (-1: none)."""
    start = max(pivot, t - cfg.max_lookback, 0)
    if direction > 0:
        leg = c.low[start : t + 1]
        origin = start + len(leg) - 1 - int(np.argmin(leg[::-1]))
    else:
        leg = c.high[start : t + 1]
        origin = start + len(leg) - 1 - int(np.argmax(leg[::-1]))
    for j in range(min(origin, t - 1), max(origin - cfg.ob_search_bars, -1), -1):
        body = c.close[j] - c.open[j]
        if body * direction < 0:
            return j
    return NO_INDEX


def _mitigate(book: ZoneBook, t: int, low: float, high: float, bullish: bool) -> int:
    """Drop the blocks price traded back into at bar ``t``; return how many."""
    kept = [z for z in book.zones if (low > z.top if bullish else high < z.bottom)]
    count = len(book.zones) - len(kept)
    book.zones = kept
    return count


def detect_order_blocks(c: Candles, structure: Structure, cfg: SmcConfig) -> OrderBlocks:
    """One forward pass creating blocks at break bars and mitigating them later."""
    size = len(c)
    sides = {1: BlockSide.empty(size), -1: BlockSide.empty(size)}
    books = {d: ZoneBook(cfg.max_lookback, cfg.max_active) for d in sides}
    used: dict[int, set[int]] = {1: set(), -1: set()}
    high, low, close = c.high.tolist(), c.low.tolist(), c.close.tolist()
    breaks = structure.break_direction().tolist()
    pivots = structure.break_swing_index.tolist()
    for t in range(size):
        for d, side in sides.items():
            books[d].expire(t)
            side.mitigated[t] = _mitigate(books[d], t, low[t], high[t], d > 0)
        d = breaks[t]
        if d:
            j = find_block_candle(c, pivots[t], t, d, cfg)
            if j != NO_INDEX and j not in used[d]:
                used[d].add(j)
                books[d].add(Zone(high[j], low[j], j, t))
                side = sides[d]
                side.new_top[t], side.new_bottom[t], side.new_index[t] = high[j], low[j], j
        for d, side in sides.items():
            books[d].record(t, close[t], side.state)
    return OrderBlocks(bull=sides[1], bear=sides[-1])
