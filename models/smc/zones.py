"""Price zones (order blocks, fair value gaps) and the per-side pass that tracks them.

Both kinds of zone share the same life cycle: created at the bar they become known, kept
while active, dropped when price resolves them, when they age past the lookback, or when
too many are open. Keeping that in one place keeps the two detectors short and alike.

The pass runs once per bar of a window, so it is written as one flat loop over plain lists:
a bar that does not reach any zone costs a comparison, and the side-specific rule
(mitigation, filling) only runs on bars that do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np


class Zone:
    """A price band ``[bottom, top]`` formed at bar ``index`` and known from bar ``created``."""

    __slots__ = ("bottom", "created", "index", "partial", "top")

    def __init__(self, top: float, bottom: float, index: int, created: int) -> None:
        self.top = top
        self.bottom = bottom
        self.index = index
        self.created = created
        self.partial = False


@dataclass(frozen=True)
class ZoneState:
    """Per-row state of one side: active count and the nearest active band (NaN if none)
    with the bar it formed at (-1 if none)."""

    active: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    index: np.ndarray


Resolve = Callable[[int, list[Zone]], list[Zone]]
"""Applies bar ``t`` to the open zones (oldest first) and returns those still open."""


def _edge(zones: list[Zone], bullish: bool) -> float:
    """The edge a bar must reach to touch any zone: highest top / lowest bottom (NaN: none)."""
    if not zones:
        return float("nan")
    return max([z.top for z in zones]) if bullish else min([z.bottom for z in zones])


def track_zones(
    created: Mapping[int, Zone],
    reach: list[float],
    close: list[float],
    bullish: bool,
    resolve: Resolve,
    max_lookback: int,
    max_active: int,
) -> ZoneState:
    """Run one side over all bars; return its state after each bar.

    Per bar ``t``: zones created more than ``max_lookback`` bars before ``t`` expire; if the
    bar's ``reach`` (its low for a bullish side, its high for a bearish one) touches a zone
    edge (``low <= top`` / ``high >= bottom``), ``resolve`` applies the bar; the zone of
    ``created[t]`` (if any) opens, dropping the oldest past ``max_active``; then the count and
    the band nearest to the close (the newest on ties) are recorded.
    """
    size = len(close)
    nan, inf = float("nan"), float("inf")
    active, top, bottom, index = [0] * size, [nan] * size, [nan] * size, [-1] * size
    births = sorted(created)
    births.append(size)  # sentinel: no zone opens at bar ``size``
    next_birth = births[0]
    birth = 0
    zones: list[Zone] = []
    edge = nan
    for t in range(size):
        if zones:
            if zones[0].created < t - max_lookback:
                limit = t - max_lookback
                zones = [z for z in zones if z.created >= limit]
                edge = _edge(zones, bullish)
            if (reach[t] <= edge) if bullish else (reach[t] >= edge):
                zones = resolve(t, zones)
                edge = _edge(zones, bullish)
        if t == next_birth:
            zones.append(created[t])
            if len(zones) > max_active:
                del zones[0]
            edge = _edge(zones, bullish)
            birth += 1
            next_birth = births[birth]
        n = len(zones)
        if not n:
            continue
        best = zones[0]
        if n > 1:
            price = close[t]
            best_distance = inf
            for z in zones:
                if price > z.top:
                    d = price - z.top
                elif price < z.bottom:
                    d = z.bottom - price
                else:
                    d = 0.0
                if d <= best_distance:
                    best, best_distance = z, d
        active[t] = n
        top[t], bottom[t], index[t] = best.top, best.bottom, best.index
    return ZoneState(
        np.array(active, dtype=np.int32),
        np.array(top, dtype=np.float64),
        np.array(bottom, dtype=np.float64),
        np.array(index, dtype=np.int64),
    )
