"""Ensemble configuration: one validated pydantic model, loadable from YAML and environment.

Precedence (highest first): environment variables ``SMARTMARKET_ENSEMBLE_<FIELD>`` (nested
sections with ``__``, e.g. ``SMARTMARKET_ENSEMBLE_TRACKING__HALF_LIFE=30``), then the YAML
file given to :meth:`EnsembleConfig.from_yaml`, then the defaults below. Environment values
override YAML key by key. ``weights`` is a whole mapping: the models it names are the
models the ensemble expects, so a source that sets it sets all of it (JSON works in the
environment: ``SMARTMARKET_ENSEMBLE_WEIGHTS='{"transformer": 0.6, "smc": 0.4}'``).
Regime multipliers instead override the documented defaults entry by entry.

Every failure (unknown key, wrong type, out-of-range value) raises
:class:`models.errors.ConfigError` whose message names each offending field.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from models.config_errors import describe_validation_error
from models.ensemble.learning_config import LearningConfig
from models.ensemble.sections import Section as _Section
from models.ensemble.sections import check_unit as _check_unit
from models.errors import ConfigError
from models.predictors.registry import default_weights
from models.regime.state import REGIMES

ENV_PREFIX = "SMARTMARKET_ENSEMBLE_"
"""Prefix of every environment variable the ensemble config reads."""

CONFIG_PATH_ENV = "SMARTMARKET_ENSEMBLE_CONFIG"
"""Environment variable naming a YAML file for :meth:`EnsembleConfig.load`."""

VotingMethod = Literal["weighted", "confidence_weighted", "majority"]
EnsembleMode = Literal["learned", "original"]

DEFAULT_WEIGHTS: dict[str, float] = default_weights()
"""The default members and static weights: the predictor registry's default members."""

ORIGINAL_WEIGHTS: dict[str, float] = {
    "transformer": 0.4,
    "cnn_lstm": 0.3,
    "indicators": 0.2,
    "smc": 0.1,
}
"""The static weights of the system this replaces (``preset("original")``): its four
models, whatever the registry holds today."""

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


class TrackingConfig(_Section):
    """How realized outcomes turn into per-(symbol, model) accuracies and dynamic weights."""

    half_life: float = Field(50.0, gt=0, allow_inf_nan=False)
    """Resolved outcomes of one (symbol, model) after which an old outcome weighs 1/2."""
    min_outcomes: int = Field(30, ge=1)
    """Outcomes every present model needs before dynamic weights replace static ones."""
    weight_floor: float = Field(0.05, ge=0, lt=1, allow_inf_nan=False)
    """Smallest normalised dynamic weight: a cold model keeps a voice and can recover."""
    dynamic_weights: bool = True


class RegimeConfig(_Section):
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


class AdaptiveThresholdConfig(_Section):
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


class GradeCutoff(_Section):
    """Minimum confidence, agreement and coverage a signal needs for one quality grade."""

    confidence: float
    agreement: float
    coverage: float

    _unit = field_validator("confidence", "agreement", "coverage")(_check_unit)


class QualityConfig(_Section):
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


class EnsembleConfig(BaseSettings):
    """Everything the ensemble needs.

    ``mode`` picks the combiner: ``learned`` (the default: weights from a proper score, a
    stacker, calibrated probabilities and an actionable rule certified from outcomes; its
    settings are ``learning``) or ``original`` (the hand-set weights, regime multipliers,
    voting rules and confidence threshold of the system this replaces; every other field).
    :meth:`preset` gives the original system's exact configuration.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    mode: EnsembleMode = "learned"
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    """The expected models (the learned ensemble's members); in ``original`` mode also their
    static weights (normalised over the models present at each call)."""
    confidence_threshold: float = Field(0.7, allow_inf_nan=False)
    """Threshold used until the adaptive search has enough resolved signals."""
    voting_method: VotingMethod = "weighted"
    min_models: int = Field(2, ge=1)
    """Fewest models with a usable prediction and a positive weight for a non-HOLD signal."""
    strong_signal_margin: float = Field(0.1, ge=0, le=1, allow_inf_nan=False)
    """Actionable signals at least this far above the threshold are STRONG_BUY / STRONG_SELL."""
    tracking: TrackingConfig = TrackingConfig()
    regime: RegimeConfig = RegimeConfig()
    adaptive_threshold: AdaptiveThresholdConfig = AdaptiveThresholdConfig()
    quality: QualityConfig = QualityConfig()
    learning: LearningConfig = LearningConfig()

    def __init__(self, **data: Any) -> None:
        _reject_unknown_env()
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, "ensemble config")) from None

    _threshold_unit = field_validator("confidence_threshold")(_check_unit)

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
    def _threshold_in_bounds(self) -> EnsembleConfig:
        adaptive = self.adaptive_threshold
        lo, hi = adaptive.min_threshold, adaptive.max_threshold
        if adaptive.enabled and not lo <= self.confidence_threshold <= hi:
            raise ValueError(
                f"confidence_threshold {self.confidence_threshold} is outside the adaptive "
                f"bounds [{lo}, {hi}]"
            )
        return self

    @property
    def models(self) -> tuple[str, ...]:
        """The expected models, in configuration order."""
        return tuple(self.weights)

    @classmethod
    def preset(cls, name: str) -> EnsembleConfig:
        """A named configuration: ``learned`` (the defaults) or ``original`` (the system this
        replaces: static weights 0.4/0.3/0.2/0.1, confidence-weighted voting, its regime
        multipliers and a fixed 0.70 confidence threshold)."""
        if name == "learned":
            return cls.from_dict({})
        if name == "original":
            return cls.from_dict(
                {
                    "mode": "original",
                    "weights": dict(ORIGINAL_WEIGHTS),
                    "voting_method": "confidence_weighted",
                    "confidence_threshold": 0.7,
                    "adaptive_threshold": {"enabled": False},
                }
            )
        raise ConfigError(f"ensemble preset: unknown name {name!r}; known: learned, original")

    @classmethod
    def from_yaml(cls, path: str | Path) -> EnsembleConfig:
        """Load ``path`` (a YAML mapping), with environment variables overriding it."""
        data = _read_yaml(Path(path))
        env = EnvSettingsSource(cls)()
        return cls(**_deep_merge(data, env))

    @classmethod
    def load(cls) -> EnsembleConfig:
        """The YAML named by ``$SMARTMARKET_ENSEMBLE_CONFIG`` if set, else defaults (+ env)."""
        path = os.environ.get(CONFIG_PATH_ENV)
        return cls.from_yaml(path) if path else cls()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnsembleConfig:
        """Rebuild from :meth:`to_dict` output, ignoring the environment (exact restore)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, "ensemble config")) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what :meth:`from_dict` and YAML files accept)."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """YAML text of the full config (a starting point for a config file)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _reject_unknown_env() -> None:
    """Name prefixed environment variables that match no field (pydantic ignores them)."""
    known = set(EnsembleConfig.model_fields)
    unknown = []
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_PATH_ENV:
            continue
        field = upper[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if field not in known:
            unknown.append(name)
    if unknown:
        raise ConfigError(
            f"ensemble config: unknown environment variable(s) {sorted(unknown)}; "
            f"fields: {', '.join(sorted(known))}"
        )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"ensemble config {path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"ensemble config {path}: invalid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"ensemble config {path}: top level must be a mapping, got {data!r}")
    return data


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
