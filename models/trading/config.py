"""Settings of the trading layer (``trading`` in the app's ``args``), validated once.

Plain data, so they travel as deployment arguments, sit in a Serve config YAML and are
what ``scripts/evaluate.py`` replays. Costs are the user's: ``fee_bps`` is charged on
every fill (each side), ``slippage_bps`` moves every fill price against the trade; the
round trip is ``2 * (fee_bps + slippage_bps)``. The defaults (4 + 1 a side: 10 bps round
trip) are conservative for a taker on a major exchange; docs/trading.md has maker and
taker examples. Nothing here was fitted to a published table: the defaults come from the
method (fractional Kelly, a one-standard-error margin, the label horizon).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.config_errors import describe_validation_error
from models.errors import ConfigError
from models.trading.costs import Costs
from models.yaml_file import read_mapping


class CertificateSettings(BaseModel):
    """When the paper book may take the rule's trades: the shadow book's own past trades
    after costs have a mean net return certifiably above zero."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Literal["pooled", "symbol"] = "pooled"
    """Whose trades are the evidence: the rule's over every symbol (one certificate), or
    each symbol's own (a certificate per symbol: far fewer trades each)."""
    delta: float = Field(0.05, gt=0, lt=1, allow_inf_nan=False)
    """Chance, under no edge, that a certificate is ever passed (spent over the looks)."""
    min_trades: int = Field(30, ge=5, le=100_000)
    """Closed shadow trades before the first look; later looks at each doubling."""
    looks: int = Field(10, ge=1, le=60)
    """Looks that share ``delta`` equally (30 trades to 15,360 at the defaults); each later
    one gets half the level of the one before."""
    draws: int = Field(4000, ge=100, le=1_000_000)
    """Block-bootstrap resamples of one look."""
    seed: int = Field(0, ge=0)
    """Seed of the resamples (a look's draws depend only on it, the symbol and the count)."""


class TradingSettings(BaseModel):
    """Costs, the position rule, the portfolio and the books (see docs/trading.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fee_bps: float = Field(4.0, ge=0, le=1000, allow_inf_nan=False)
    """Exchange fee on each fill, in basis points of its notional (each side)."""
    slippage_bps: float = Field(1.0, ge=0, le=1000, allow_inf_nan=False)
    """A fill's price is the bar's close moved this far against the trade (each side)."""
    horizon_bars: int = Field(4, ge=1, le=1000)
    """Bars a position is held (the forecast's horizon) and after which outcomes are known."""
    uncertainty_z: float = Field(1.0, ge=0, le=10, allow_inf_nan=False)
    """Standard errors of the expected return a trade must clear on top of its cost."""
    kelly_fraction: float = Field(0.25, gt=0, le=1, allow_inf_nan=False)
    """Share of the Kelly size ``(|mu| - cost) / sigma^2`` taken."""
    max_position: float = Field(0.25, gt=0, le=1, allow_inf_nan=False)
    """Largest position in one symbol, as a fraction of equity (the per-symbol cap)."""
    max_gross: float = Field(1.0, gt=0, le=10, allow_inf_nan=False)
    """Largest sum of absolute positions, as a fraction of equity (the gross cap)."""
    max_risk_bps: float = Field(50.0, gt=0, le=10_000, allow_inf_nan=False)
    """Largest standard deviation, in bps of equity, of one position over the horizon:
    a symbol twice as volatile gets half the position (volatility-scaled risk)."""
    min_position: float = Field(0.01, ge=0, le=1, allow_inf_nan=False)
    """Targets smaller than this fraction of equity are not traded (no dust)."""
    market_neutral: bool = False
    """Remove the cross-sectional mean of the expected returns before deciding and sizing."""
    half_life_bars: float = Field(2000.0, gt=0, allow_inf_nan=False)
    """Bars after which an outcome weighs half in the expected-return fit."""
    prior_outcomes: float = Field(200.0, ge=0, allow_inf_nan=False)
    """Pseudo-outcomes of the pooled fit in each symbol's (shrinkage toward the pool)."""
    min_outcomes: int = Field(100, ge=2, le=1_000_000)
    """Resolved outcomes (all symbols) before any expected return is stated."""
    vol_window: int = Field(48, ge=2, le=10_000)
    """1-bar log returns in the trailing volatility that scales every return."""
    initial_cash: float = Field(10_000.0, gt=0, allow_inf_nan=False)
    """Equity each book starts with (and after a reset)."""
    certificate: CertificateSettings = CertificateSettings()

    @model_validator(mode="after")
    def _caps(self) -> TradingSettings:
        if self.min_position >= self.max_position:
            raise ValueError(
                f"min_position {self.min_position} must be below max_position {self.max_position}"
            )
        return self

    @property
    def costs(self) -> Costs:
        """The configured costs."""
        return Costs(self.fee_bps, self.slippage_bps)

    def with_round_trip(self, cost_bps: float) -> TradingSettings:
        """These settings with a round-trip cost of ``cost_bps`` (all of it as fees: the
        evaluation's 0 / 4 / 10 bps and a request's ``cost_bps`` override)."""
        costs = Costs.round_trip(cost_bps)
        return self.model_copy(update={"fee_bps": costs.fee_bps, "slippage_bps": 0.0})

    @classmethod
    def parse(cls, data: Any) -> TradingSettings:
        """Validate ``data`` (a mapping or settings); errors become :class:`ConfigError`."""
        if isinstance(data, TradingSettings):
            return data
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, "trading")) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> TradingSettings:
        """Settings from a YAML mapping of these fields (the app's ``args.trading``)."""
        return cls.parse(read_mapping(path, "trading config"))
