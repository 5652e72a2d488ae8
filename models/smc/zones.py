"""Price zones (order blocks, fair value gaps) and the per-side pass that tracks them.

Both kinds of zone share the same life cycle: created at the bar they become known, kept
while active, dropped when price resolves them, when they age past the lookback, or when
too many are open. Keeping that in one place keeps the two detectors short and alike.

The pass carries the open zones from bar to bar, so it is one compiled loop
(:mod:`models.compiled`) over fixed-size arrays of at most ``max_active + 1`` zones: a bar
that does not reach any zone costs a comparison, and the resolving rule only runs on bars
that do. Two rules resolve a touched zone: an order block is *mitigated* (dropped) by any
bar trading into it; a fair value gap is *filled*, partially (its open band shrinks to what
price has not reached) or fully (dropped) when price reaches its far edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from models.compiled import compiled, first_extreme


@dataclass(frozen=True)
class ZoneState:
    """Per-row state of one side: active count and the nearest active band (NaN if none)
    with the bar it formed at (-1 if none)."""

    active: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    index: np.ndarray


class Births(NamedTuple):
    """Zones of one side, one per row at most, in row order: ``rows`` (the bar each becomes
    known at), its band ``[bottom, top]`` and ``formed`` (the bar it formed at)."""

    rows: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    formed: np.ndarray


class ZoneRule(NamedTuple):
    """How one side's zones live: ``bullish`` (zones below the price, touched by lows),
    ``fills`` (the fair value gap rule; else the order block rule), ``max_lookback`` bars
    before a zone expires, ``max_active`` zones kept at most."""

    bullish: bool
    fills: bool
    max_lookback: int
    max_active: int


@dataclass(frozen=True)
class ZoneTrack:
    """What one side's pass gives: the state after every row, and per row how many zones
    were resolved there (``resolved``: mitigated / fully filled) and how many became
    partially filled (``partial``: always 0 for zones that do not fill)."""

    state: ZoneState
    resolved: np.ndarray
    partial: np.ndarray


def track_zones(
    births: Births, low: np.ndarray, high: np.ndarray, close: np.ndarray, rule: ZoneRule
) -> ZoneTrack:
    """Run one side over all bars; return its state and events after each bar.

    Per bar ``t``: zones created more than ``max_lookback`` bars before ``t`` expire; if the
    bar's reach (its low for a bullish side, its high for a bearish one) touches a zone edge
    (``low <= top`` / ``high >= bottom``), the bar resolves the zones (``fills``: the fair
    value gap rule, else the order block rule); the zone born at ``t`` (if any) opens,
    dropping the oldest past ``max_active``; then the count and the band nearest to the
    close (the newest on ties) are recorded.
    """
    births = Births(
        np.ascontiguousarray(births.rows, dtype=np.int64),
        np.ascontiguousarray(births.top, dtype=np.float64),
        np.ascontiguousarray(births.bottom, dtype=np.float64),
        np.ascontiguousarray(births.formed, dtype=np.int64),
    )
    rule = ZoneRule(bool(rule.bullish), bool(rule.fills), rule.max_lookback, rule.max_active)
    low, high, close = (np.ascontiguousarray(a, dtype=np.float64) for a in (low, high, close))
    active, top, bottom, index, resolved, partial = _zone_pass(births, low, high, close, rule)
    return ZoneTrack(ZoneState(active, top, bottom, index), resolved, partial)


@compiled
def _edge(z_top: np.ndarray, z_bottom: np.ndarray, n: int, bullish: bool) -> float:
    """The edge a bar must reach to touch any open zone: highest top / lowest bottom."""
    return first_extreme(z_top if bullish else z_bottom, n, bullish)


@compiled
def _move(
    z_top: np.ndarray,
    z_bottom: np.ndarray,
    z_index: np.ndarray,
    z_created: np.ndarray,
    z_partial: np.ndarray,
    src: int,
    dst: int,
) -> None:
    """Copy open zone ``src`` to slot ``dst`` (compacting the arrays, oldest first)."""
    z_top[dst], z_bottom[dst] = z_top[src], z_bottom[src]
    z_index[dst], z_created[dst], z_partial[dst] = z_index[src], z_created[src], z_partial[src]


@compiled
def _zone_pass(
    births: Births, low: np.ndarray, high: np.ndarray, close: np.ndarray, rule: ZoneRule
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bullish, fills, max_lookback, max_active = rule
    birth_rows, birth_top, birth_bottom, birth_index = births
    size = close.size
    active = np.zeros(size, dtype=np.int32)
    top = np.full(size, np.nan)
    bottom = np.full(size, np.nan)
    index = np.full(size, -1, dtype=np.int64)
    resolved = np.zeros(size, dtype=np.int32)
    partial = np.zeros(size, dtype=np.int32)
    cap = max_active + 1
    z_top, z_bottom = np.empty(cap), np.empty(cap)
    z_index, z_created = np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64)
    z_partial = np.zeros(cap, dtype=np.bool_)
    n = 0
    edge = np.nan
    birth = 0
    for t in range(size):
        if n > 0:
            limit = t - max_lookback
            if z_created[0] < limit:
                m = 0
                for k in range(n):
                    if z_created[k] >= limit:
                        _move(z_top, z_bottom, z_index, z_created, z_partial, k, m)
                        m += 1
                n = m
                edge = _edge(z_top, z_bottom, n, bullish)
            if (low[t] <= edge) if bullish else (high[t] >= edge):
                m = 0
                for k in range(n):
                    if not fills:  # an order block: mitigated by any bar trading into it
                        keep = low[t] > z_top[k] if bullish else high[t] < z_bottom[k]
                        if not keep:
                            resolved[t] += 1
                            continue
                    elif (low[t] <= z_bottom[k]) if bullish else (high[t] >= z_top[k]):
                        resolved[t] += 1  # a gap filled through its far edge
                        continue
                    elif bullish and low[t] < z_top[k]:
                        z_top[k] = low[t]  # partially filled: the open band shrinks
                        if not z_partial[k]:
                            z_partial[k] = True
                            partial[t] += 1
                    elif not bullish and high[t] > z_bottom[k]:
                        z_bottom[k] = high[t]
                        if not z_partial[k]:
                            z_partial[k] = True
                            partial[t] += 1
                    _move(z_top, z_bottom, z_index, z_created, z_partial, k, m)
                    m += 1
                n = m
                edge = _edge(z_top, z_bottom, n, bullish)
        if birth < birth_rows.size and birth_rows[birth] == t:
            z_top[n], z_bottom[n] = birth_top[birth], birth_bottom[birth]
            z_index[n], z_created[n], z_partial[n] = birth_index[birth], t, False
            n += 1
            if n > max_active:  # the oldest goes
                for k in range(n - 1):
                    _move(z_top, z_bottom, z_index, z_created, z_partial, k + 1, k)
                n -= 1
            edge = _edge(z_top, z_bottom, n, bullish)
            birth += 1
        if n == 0:
            continue
        best = 0
        if n > 1:
            price = close[t]
            best_distance = np.inf
            for k in range(n):
                if price > z_top[k]:
                    d = price - z_top[k]
                elif price < z_bottom[k]:
                    d = z_bottom[k] - price
                else:
                    d = 0.0
                if d <= best_distance:
                    best, best_distance = k, d
        active[t] = n
        top[t], bottom[t], index[t] = z_top[best], z_bottom[best], z_index[best]
    return active, top, bottom, index, resolved, partial
