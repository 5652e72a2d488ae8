"""Configuration of the ``original`` combiner: the system this project replaces.

Everything here is that system's own design (hand-set static weights, regime multipliers,
voting rules, an adaptive confidence threshold and quality cut-offs), kept so the
evaluation can measure its claims. :data:`ORIGINAL_PRESET` is its exact configuration;
the section lives under ``EnsembleConfig.original`` and matters only in ``mode: original``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from models.ensemble.sections import Section, check_unit
from models.regime.state import REGIMES

VotingMethod = Literal["weighted", "confidence_weighted", "majority"]

ORIGINAL_WEIGHTS: dict[str, float] = {
    "transformer": 0.4,
    "cnn_lstm": 0.3,
    "indicators": 0.2,
    "smc": 0.1,
}
"""The static weights of the system this replaces: its four models, whatever the predictor
registry holds today."""

DEFAULT_MULTIPLIERS: dict[str, dict[str, float]] = {
    # Trends reward sequence models and trend-following indicators; SMC reversal setups
    # fight the trend.
    "trending_bullish": {"transformer": 1.2, "cnn_lstm": 1.0, "indicators": 1.2, "smc": 0.8},
    "trending_bearish": {"transformer": 1.2, "cnn_lstm": 1.0, "indicators": 1.2, "smc": 0.8},
    # Ranges reward SMC mean reversion (liquidity sweeps, order-block rejections);
    # trend indicators whipsaw.
    "ranging": {"transformer": 0.9, "cnn_lstm": 1.0, "indicators": 0.8, "smc": 1.4},
    # Breakouts are structure breaks (SMC BOS) with momentum the CNN-LSTM picks up.
    "breakout_bullish": {"transformer": 1.0, "cnn_lstm": 1.2, "indicators": 0.9, "smc": 1.2},
    "breakout_bearish": {"transformer": 1.0, "cnn_lstm": 1.2, "indicators": 0.9, "smc": 1.2},
    # Quiet markets: indicators read noise as signal; structure levels still matter.
    "consolidation": {"transformer": 1.0, "cnn_lstm": 1.0, "indicators": 0.8, "smc": 1.2},
    # Volatile bars are not actionable by default; weights stay as they are.
    "volatile": {},
}
"""Per-regime, per-model weight multipliers; a (regime, model) pair not listed uses 1.0."""


class TrackingConfig(Section):
    """How realized outcomes turn into per-(symbol, model) accuracies and dynamic weights."""

    half_life: float = Field(50.0, gt=0, allow_inf_nan=False)
    """Resolved outcomes of one (symbol, model) after which an old outcome weighs 1/2."""
    min_outcomes: int = Field(30, ge=1)
    """Outcomes every present model needs before dynamic weights replace static ones."""
    weight_floor: float = Field(0.05, ge=0, lt=1, allow_inf_nan=False)
    """Smallest normalised dynamic weight: a cold model keeps a voice and can recover."""
    dynamic_weights: bool = True


class RegimeConfig(Section):
    """Which regimes allow actionable signals and how each regime re-weights models."""

    actionable_regimes: tuple[str, ...] = tuple(r for r in REGIMES if r != "volatile")
    multipliers: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_MULTIPLIERS.items()}
    )

    @field_validator("actionable_regimes")
    @classmethod
    def _known_regimes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [r for r in value if r not in REGIMES]
        if unknown:
            raise ValueError(f"unknown regime(s) {unknown}; known: {', '.join(REGIMES)}")
        return value

    @field_validator("multipliers", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        merged: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_MULTIPLIERS.items()}
        for regime, per_model in value.items():
            if regime not in REGIMES:
                raise ValueError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
            if not isinstance(per_model, Mapping):
                raise ValueError(f"{regime}: expected a mapping model -> multiplier")
            merged[regime] = {**merged.get(regime, {}), **per_model}
        return merged

    @field_validator("multipliers")
    @classmethod
    def _non_negative(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for regime, per_model in value.items():
            for model, m in per_model.items():
                if not math.isfinite(m) or m < 0:
                    raise ValueError(f"{regime}.{model}: must be finite and >= 0, got {m}")
        return value

    def multiplier(self, regime: str | None, model: str) -> float:
        """The multiplier of ``model`` in ``regime`` (1.0 when unlisted or no regime)."""
        if regime is None:
            return 1.0
        return self.multipliers.get(regime, {}).get(model, 1.0)


class AdaptiveThresholdConfig(Section):
    """The realized-precision search for the actionable confidence threshold."""

    enabled: bool = True
    target_precision: float = Field(0.55, gt=0, le=1, allow_inf_nan=False)
    """Share of resolved directional signals above the threshold that must be right."""
    min_threshold: float = Field(0.5, ge=0, le=1, allow_inf_nan=False)
    max_threshold: float = Field(0.9, ge=0, le=1, allow_inf_nan=False)
    step: float = Field(0.05, gt=0, le=1, allow_inf_nan=False)
    window: int = Field(200, ge=1)
    """Most recent resolved candidate signals (per symbol) the search looks at."""
    min_signals: int = Field(30, ge=1)
    """Resolved signals a threshold level needs above it before its precision counts."""

    @model_validator(mode="after")
    def _consistent(self) -> AdaptiveThresholdConfig:
        if self.min_threshold > self.max_threshold:
            raise ValueError(
                f"min_threshold {self.min_threshold} is above max_threshold {self.max_threshold}"
            )
        if self.min_signals > self.window:
            raise ValueError(
                f"min_signals {self.min_signals} exceeds window {self.window}: never adapts"
            )
        return self

    def grid(self) -> tuple[float, ...]:
        """Candidate thresholds from ``min_threshold`` to ``max_threshold`` by ``step``."""
        n = math.floor((self.max_threshold - self.min_threshold) / self.step + 1e-9)
        top = self.max_threshold
        levels = [min(round(self.min_threshold + i * self.step, 10), top) for i in range(n + 1)]
        if levels[-1] < top:
            levels.append(top)
        return tuple(levels)


class GradeCutoff(Section):
    """Minimum confidence, agreement and coverage a signal needs for one quality grade."""

    confidence: float
    agreement: float
    coverage: float

    _unit = field_validator("confidence", "agreement", "coverage")(check_unit)


class QualityConfig(Section):
    """Cut-offs of the grades; a signal gets the best grade whose three minimums it meets."""

    excellent: GradeCutoff = GradeCutoff(confidence=0.8, agreement=0.8, coverage=0.9)
    good: GradeCutoff = GradeCutoff(confidence=0.65, agreement=0.6, coverage=0.7)
    fair: GradeCutoff = GradeCutoff(confidence=0.5, agreement=0.5, coverage=0.5)

    @model_validator(mode="after")
    def _ordered(self) -> QualityConfig:
        for name in ("confidence", "agreement", "coverage"):
            e, g, f = (getattr(c, name) for c in (self.excellent, self.good, self.fair))
            if not e >= g >= f:
                raise ValueError(f"{name} cut-offs must satisfy excellent >= good >= fair")
        return self


class OriginalConfig(Section):
    """Everything the ``original`` combiner needs (``EnsembleConfig.original``).

    ``weights`` names its models and their static weights (normalised over the models
    present at each call); ``confidence_threshold`` is used until the adaptive search has
    enough resolved signals (or always, with the search off).
    """

    weights: dict[str, float] = Field(default_factory=lambda: dict(ORIGINAL_WEIGHTS))
    confidence_threshold: float = Field(0.7, allow_inf_nan=False)
    voting_method: VotingMethod = "weighted"
    tracking: TrackingConfig = TrackingConfig()
    regime: RegimeConfig = RegimeConfig()
    adaptive_threshold: AdaptiveThresholdConfig = AdaptiveThresholdConfig()
    quality: QualityConfig = QualityConfig()

    _threshold_unit = field_validator("confidence_threshold")(check_unit)

    @field_validator("weights")
    @classmethod
    def _valid_weights(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("at least one model weight is needed")
        bad = {m: w for m, w in value.items() if not math.isfinite(w) or w < 0}
        if bad:
            raise ValueError(f"weights must be finite and >= 0, got {bad}")
        if sum(value.values()) <= 0:
            raise ValueError("weights sum to 0: at least one model needs a positive weight")
        return value

    @model_validator(mode="after")
    def _threshold_in_bounds(self) -> OriginalConfig:
        adaptive = self.adaptive_threshold
        lo, hi = adaptive.min_threshold, adaptive.max_threshold
        if adaptive.enabled and not lo <= self.confidence_threshold <= hi:
            raise ValueError(
                f"confidence_threshold {self.confidence_threshold} is outside the adaptive "
                f"bounds [{lo}, {hi}]"
            )
        return self


ORIGINAL_PRESET: dict[str, Any] = {
    "mode": "original",
    "original": {
        "weights": dict(ORIGINAL_WEIGHTS),
        "voting_method": "confidence_weighted",
        "confidence_threshold": 0.7,
        "adaptive_threshold": {"enabled": False},
    },
}
"""``EnsembleConfig.preset("original")``: the replaced system exactly (static weights
0.4/0.3/0.2/0.1, confidence-weighted voting, its regime multipliers, a fixed 0.70
threshold)."""
