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

import math
from dataclasses import dataclass

import numpy as np

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


class _Pool:
    __slots__ = ("created", "equal", "index", "level")

    def __init__(self, level: float, index: int, created: int) -> None:
        self.level, self.index, self.created, self.equal = level, index, created, False


class _Side:
    """Open pools of one side in mirrored prices: lows are negated so both sides are 'highs'.

    Pools are kept oldest first (each opens at its confirming bar).
    """

    def __init__(self, cfg: SmcConfig) -> None:
        self.pools: list[_Pool] = []
        self.cfg = cfg

    def step(self, t: int, wick: float, close: float) -> tuple[float, bool]:
        """Apply bar ``t``; return (most extreme swept level or NaN, any swept pool equal)."""
        swept, equal, kept = float("nan"), False, []
        oldest = t - self.cfg.max_lookback
        for p in self.pools:
            if p.created < oldest:
                continue
            if wick <= p.level:
                kept.append(p)
            elif close <= p.level:
                swept = p.level if math.isnan(swept) else max(swept, p.level)
                equal = equal or p.equal
        self.pools = kept
        return swept, equal

    def confirm(self, level: float, index: int, t: int, tolerance: float) -> _Pool | None:
        """Open a pool for a swing confirmed at ``t``; return its equal partner, if any."""
        partner = None
        for p in reversed(self.pools):
            if abs(p.level - level) <= tolerance:
                partner = p
                break
        pool = _Pool(level, index, t)
        if partner is not None:
            partner.equal = pool.equal = True
        self.pools.append(pool)
        if len(self.pools) > self.cfg.max_active:
            del self.pools[0]
        return partner

    def nearest(self) -> float:
        return min([p.level for p in self.pools]) if self.pools else float("nan")


def _side_pass(
    wick: list[float],
    close: list[float],
    level: list[float],
    index: list[int],
    tol: list[float],
    cfg: SmcConfig,
) -> tuple[np.ndarray, ...]:
    """Run one side over all bars in mirrored prices; return its per-row arrays."""
    size = len(close)
    eq_level, eq_index = np.full(size, np.nan), np.full(size, NO_INDEX, dtype=np.int64)
    swept, swept_equal = np.full(size, np.nan), np.zeros(size, dtype=bool)
    nearest = [float("nan")] * size
    side = _Side(cfg)
    pools = side.pools  # refreshed after every step / confirm, which replace the list
    max_lookback = cfg.max_lookback
    lowest = float("nan")  # side.nearest(), refreshed whenever the pools change
    for t, bar_wick in enumerate(wick):
        # a bar whose wick stays below every open level, with no pool expiring, changes nothing
        if pools and (bar_wick > lowest or pools[0].created < t - max_lookback):
            swept[t], swept_equal[t] = side.step(t, bar_wick, close[t])
            pools = side.pools
            lowest = side.nearest()
        if index[t] != NO_INDEX:
            partner = side.confirm(level[t], index[t], t, tol[t])
            if partner is not None:
                eq_level[t], eq_index[t] = max(level[t], partner.level), partner.index
            pools = side.pools
            lowest = side.nearest()
        nearest[t] = lowest
    return eq_level, eq_index, swept, swept_equal, np.array(nearest, dtype=np.float64)


def detect_liquidity(c: Candles, swings: Swings, scale: np.ndarray, cfg: SmcConfig) -> Liquidity:
    """Equal levels and sweeps, each at the bar it becomes knowable."""
    tol = (cfg.equal_tolerance_atr * scale).tolist()
    hi = _side_pass(
        c.high.tolist(),
        c.close.tolist(),
        swings.high_level.tolist(),
        swings.high_index.tolist(),
        tol,
        cfg,
    )
    lo = _side_pass(
        (-c.low).tolist(),
        (-c.close).tolist(),
        (-swings.low_level).tolist(),
        swings.low_index.tolist(),
        tol,
        cfg,
    )
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
