"""What the ensemble returns (``EnsembleSignal``) and what it later learns from (``SignalRecord``).

Signal labels: direction 0 is ``HOLD``; an up (down) direction is ``STRONG_BUY``
(``STRONG_SELL``) when the signal is actionable and its confidence is at least
``threshold + strong_signal_margin``, else ``BUY`` (``SELL``). A ``BUY`` that is not
actionable is a reading, not an instruction; ``reasons`` says why it may not be acted on.

Quality of the learned ensemble: ``POOR`` when fewer than ``min_models`` members answered,
``EXCELLENT`` for an actionable STRONG signal, ``GOOD`` for another actionable one, else
``FAIR`` (a reading that has not earned action). Quality of the ``original`` preset: the
best grade whose three minimums (confidence, agreement, coverage; see ``QualityConfig``)
the signal meets, else ``POOR``. ``agreement`` is the weight share of
the voting models whose own direction equals the ensemble's; ``coverage`` is the static
weight share of the expected models that delivered a usable prediction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from models.ensemble.original_config import QualityConfig
from models.errors import EnsembleInputError
from models.regime.state import RegimeState
from models.vocabulary import CLASSES

SignalLabel = Literal["STRONG_BUY", "BUY", "HOLD", "SELL", "STRONG_SELL"]
QualityGrade = Literal["EXCELLENT", "GOOD", "FAIR", "POOR"]
SIGNALS: tuple[str, ...] = ("STRONG_BUY", "BUY", "HOLD", "SELL", "STRONG_SELL")
QUALITIES: tuple[str, ...] = ("EXCELLENT", "GOOD", "FAIR", "POOR")

TOLERANCE = 1e-9
"""Slack when comparing a computed score with a configured cut-off, so that a confidence
that is 0.5 by hand but 0.49999999999999994 in floating point still meets 0.5."""


def meets(value: float, minimum: float) -> bool:
    """``value >= minimum`` up to floating-point rounding (:data:`TOLERANCE`)."""
    return value >= minimum - TOLERANCE


def signal_label(
    direction: int, actionable: bool, confidence: float, threshold: float, margin: float
) -> SignalLabel:
    """The label of a signal (see the module docstring)."""
    if direction == 0:
        return "HOLD"
    strong = actionable and meets(confidence, threshold + margin)
    if direction > 0:
        return "STRONG_BUY" if strong else "BUY"
    return "STRONG_SELL" if strong else "SELL"


def grade_quality(
    confidence: float, agreement: float, coverage: float, cutoffs: QualityConfig
) -> QualityGrade:
    """The best grade whose confidence, agreement and coverage minimums are all met."""
    grades: tuple[tuple[QualityGrade, Any], ...] = (
        ("EXCELLENT", cutoffs.excellent),
        ("GOOD", cutoffs.good),
        ("FAIR", cutoffs.fair),
    )
    for grade, cut in grades:
        scores = (
            (confidence, cut.confidence),
            (agreement, cut.agreement),
            (coverage, cut.coverage),
        )
        if all(meets(value, minimum) for value, minimum in scores):
            return grade
    return "POOR"


def _probability_vector(values: Any, where: str) -> tuple[float, float, float]:
    ok = isinstance(values, list | tuple) and len(values) == 3
    vector = tuple(float(v) for v in values) if ok else ()
    if not ok or not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in vector):
        raise EnsembleInputError(f"record {where}: need 3 probabilities in [0, 1], got {values!r}")
    return vector  # type: ignore[return-value]


def _vector_dict(vector: tuple[float, float, float]) -> dict[str, float]:
    return dict(zip(CLASSES, vector, strict=True))


@dataclass(frozen=True)
class ModelContribution:
    """How one model entered a signal.

    ``status`` is ``ok``, ``missing`` (no prediction), ``error: <message>`` (the model
    failed or returned something unusable) or ``ignored: not in config weights``.
    ``weight`` is the normalised weight that multiplied its vector (its vote share for
    ``majority``); ``base_weight`` is the static or dynamic weight before the regime
    multiplier ``regime_multiplier``.
    """

    model: str
    status: str
    probabilities: tuple[float, float, float] | None = None
    confidence: float | None = None
    direction: int | None = None
    base_weight: float = 0.0
    regime_multiplier: float = 1.0
    weight: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        probs = self.probabilities
        return {
            "model": self.model,
            "status": self.status,
            "probabilities": _vector_dict(probs) if probs is not None else None,
            "confidence": self.confidence,
            "direction": self.direction,
            "base_weight": self.base_weight,
            "regime_multiplier": self.regime_multiplier,
            "weight": self.weight,
        }


@dataclass(frozen=True)
class SignalRecord:
    """The part of a signal needed to learn from its outcome; JSON round-trips exactly.

    ``flat_band`` is the return magnitude at or under which the outcome counts as flat
    (the caller's choice, e.g. its label threshold). ``eligible`` says the signal had
    everything actionable needs except the threshold (direction, allowed regime, enough
    models): only those feed the adaptive threshold.
    """

    symbol: str
    model_directions: Mapping[str, int]
    direction: int
    confidence: float
    actionable: bool
    eligible: bool
    flat_band: float
    threshold: float
    bar: int | None = None
    regime: str | None = None
    probabilities: tuple[float, float, float] | None = None
    expert_probabilities: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    """Learned ensemble: what every member that answered said."""
    inputs: Mapping[str, Any] | None = None
    """Learned ensemble: what its forecast used (``symbol_state.Inputs.to_dict``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise EnsembleInputError(f"record symbol: need a non-empty string, got {self.symbol!r}")
        bad = {m: d for m, d in self.model_directions.items() if d not in (-1, 0, 1)}
        if bad or self.direction not in (-1, 0, 1):
            raise EnsembleInputError(
                f"record directions: must be -1, 0 or +1, got {bad or self.direction!r}"
            )
        for name in ("confidence", "threshold"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise EnsembleInputError(f"record {name}: must be in [0, 1], got {value!r}")
        band = self.flat_band
        if not isinstance(band, int | float) or not math.isfinite(band) or band < 0:
            raise EnsembleInputError(f"record flat_band: must be finite and >= 0, got {band!r}")
        object.__setattr__(self, "model_directions", dict(self.model_directions))
        if self.bar is not None and (not isinstance(self.bar, int) or isinstance(self.bar, bool)):
            raise EnsembleInputError(f"record bar: must be an integer, got {self.bar!r}")
        if self.regime is not None and not isinstance(self.regime, str):
            raise EnsembleInputError(f"record regime: must be a string, got {self.regime!r}")
        if self.probabilities is not None:
            object.__setattr__(
                self, "probabilities", _probability_vector(self.probabilities, "probabilities")
            )
        experts = {
            str(name): _probability_vector(v, f"expert_probabilities.{name}")
            for name, v in dict(self.expert_probabilities).items()
        }
        object.__setattr__(self, "expert_probabilities", experts)
        if self.inputs is not None and not isinstance(self.inputs, Mapping):
            raise EnsembleInputError(f"record inputs: must be a mapping, got {self.inputs!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "model_directions": dict(self.model_directions),
            "direction": self.direction,
            "confidence": self.confidence,
            "actionable": self.actionable,
            "eligible": self.eligible,
            "flat_band": self.flat_band,
            "threshold": self.threshold,
            "bar": self.bar,
            "regime": self.regime,
            "probabilities": list(self.probabilities) if self.probabilities else None,
            "expert_probabilities": {n: list(v) for n, v in self.expert_probabilities.items()},
            "inputs": dict(self.inputs) if self.inputs is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignalRecord:
        """Rebuild from :meth:`to_dict`; records stored before the learned ensemble or its
        standardized combiner (no ``bar``, expert or ``inputs`` fields) load with those
        fields empty (such a record is resolved but teaches the learned combiner nothing)."""
        optional = ("bar", "regime", "probabilities", "expert_probabilities", "inputs")
        try:
            fields = {name: data[name] for name in cls.__dataclass_fields__ if name not in optional}
            return cls(**fields, **{name: data[name] for name in optional if name in data})
        except KeyError as exc:
            raise EnsembleInputError(f"record {exc.args[0]}: missing") from None
        except (TypeError, AttributeError) as exc:
            raise EnsembleInputError(f"record: malformed ({exc})") from None


@dataclass(frozen=True)
class EnsembleSignal:
    """The ensemble's answer for one symbol at one moment."""

    symbol: str
    signal: SignalLabel
    direction: int
    probabilities: tuple[float, float, float]
    confidence: float
    quality: QualityGrade
    actionable: bool
    eligible: bool
    threshold: float
    voting_method: str
    weight_mode: Literal["static", "dynamic", "learned"]
    coverage: float
    agreement: float
    contributions: Mapping[str, ModelContribution]
    missing_models: Mapping[str, str]
    """Expected models without a usable prediction -> ``missing`` / ``error: <message>``."""
    regime: RegimeState | None
    reasons: tuple[str, ...] = field(default=())
    """Why the signal is not actionable (empty when it is)."""
    bar: int | None = None
    experts: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    """Learned ensemble: what every member that answered said."""
    expert_weights: Mapping[str, float] = field(default_factory=dict)
    """Learned ensemble: each member's normalised, signed weight in the combined score (0
    when it was left out)."""
    score: float | None = None
    """Learned ensemble: the combined score (unit variance; > 0 leans up)."""
    inputs: Mapping[str, Any] | None = None
    """Learned ensemble: what the forecast used (goes into the record, learned from later)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for the HTTP API."""
        return {
            "symbol": self.symbol,
            "signal": self.signal,
            "direction": self.direction,
            "probabilities": _vector_dict(self.probabilities),
            "confidence": self.confidence,
            "quality": self.quality,
            "actionable": self.actionable,
            "eligible": self.eligible,
            "threshold": self.threshold,
            "voting_method": self.voting_method,
            "weight_mode": self.weight_mode,
            "coverage": self.coverage,
            "agreement": self.agreement,
            "contributions": {m: c.to_dict() for m, c in self.contributions.items()},
            "missing_models": dict(self.missing_models),
            "regime": self.regime.to_dict() if self.regime is not None else None,
            "reasons": list(self.reasons),
            "score": self.score,
            "experts": {
                name: {"probabilities": _vector_dict(v), "weight": self.expert_weights.get(name)}
                for name, v in self.experts.items()
            },
        }

    def to_record(self, flat_band: float) -> SignalRecord:
        """What :meth:`Ensemble.record_outcome` needs once the outcome is known."""
        directions = {
            m: c.direction
            for m, c in self.contributions.items()
            if c.status == "ok" and c.direction is not None
        }
        return SignalRecord(
            symbol=self.symbol,
            model_directions=directions,
            direction=self.direction,
            confidence=self.confidence,
            actionable=self.actionable,
            eligible=self.eligible,
            flat_band=flat_band,
            threshold=self.threshold,
            bar=self.bar,
            regime=self.regime.name if self.regime is not None else None,
            probabilities=self.probabilities if self.inputs is not None else None,
            expert_probabilities=dict(self.experts),
            inputs=self.inputs,
        )
