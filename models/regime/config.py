"""Thresholds and periods of the regime detector, in one validated place.

Every number the scoring rules use lives here so a deployment can retune the detector from a
config file without touching code, and so a bad value (a squeeze percentile above the
expansion percentile, a zero period) fails at load time with the field named instead of
silently producing nonsense regimes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.config_errors import describe_validation_error
from models.errors import ConfigError


class RegimeConfig(BaseModel):
    """Periods, thresholds and softness of the regime scores (see ``models.regime.detector``).

    Thresholds are where a soft condition is half on; the ``*_softness`` fields set how
    quickly it goes from off to on around that threshold (the logistic's scale), which is
    what makes the scores and hence the confidence vary smoothly instead of jumping.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # indicator periods
    adx_period: int = Field(14, ge=2, description="Wilder period of ADX and +DI/-DI")
    atr_period: int = Field(14, ge=2, description="Wilder period of the ATR")
    bb_period: int = Field(20, ge=2, description="Bollinger band period")
    bb_std: float = Field(2.0, gt=0, description="Bollinger band width in standard deviations")
    slope_period: int = Field(20, ge=3, description="bars of the log-close regression slope")
    momentum_period: int = Field(10, ge=1, description="bars of the momentum return")
    volume_period: int = Field(20, ge=2, description="bars of the trailing volume median")
    breakout_period: int = Field(20, ge=2, description="bars of the prior high/low channel")
    squeeze_lookback: int = Field(10, ge=1, description="bars a squeeze stays 'recent'")
    bb_width_percentile_window: int = Field(
        200, ge=20, description="trailing bars that rank Bollinger width and relative ATR"
    )
    transition_window: int = Field(
        100, ge=2, description="trailing bars of the empirical regime switch rate"
    )

    # thresholds
    adx_trend: float = Field(25.0, gt=0, le=100, description="ADX above which a trend is on")
    adx_range: float = Field(20.0, gt=0, le=100, description="ADX below which a range is on")
    squeeze_percentile: float = Field(0.2, gt=0, lt=1, description="width rank of a squeeze")
    expansion_percentile: float = Field(0.8, gt=0, lt=1, description="width rank of expansion")
    volatile_percentile: float = Field(0.8, gt=0, lt=1, description="relative-ATR rank: volatile")
    volume_spike: float = Field(2.0, gt=0, description="volume / trailing median of a spike")
    breakout_atr: float = Field(0.0, ge=0, description="ATRs beyond the channel of a breakout")
    slope_scale: float = Field(1.5, gt=0, description="slope z-score giving tanh(1) direction")
    momentum_scale: float = Field(1.5, gt=0, description="momentum z-score giving tanh(1)")

    # softness of the logistic conditions
    adx_softness: float = Field(2.5, gt=0, description="ADX points")
    percentile_softness: float = Field(0.05, gt=0, description="percentile-rank units")
    volume_softness: float = Field(0.25, gt=0, description="volume-ratio units")
    breakout_softness: float = Field(0.25, gt=0, description="ATR units")

    # transition probability
    switch_prior: float = Field(1.0, gt=0, description="pseudo-count of the switch-rate prior")
    runner_up_weight: float = Field(
        0.5, ge=0, le=1, description="chance of switching when the runner-up ties the best"
    )

    def __init__(self, **data: Any) -> None:
        # Callers catch our ConfigError (HTTP 4xx, CLI exit code), not pydantic's type.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, "invalid regime config")) from None

    @model_validator(mode="after")
    def _check_order(self) -> RegimeConfig:
        if self.adx_range > self.adx_trend:
            raise ValueError(
                f"adx_range ({self.adx_range}) must not exceed adx_trend ({self.adx_trend})"
            )
        if self.squeeze_percentile >= self.expansion_percentile:
            raise ValueError(
                f"squeeze_percentile ({self.squeeze_percentile}) must be below "
                f"expansion_percentile ({self.expansion_percentile})"
            )
        return self
