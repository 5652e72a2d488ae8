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
from models.smc.zones import Births, ZoneRule, ZoneState, track_zones


@dataclass(frozen=True)
class GapSide:
    """Per-row events and state of the bullish or the bearish gaps."""

    new_top: np.ndarray  # band of a gap that formed at this row (NaN otherwise)
    new_bottom: np.ndarray
    partial: np.ndarray  # gaps that became partially filled at this row
    filled: np.ndarray  # gaps that became fully filled at this row
    state: ZoneState  # active count and nearest still-open band after the row


@dataclass(frozen=True)
class FairValueGaps:
    bull: GapSide
    bear: GapSide


def _gap_side(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    min_size: np.ndarray,
    bullish: bool,
    cfg: SmcConfig,
) -> GapSide:
    """Gaps of one side: where they form (vectorised), then one pass filling them."""
    size = close.size
    new_top, new_bottom = np.full(size, np.nan), np.full(size, np.nan)
    if size > 2:
        # bullish band at t: [high[t-2], low[t]]; bearish band: [high[t], low[t-2]]
        top = low[2:] if bullish else low[:-2]
        bottom = high[:-2] if bullish else high[2:]
        forms = np.flatnonzero((top > bottom) & (top - bottom >= min_size[2:]))
        new_top[forms + 2], new_bottom[forms + 2] = top[forms], bottom[forms]
    rows = np.flatnonzero(~np.isnan(new_top))
    births = Births(rows, new_top[rows], new_bottom[rows], rows - 1)
    rule = ZoneRule(bullish, True, cfg.max_lookback, cfg.max_active)
    track = track_zones(births, low, high, close, rule)
    return GapSide(new_top, new_bottom, track.partial, track.resolved, track.state)


def detect_fair_value_gaps(c: Candles, scale: np.ndarray, cfg: SmcConfig) -> FairValueGaps:
    """Gaps form at their third candle and fill at later bars (each side on its own)."""
    close = c.close
    min_size = cfg.fvg_min_size_atr * scale
    return FairValueGaps(
        bull=_gap_side(c.high, c.low, close, min_size, True, cfg),
        bear=_gap_side(c.high, c.low, close, min_size, False, cfg),
    )
