"""Price zones (order blocks, fair value gaps) and the per-side book that tracks them.

Both kinds of zone share the same life cycle: created at the bar they become known, kept
while active, dropped when price resolves them, when they age past the lookback, or when
too many are open. Keeping that in one place keeps the two detectors short and alike.
"""

from __future__ import annotations

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

    def distance(self, price: float) -> float:
        """0 inside the band, else how far ``price`` is from its nearest edge."""
        if price > self.top:
            return price - self.top
        if price < self.bottom:
            return self.bottom - price
        return 0.0


@dataclass(frozen=True)
class ZoneState:
    """Per-row state of one side: active count and the nearest active band (NaN if none)
    with the bar it formed at (-1 if none)."""

    active: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    index: np.ndarray

    @classmethod
    def empty(cls, size: int) -> ZoneState:
        return cls(
            np.zeros(size, dtype=np.int32),
            np.full(size, np.nan),
            np.full(size, np.nan),
            np.full(size, -1, dtype=np.int64),
        )


class ZoneBook:
    """The active zones of one side, oldest first, bounded in age and number."""

    def __init__(self, max_lookback: int, max_active: int) -> None:
        self.zones: list[Zone] = []
        self.max_lookback = max_lookback
        self.max_active = max_active

    def expire(self, t: int) -> None:
        """Forget zones created more than ``max_lookback`` bars before ``t``."""
        limit = t - self.max_lookback
        if self.zones and self.zones[0].created < limit:
            self.zones = [z for z in self.zones if z.created >= limit]

    def add(self, zone: Zone) -> None:
        self.zones.append(zone)
        if len(self.zones) > self.max_active:
            del self.zones[0]

    def record(self, t: int, price: float, state: ZoneState) -> None:
        """Write the active count and the band nearest to ``price`` (newest on ties) at row t."""
        state.active[t] = len(self.zones)
        best: Zone | None = None
        best_distance = float("inf")
        for zone in self.zones:
            d = zone.distance(price)
            if d <= best_distance:
                best, best_distance = zone, d
        if best is not None:
            state.top[t], state.bottom[t], state.index[t] = best.top, best.bottom, best.index
