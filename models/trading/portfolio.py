"""From each symbol's decision to the book's targets at one bar: the gross cap.

Each symbol's size is already capped by :func:`models.trading.rule.kelly_size` (per
symbol, and by risk: volatility-scaled). Across symbols, positions that are kept (held or
renewed) keep their current exposure; new ones (opened or flipped) share what is left of
``max_gross``, scaled down together in proportion when they do not fit. A new position
scaled below ``min_position`` is not taken: an ``open`` stays flat, a ``flip`` only closes.
Kept positions are never resized: resizing a held position would pay costs for no new
information.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from models.trading.config import TradingSettings
from models.trading.rule import Action, Decision


@dataclass(frozen=True)
class Target:
    """What the book does for one symbol at one bar."""

    symbol: str
    action: Action
    weight: float
    """Signed size to open (``open`` / ``flip``), as a fraction of equity; else 0."""
    expiry_bar: int | None
    conviction_bps: float
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "action": self.action,
            "weight": self.weight,
            "expiry_bar": self.expiry_bar,
            "conviction_bps": self.conviction_bps,
            "reason": self.reason,
        }


def allocate(
    decisions: Mapping[str, Decision], exposure: Mapping[str, float], settings: TradingSettings
) -> dict[str, Target]:
    """Targets for every decided symbol; ``exposure`` is each held symbol's current
    absolute exposure (fraction of equity, marked at this bar)."""
    kept = sum(abs(exposure.get(s, 0.0)) for s, d in decisions.items() if d.action in _KEPT)
    wanted = sum(d.size for d in decisions.values() if d.action in _NEW)
    room = max(settings.max_gross - kept, 0.0)
    factor = 1.0 if wanted <= room or wanted <= 0 else room / wanted
    out = {}
    for symbol, d in sorted(decisions.items()):
        if d.action not in _NEW:
            out[symbol] = Target(symbol, d.action, 0.0, d.expiry_bar, d.conviction_bps, d.reason)
            continue
        size = d.size * factor
        if size < settings.min_position:
            out[symbol] = _no_room(symbol, d)
            continue
        note = "" if factor >= 1.0 else f" (scaled by {factor:.3f} to fit max_gross)"
        out[symbol] = Target(
            symbol, d.action, d.side * size, d.expiry_bar, d.conviction_bps, d.reason + note
        )
    return out


_KEPT: tuple[Action, ...] = ("hold", "renew")
_NEW: tuple[Action, ...] = ("open", "flip")


def _no_room(symbol: str, d: Decision) -> Target:
    why = f"; no room under max_gross ({d.reason})"
    if d.action == "flip":
        return Target(symbol, "close", 0.0, None, 0.0, "close" + why)
    return Target(symbol, "flat", 0.0, None, 0.0, "flat" + why)
