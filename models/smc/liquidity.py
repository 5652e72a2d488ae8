"""Liquidity: equal highs / lows and sweeps of resting swing levels.

Every confirmed swing high is a pool of buy stops above it and every swing low a pool of
sell stops below it, from the bar the swing is confirmed until a close goes through it
(a real break), it is swept, it ages past ``max_lookback`` bars, or more than
``max_active`` pools are open on that side.

Equal highs: a newly confirmed swing high within ``equal_tolerance_atr`` ATRs (ATR at the
confirming bar) of a still-open earlier one (the most recent such); reported at the
confirming row with the higher of the two levels and the earlier pivot's bar. Equal lows
mirror it. Sweep: a bar whose wick goes beyond an open pool but whose close is back inside
(``high > level >= close`` for highs), reported at that bar. Sweeping highs is bearish
evidence (``sweep = -1``), sweeping lows bullish (``+1``); both at once gives 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.compiled import compiled, first_extreme
from models.smc.config import SmcConfig
from models.smc.inputs import Candles
from models.smc.swings import NO_INDEX, Swings


@dataclass(frozen=True)
class Liquidity:
    equal_high_level: np.ndarray  # NaN unless an equal-high pair is confirmed at this row
    equal_high_index: np.ndarray  # pivot bar of the earlier swing of the pair (-1 otherwise)
    equal_low_level: np.ndarray
    equal_low_index: np.ndarray
    sweep: np.ndarray  # int8: +1 lows swept, -1 highs swept, 0 neither or both
    sweep_high_level: np.ndarray  # highest swing-high level swept at this row (NaN otherwise)
    sweep_low_level: np.ndarray  # lowest swing-low level swept at this row (NaN otherwise)
    sweep_equal: np.ndarray  # bool: a swept level belonged to an equal pair
    pool_high: np.ndarray  # nearest open swing-high level after the row (NaN if none)
    pool_low: np.ndarray  # nearest open swing-low level after the row (NaN if none)


def _side_pass(
    wick: np.ndarray,
    close: np.ndarray,
    level: np.ndarray,
    index: np.ndarray,
    tol: np.ndarray,
    cfg: SmcConfig,
) -> tuple[np.ndarray, ...]:
    """Run one side over all bars in mirrored prices (lows negated, so both sides are
    'highs'); return its per-row arrays."""
    return _pools_pass(
        np.ascontiguousarray(wick, dtype=np.float64),
        np.ascontiguousarray(close, dtype=np.float64),
        np.ascontiguousarray(level, dtype=np.float64),
        np.ascontiguousarray(index, dtype=np.int64),
        np.ascontiguousarray(tol, dtype=np.float64),
        cfg.max_lookback,
        cfg.max_active,
    )


@compiled
def _pools_pass(
    wick: np.ndarray,
    close: np.ndarray,
    level: np.ndarray,
    index: np.ndarray,
    tol: np.ndarray,
    max_lookback: int,
    max_active: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The open pools of one side, oldest first (each opens at its confirming bar), carried
    in fixed arrays of at most ``max_active + 1`` over every bar. A bar whose wick stays
    below every open level, with no pool expiring, changes nothing."""
    size = close.size
    eq_level, eq_index = np.full(size, np.nan), np.full(size, NO_INDEX, dtype=np.int64)
    swept, swept_equal = np.full(size, np.nan), np.zeros(size, dtype=np.bool_)
    nearest = np.full(size, np.nan)
    cap = max_active + 1
    p_level, p_index = np.empty(cap), np.empty(cap, dtype=np.int64)
    p_created, p_equal = np.empty(cap, dtype=np.int64), np.zeros(cap, dtype=np.bool_)
    n = 0
    lowest = np.nan  # the nearest open level, refreshed whenever the pools change
    for t in range(size):
        oldest = t - max_lookback
        if n > 0 and (wick[t] > lowest or p_created[0] < oldest):
            # expired pools go; a wick beyond a level sweeps it if the close is back inside
            # (a close beyond it is a real break: the pool goes without a sweep)
            m = 0
            for k in range(n):
                if p_created[k] < oldest:
                    continue
                if wick[t] <= p_level[k]:
                    _move_pool(p_level, p_index, p_created, p_equal, k, m)
                    m += 1
                elif close[t] <= p_level[k]:
                    swept[t] = p_level[k] if np.isnan(swept[t]) else max(swept[t], p_level[k])
                    swept_equal[t] = swept_equal[t] or p_equal[k]
            n = m
            lowest = first_extreme(p_level, n, False)  # mirrored: the nearest
        if index[t] != NO_INDEX:
            # a confirmed swing opens a pool; the newest open one within tolerance is its pair
            for k in range(n - 1, -1, -1):
                if abs(p_level[k] - level[t]) <= tol[t]:
                    p_equal[k] = True
                    eq_level[t], eq_index[t] = max(level[t], p_level[k]), p_index[k]
                    break
            p_level[n], p_index[n], p_created[n] = level[t], index[t], t
            p_equal[n] = eq_index[t] != NO_INDEX
            n += 1
            if n > max_active:  # the oldest goes
                for k in range(n - 1):
                    _move_pool(p_level, p_index, p_created, p_equal, k + 1, k)
                n -= 1
            lowest = first_extreme(p_level, n, False)  # mirrored: the nearest
        nearest[t] = lowest
    return eq_level, eq_index, swept, swept_equal, nearest


@compiled
def _move_pool(
    p_level: np.ndarray,
    p_index: np.ndarray,
    p_created: np.ndarray,
    p_equal: np.ndarray,
    src: int,
    dst: int,
) -> None:
    """Copy open pool ``src`` to slot ``dst`` (compacting the arrays, oldest first)."""
    p_level[dst], p_index[dst] = p_level[src], p_index[src]
    p_created[dst], p_equal[dst] = p_created[src], p_equal[src]


def detect_liquidity(c: Candles, swings: Swings, scale: np.ndarray, cfg: SmcConfig) -> Liquidity:
    """Equal levels and sweeps, each at the bar it becomes knowable."""
    tol = cfg.equal_tolerance_atr * scale
    hi = _side_pass(c.high, c.close, swings.high_level, swings.high_index, tol, cfg)
    lo = _side_pass(-c.low, -c.close, -swings.low_level, swings.low_index, tol, cfg)
    high_swept, low_swept = ~np.isnan(hi[2]), ~np.isnan(lo[2])
    sweep = (low_swept.astype(np.int8) - high_swept.astype(np.int8)).astype(np.int8)
    return Liquidity(
        equal_high_level=hi[0],
        equal_high_index=hi[1],
        equal_low_level=-lo[0],
        equal_low_index=lo[1],
        sweep=sweep,
        sweep_high_level=hi[2],
        sweep_low_level=-lo[2],
        sweep_equal=hi[3] | lo[3],
        pool_high=hi[4],
        pool_low=-lo[4],
    )
