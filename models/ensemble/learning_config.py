"""Settings of the learned ensemble (``EnsembleConfig.learning``): the combiner, the base
rate, calibration bins and the actionable rule. Defaults come from the method, not from a
fit to any published table: see ``docs/architecture.md`` ("The learned ensemble")."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from models.ensemble.sections import Section


class BaseRateConfig(Section):
    """The base rate: decayed class frequencies per symbol, shrunk to the pooled ones."""

    half_life: float = Field(2000.0, gt=0, allow_inf_nan=False)
    """Resolved outcomes of one symbol after which an old outcome weighs 1/2."""
    prior_strength: float = Field(30.0, ge=0, allow_inf_nan=False)
    """Pseudo-outcomes of the pooled (all-symbol) frequencies in each symbol's estimate."""


class CombinerConfig(Section):
    """How members' outputs become one score and the score becomes probabilities."""

    weights: Literal["learned", "equal"] = "learned"
    """``learned``: regression weights shrunk towards equal ones; ``equal``: the equal
    weights themselves, never learned (the ``members_mean`` baseline)."""
    equal_members: tuple[str, ...] | None = None
    """Members that share the equal prior weight (None: those of a trained kind in the
    predictor registry, i.e. not the rule-based ones); the others start at weight 0."""
    standardize_half_life: float = Field(500.0, gt=0, allow_inf_nan=False)
    """Bars after which a member output's weight in its trailing mean and variance halves."""
    standardize_min_weight: float = Field(50.0, gt=0, allow_inf_nan=False)
    """Effective bars of a member's trailing distribution before its score is used."""
    z_clip: float = Field(5.0, gt=0, allow_inf_nan=False)
    """Standardized member scores are clipped to +-this many trailing standard deviations."""
    return_clip: float = Field(10.0, gt=0, allow_inf_nan=False)
    """The regression target (the forward return in units of the flat band) is clipped to
    +-this (about 4 standard deviations of a 4-hour move)."""
    half_life: float = Field(2000.0, gt=0, allow_inf_nan=False)
    """Outcomes of one symbol after which an old outcome's weight in the regression and
    the calibration map halves (the base rate's half-life)."""
    shrinkage: float = Field(2500.0, gt=0, allow_inf_nan=False)
    """Independent observations a weight's deviation from the equal weights costs: the
    prior of a deviation is about 0.02 of the target's spread (member ICs differ by ~0.02).
    An outcome counts as ``1 / delay_bars`` of one (overlapping returns)."""
    prior_ic: float = Field(0.02, gt=0, lt=1, allow_inf_nan=False)
    """IC the equal-weight score is expected to have before any evidence (the members were
    trained to predict the return), with a prior standard deviation of the same size."""
    map_prior: float = Field(200.0, gt=0, allow_inf_nan=False)
    """Independent observations the calibration map's prior (the base rate: no tilt) is
    worth."""


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
    """How the learned ensemble combines, calibrates and certifies."""

    delay_bars: int = Field(4, ge=1, le=1000)
    """Bars until an outcome is known (the label horizon): the same bar is learned once per
    residue ``bar mod delay_bars`` and never again."""
    calibration_bins: int = Field(10, ge=2, le=100)
    """Equal-width confidence bins of the online reliability diagram (ECE)."""
    combiner: CombinerConfig = CombinerConfig()
    base_rate: BaseRateConfig = BaseRateConfig()
    actionable: ActionableConfig = ActionableConfig()
