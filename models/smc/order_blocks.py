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

from models.compiled import compiled
from models.smc.config import SmcConfig
from models.smc.inputs import Candles
from models.smc.structure import Structure
from models.smc.swings import NO_INDEX
from models.smc.zones import Births, ZoneRule, ZoneState, track_zones


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


def _block_side(
    c: Candles,
    breaks: np.ndarray,
    pivots: np.ndarray,
    direction: int,
    cfg: SmcConfig,
) -> BlockSide:
    """Blocks of one side: created at its breaks, then one pass mitigating them (``breaks``
    and ``pivots`` as contiguous int64, what the kernel takes)."""
    size = c.close.size
    new_top, new_bottom = np.full(size, np.nan), np.full(size, np.nan)
    new_index = np.full(size, NO_INDEX, dtype=np.int64)
    at, bar = _block_births(
        c.open,
        c.low if direction > 0 else -c.high,  # mirrored: both sides look for the lowest
        c.close,
        breaks,
        pivots,
        direction,
        cfg.max_lookback,
        cfg.ob_search_bars,
    )
    new_top[at], new_bottom[at], new_index[at] = c.high[bar], c.low[bar], bar
    rule = ZoneRule(direction > 0, False, cfg.max_lookback, cfg.max_active)
    track = track_zones(Births(at, c.high[bar], c.low[bar], bar), c.low, c.high, c.close, rule)
    return BlockSide(new_top, new_bottom, new_index, track.resolved, track.state)


@compiled
def _block_births(
    open_: np.ndarray,
    extreme: np.ndarray,
    close: np.ndarray,
    breaks: np.ndarray,
    pivots: np.ndarray,
    direction: int,
    max_lookback: int,
    search_bars: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(break rows, block candle bars) of one side. For a break at ``t`` of the swing at
    ``pivots[t]``, the leg starts at its lowest ``extreme`` (the latest on ties); the block
    is the last opposite-colour candle among the ``search_bars`` bars ending there (never
    the break bar); a candle that already made a block makes no second one."""
    size = close.size
    rows, bars = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    used = np.zeros(size, dtype=np.bool_)
    n = 0
    for t in range(size):
        if breaks[t] != direction:
            continue
        start = max(pivots[t], t - max_lookback, 0)
        origin = t
        for k in range(t - 1, start - 1, -1):
            if extreme[k] < extreme[origin]:
                origin = k
        for j in range(min(origin, t - 1), max(origin - search_bars, -1), -1):
            if (close[j] - open_[j]) * direction < 0:
                if not used[j]:
                    used[j] = True
                    rows[n], bars[n] = t, j
                    n += 1
                break
    return rows[:n], bars[:n]


def detect_order_blocks(c: Candles, structure: Structure, cfg: SmcConfig) -> OrderBlocks:
    """Blocks created at break bars and mitigated later (each side on its own)."""
    breaks = np.ascontiguousarray(structure.break_direction(), dtype=np.int64)
    pivots = np.ascontiguousarray(structure.break_swing_index, dtype=np.int64)
    return OrderBlocks(
        bull=_block_side(c, breaks, pivots, 1, cfg),
        bear=_block_side(c, breaks, pivots, -1, cfg),
    )
