"""The position rule of one symbol at one bar: open, hold for the horizon, renew, flip, close.

With ``mu`` and ``se`` the expected return and its standard error (bps), ``z`` the
configured margin and ``c`` the round-trip cost:

- the *conviction* of a signal is ``g = |mu| - z se`` (what it expects, less its
  uncertainty), its *edge* ``g - c`` (after paying to enter and leave);
- **flat**: open on the side of ``mu`` when the edge is positive; size ``kelly_fraction *
  (|mu| - c) / sd^2`` (fractional Kelly, ``sd`` the outcome's spread), capped at
  ``max_position`` and at ``max_risk_bps / sd`` (volatility-scaled); smaller than
  ``min_position``: no trade;
- **holding** a position opened (or last renewed) at bar ``t``: it is kept until
  ``t + h``. A same-side signal with positive conviction renews it to ``bar + h`` (keeping
  a position costs nothing more: its exit is paid either way, so renewing needs no edge
  over the cost); an opposite signal flips it only when it is *stronger*, i.e. its
  conviction is above the held position's and its own edge is positive; at ``t + h``
  without a renewal the position is closed (and an opposite signal whose edge is positive
  opens in its place);
- **no trade on a degraded answer** (no estimate): nothing opens, renews or flips; a held
  position runs to its horizon;
- ``certified`` (the paper book's gate) False: nothing opens, renews or flips either.

For one state, a higher cost never turns "no trade" into a trade: an open or flip needs a
positive edge (lower with a higher cost) and renewals and closes do not depend on cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.trading.config import TradingSettings
from models.trading.expected import Estimate

Action = Literal["open", "flip", "renew", "hold", "close", "flat"]
BPS = 1e4


@dataclass(frozen=True)
class Holding:
    """A held position as the rule sees it."""

    side: int
    """+1 long, -1 short."""
    expiry_bar: int
    """The bar at which it closes unless renewed."""
    conviction_bps: float
    """Conviction of the signal that opened or last renewed it."""


@dataclass(frozen=True)
class Decision:
    """What the rule wants for one symbol at one bar (before the portfolio's caps)."""

    action: Action
    side: int
    """Side held after the bar (0: flat)."""
    size: float
    """Wanted size of an ``open`` / ``flip`` (fraction of equity); 0 otherwise."""
    expiry_bar: int | None
    conviction_bps: float
    reason: str

    @property
    def trades(self) -> bool:
        """Whether carrying it out fills anything."""
        return self.action in ("open", "flip", "close")


def kelly_size(estimate: Estimate, cost_bps: float, settings: TradingSettings) -> float:
    """Fractional Kelly ``f (|mu| - c) / sd^2``, capped per symbol and by risk (>= 0)."""
    net = abs(estimate.mu_bps) - cost_bps
    if net <= 0 or estimate.sd_bps <= 0:
        return 0.0
    kelly = settings.kelly_fraction * net * BPS / estimate.sd_bps**2
    return min(kelly, settings.max_position, settings.max_risk_bps / estimate.sd_bps)


def _describe(estimate: Estimate) -> str:
    return f"expected {estimate.mu_bps:+.1f} bps (se {estimate.se_bps:.1f})"


def decide(
    holding: Holding | None,
    estimate: Estimate | None,
    bar: int,
    cost_bps: float,
    settings: TradingSettings,
    *,
    certified: bool = True,
    missing: str = "no usable signal",
) -> Decision:
    """The rule (module docstring); ``missing`` says why there is no estimate."""
    if estimate is None:
        return _without_signal(holding, bar, f"no trade: {missing}")
    conviction = abs(estimate.mu_bps) - settings.uncertainty_z * estimate.se_bps
    edge = conviction - cost_bps
    side = 1 if estimate.mu_bps > 0 else -1
    size = kelly_size(estimate, cost_bps, settings)
    big = size >= settings.min_position
    expiry = bar + settings.horizon_bars
    said = _describe(estimate)
    if holding is None:
        if edge <= 0 or not big:
            why = "does not clear" if edge <= 0 else "sizes below min_position after"
            return Decision(
                "flat",
                0,
                0.0,
                None,
                conviction,
                f"flat: {said} {why} cost {cost_bps:.1f} bps + {settings.uncertainty_z:g} se",
            )
        if not certified:
            return Decision("flat", 0, 0.0, None, conviction, f"flat: not certified ({said})")
        return Decision("open", side, size, expiry, conviction, f"open {_side(side)}: {said}")
    if certified and side == holding.side and conviction > 0:
        return Decision(
            "renew", side, 0.0, expiry, conviction, f"renew {_side(side)} to bar {expiry}: {said}"
        )
    due = bar >= holding.expiry_bar  # closing anyway: any opposite edge may open
    stronger = (due or conviction > holding.conviction_bps) and edge > 0 and big
    if certified and side != holding.side and stronger:
        return Decision(
            "flip",
            side,
            size,
            expiry,
            conviction,
            f"flip to {_side(side)}: {said}, stronger than the held position",
        )
    return _without_signal(holding, bar, said)


def _without_signal(holding: Holding | None, bar: int, said: str) -> Decision:
    """Hold to the horizon, then close; flat when nothing is held."""
    if holding is None:
        return Decision("flat", 0, 0.0, None, 0.0, f"flat: {said}")
    if bar >= holding.expiry_bar:
        return Decision(
            "close",
            0,
            0.0,
            None,
            0.0,
            f"close {_side(holding.side)} at its horizon (bar {holding.expiry_bar}); {said}",
        )
    return Decision(
        "hold",
        holding.side,
        0.0,
        holding.expiry_bar,
        holding.conviction_bps,
        f"hold {_side(holding.side)} until bar {holding.expiry_bar}; {said}",
    )


def _side(side: int) -> str:
    return "long" if side > 0 else "short"
