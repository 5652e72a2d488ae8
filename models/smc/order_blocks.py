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
from models.smc.zones import Births, ZoneState, track_zones


@dataclass(frozen=True)
class BlockSide:
    """Per-row events and state of the bullish or the bearish blocks."""

    new_top: np.ndarray  # band of a block created at this row (NaN otherwise)
    new_bottom: np.ndarray
    new_index: np.ndarray  # bar of that block's candle (-1 otherwise)
    mitigated: np.ndarray  # how many blocks were mitigated at this row
    state: ZoneState  # active count and nearest active band after the row


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


def _block_side(
    c: Candles,
    breaks: np.ndarray,
    pivots: np.ndarray,
    direction: int,
    cfg: SmcConfig,
) -> BlockSide:
    """Blocks of one side: created at its breaks, then one pass mitigating them."""
    size = c.close.size
    new_top, new_bottom = np.full(size, np.nan), np.full(size, np.nan)
    new_index = np.full(size, NO_INDEX, dtype=np.int64)
    used: set[int] = set()
    rows, candles = [], []
    for t in np.flatnonzero(breaks == direction).tolist():
        j = find_block_candle(c, int(pivots[t]), t, direction, cfg)
        if j != NO_INDEX and j not in used:
            used.add(j)
            rows.append(t)
            candles.append(j)
    at, bar = np.array(rows, dtype=np.int64), np.array(candles, dtype=np.int64)
    new_top[at], new_bottom[at], new_index[at] = c.high[bar], c.low[bar], bar
    births = Births(at, c.high[bar], c.low[bar], bar)
    track = track_zones(
        births, c.low, c.high, c.close, direction > 0, False, cfg.max_lookback, cfg.max_active
    )
    return BlockSide(new_top, new_bottom, new_index, track.resolved, track.state)


def detect_order_blocks(c: Candles, structure: Structure, cfg: SmcConfig) -> OrderBlocks:
    """Blocks created at break bars and mitigated later (each side on its own)."""
    breaks = np.asarray(structure.break_direction())
    pivots = structure.break_swing_index
    return OrderBlocks(
        bull=_block_side(c, breaks, pivots, 1, cfg),
        bear=_block_side(c, breaks, pivots, -1, cfg),
    )
