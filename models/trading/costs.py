"""What a fill costs: a fee on its notional and a price moved against it, each side."""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.errors import ConfigError

BPS = 1e-4


@dataclass(frozen=True)
class Costs:
    """``fee_bps`` of the notional on every fill; ``slippage_bps``: a buy fills that far
    above the bar's close, a sell that far below. A round trip costs twice their sum."""

    fee_bps: float
    slippage_bps: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fee_bps", "slippage_bps"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name}: must be a finite number >= 0, got {value!r}")

    @classmethod
    def round_trip(cls, cost_bps: float) -> Costs:
        """A round trip of ``cost_bps`` charged as fees, half on each side."""
        if not isinstance(cost_bps, int | float) or not math.isfinite(cost_bps) or cost_bps < 0:
            raise ConfigError(f"cost_bps: must be a finite number >= 0, got {cost_bps!r}")
        return cls(fee_bps=cost_bps / 2.0)

    @property
    def round_trip_bps(self) -> float:
        """Entering and leaving a position: two fees and two slippages."""
        return 2.0 * (self.fee_bps + self.slippage_bps)

    def fill_price(self, close: float, quantity: float) -> float:
        """The price a trade of ``quantity`` (signed: > 0 buys) fills at against ``close``."""
        side = 1.0 if quantity > 0 else -1.0
        return close * (1.0 + side * self.slippage_bps * BPS)

    def fee(self, quantity: float, price: float) -> float:
        """The fee of a fill of ``quantity`` at ``price``."""
        return abs(quantity) * price * self.fee_bps * BPS
