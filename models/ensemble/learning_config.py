"""Settings of the learned ensemble (``EnsembleConfig.learning``): mixture, stacker, base
rate, calibration bins and the actionable rule. Defaults come from the method, not from a
fit to any published table: see ``docs/architecture.md`` ("The learned ensemble")."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from models.ensemble.sections import Section


class BaseRateConfig(Section):
    """The base-rate expert: decayed class frequencies per symbol, shrunk to the pooled ones."""

    half_life: float = Field(2000.0, gt=0, allow_inf_nan=False)
    """Resolved outcomes of one symbol after which an old outcome weighs 1/2."""
    prior_strength: float = Field(30.0, ge=0, allow_inf_nan=False)
    """Pseudo-outcomes of the pooled (all-symbol) frequencies in each symbol's estimate."""


class StackerConfig(Section):
    """The online multinomial logistic stacker on the members' log-probabilities."""

    enabled: bool = True
    learning_rate: float = Field(0.05, gt=0, allow_inf_nan=False)
    """AdaGrad step size."""
    l2: float = Field(1e-4, ge=0, allow_inf_nan=False)
    """Pull of the shared coefficients towards the prior (base rate 1, members 0)."""
    regime_l2: float = Field(1e-3, ge=0, allow_inf_nan=False)
    """Pull of the regime-specific terms towards 0 (a regime needs evidence to matter)."""
    use_regime: bool = True
    """Learn a class bias and coefficient offsets per detected regime."""


class ActionableConfig(Section):
    """When a BUY/SELL may be acted on: a certified sign hit rate above break-even."""

    round_trip_cost_bps: float = Field(10.0, ge=0, allow_inf_nan=False)
    """Cost of entering and leaving a position, in basis points of the notional."""
    delta: float = Field(0.05, gt=0, lt=1, allow_inf_nan=False)
    """Error level of the certificate, shared by every level of the grid (Bonferroni)."""
    min_level: float = Field(0.34, ge=0, le=1, allow_inf_nan=False)
    max_level: float = Field(0.70, ge=0, le=1, allow_inf_nan=False)
    step: float = Field(0.02, gt=0, le=1, allow_inf_nan=False)
    min_signals: int = Field(30, ge=1)
    """Non-overlapping resolved signals a level needs before it can be certified."""

    @model_validator(mode="after")
    def _ordered(self) -> ActionableConfig:
        if self.min_level > self.max_level:
            raise ValueError(f"min_level {self.min_level} is above max_level {self.max_level}")
        return self

    def levels(self) -> tuple[float, ...]:
        """The confidence levels ``min_level, min_level + step, ..., max_level``."""
        n = math.floor((self.max_level - self.min_level) / self.step + 1e-9)
        return tuple(round(self.min_level + i * self.step, 10) for i in range(n + 1))


class LearningConfig(Section):
    """How the learned ensemble weighs, stacks, calibrates and certifies."""

    delay_bars: int = Field(4, ge=1, le=1000)
    """Bars until an outcome is known (the label horizon): one mixture copy per residue."""
    fixed_share: float = Field(0.001, ge=0, lt=1, allow_inf_nan=False)
    """Share of weight redistributed (to the prior) after every update, so the mixture can
    follow a change of the best expert (0: the plain Bayes mixture)."""
    member_prior: float = Field(0.1, gt=0, allow_inf_nan=False)
    """Prior weight of each member relative to the base rate's and the stacker's (1 each):
    a member earns its weight from outcomes (regret against member ``i`` is at most
    ``h ln(1 / prior_i)``)."""
    calibration_bins: int = Field(10, ge=2, le=100)
    """Equal-width confidence bins of the online reliability diagram (ECE)."""
    base_rate: BaseRateConfig = BaseRateConfig()
    stacker: StackerConfig = StackerConfig()
    actionable: ActionableConfig = ActionableConfig()
