"""The original system's combiner (``EnsembleConfig.mode = "original"``, preset ``original``).

Static weights scaled by hand-set regime multipliers and, when dynamic, by decayed
3-class accuracy above chance (:mod:`models.ensemble.tracker`); one of three voting rules
(:mod:`models.ensemble.voting`); a regime veto; and a confidence threshold that adapts to
the realized precision of past signals (:mod:`models.ensemble.threshold`). Kept so the
report can measure the system this project replaces; the service default is
:mod:`models.ensemble.learned`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models.ensemble.config import EnsembleConfig
from models.ensemble.inputs import (
    PredictionInput,
    classify_return,
    ignored,
    prediction_direction,
    screen,
)
from models.ensemble.original_config import OriginalConfig
from models.ensemble.signal import (
    EnsembleSignal,
    ModelContribution,
    SignalRecord,
    grade_quality,
    meets,
    signal_label,
)
from models.ensemble.threshold import AdaptiveThreshold
from models.ensemble.tracker import AccuracyTracker
from models.ensemble.voting import (
    UNIFORM,
    Vote,
    confidence_weighted_vote,
    direction_of,
    majority_vote,
    weighted_vote,
)
from models.errors import EnsembleInputError
from models.predictors.base import Prediction
from models.regime.state import RegimeState


@dataclass(frozen=True)
class _Ballot:
    """Intermediate result of :meth:`Ensemble.combine` (weights and the vote)."""

    screened: dict[str, Prediction | str]
    usable: dict[str, Prediction]
    """Usable predictions of expected models (they count for coverage)."""
    preds: dict[str, Prediction]
    """Usable predictions with a positive weight (the voters)."""
    base: dict[str, float]
    mult: dict[str, float]
    vote: Vote
    used: dict[str, float]
    """Voter -> normalised weight used (empty when degraded)."""
    dynamic: bool
    degraded: bool

    @property
    def direction(self) -> int:
        return 0 if self.degraded else direction_of(self.vote.probabilities)

    @property
    def agreement(self) -> float:
        """Weight share of the voters whose own direction is the ensemble's."""
        d = self.direction
        return sum(w for m, w in self.used.items() if prediction_direction(self.preds[m]) == d)


class OriginalCombiner:
    """Weighted, regime-aware combination of predictors with outcome-driven adaptation."""

    def __init__(self, config: EnsembleConfig) -> None:
        self.ensemble = config
        self.config: OriginalConfig = config.original
        self.tracker = AccuracyTracker(self.config.tracking)
        self.threshold = AdaptiveThreshold(
            self.config.adaptive_threshold, self.config.confidence_threshold
        )
        self.models = tuple(self.config.weights)

    # combining ---------------------------------------------------------------------------

    def combine(
        self,
        symbol: str,
        predictions: Mapping[str, PredictionInput],
        regime: RegimeState | None = None,
        bar: int | None = None,
    ) -> EnsembleSignal:
        """One signal for ``symbol`` from ``predictions`` keyed by model name (``bar`` is
        not used: the original system had no clock)."""
        ballot = self._ballot(symbol, predictions, regime)
        cfg = self.config
        vote, degraded, direction = ballot.vote, ballot.degraded, ballot.direction
        agreement = ballot.agreement
        coverage = sum(cfg.weights[m] for m in ballot.usable) / sum(cfg.weights.values())
        threshold = self.threshold.current(symbol)
        regime_name = regime.name if regime is not None else None
        allowed = regime_name is None or regime_name in cfg.regime.actionable_regimes
        eligible = direction != 0 and allowed and not degraded
        actionable = eligible and meets(vote.confidence, threshold)
        min_models = self.ensemble.min_models
        reasons = _reasons(len(ballot.preds), min_models, direction, allowed, regime_name)
        if eligible and not actionable:
            reasons.append(f"confidence {vote.confidence:.3f} is below threshold {threshold:.3f}")
        quality = (
            "POOR" if degraded else grade_quality(vote.confidence, agreement, coverage, cfg.quality)
        )
        return EnsembleSignal(
            symbol=symbol,
            signal=signal_label(
                direction,
                actionable,
                vote.confidence,
                threshold,
                self.ensemble.strong_signal_margin,
            ),
            direction=direction,
            probabilities=vote.probabilities,
            confidence=vote.confidence,
            quality=quality,
            actionable=actionable,
            eligible=eligible,
            threshold=threshold,
            voting_method=cfg.voting_method,
            weight_mode="dynamic" if ballot.dynamic else "static",
            coverage=coverage,
            agreement=agreement,
            contributions=self._contributions(ballot, predictions),
            missing_models={m: s for m, s in ballot.screened.items() if isinstance(s, str)},
            regime=regime,
            reasons=tuple(reasons),
        )

    def _ballot(
        self, symbol: str, predictions: Mapping[str, Any], regime: RegimeState | None
    ) -> _Ballot:
        """Steps 1-3: screen the inputs, weigh the usable models and vote."""
        cfg = self.config
        screened = {m: screen(predictions.get(m)) for m in self.models}
        usable = {m: p for m, p in screened.items() if isinstance(p, Prediction)}
        base, dynamic = self.tracker.weights(symbol, {m: cfg.weights[m] for m in usable})
        regime_name = regime.name if regime is not None else None
        mult = {m: cfg.regime.multiplier(regime_name, m) for m in usable}
        preds = {m: p for m, p in usable.items() if base[m] * mult[m] > 0}
        if len(preds) < self.ensemble.min_models:
            vote = Vote(UNIFORM, 0.0, ())
            return _Ballot(screened, usable, preds, base, mult, vote, {}, dynamic, True)
        vote = self._vote(preds, base, mult)
        used = dict(zip(preds, vote.weights, strict=True))
        return _Ballot(screened, usable, preds, base, mult, vote, used, dynamic, False)

    def _contributions(
        self, ballot: _Ballot, predictions: Mapping[str, Any]
    ) -> dict[str, ModelContribution]:
        contributions = {
            m: _contribution(
                m,
                ballot.screened[m],
                ballot.base.get(m, 0.0),
                ballot.mult.get(m, 1.0),
                ballot.used.get(m, 0.0),
            )
            for m in self.models
        }
        for m, value in predictions.items():
            if m not in contributions:
                contributions[m] = ignored(m, value)
        return contributions

    def _vote(
        self, preds: Mapping[str, Prediction], base: Mapping[str, float], mult: Mapping[str, float]
    ) -> Vote:
        vectors = [p.probabilities for p in preds.values()]
        weights = [base[m] * mult[m] for m in preds]
        confidences = [p.confidence for p in preds.values()]
        method = self.config.voting_method
        if method == "weighted":
            return weighted_vote(vectors, weights)
        if method == "confidence_weighted":
            return confidence_weighted_vote(vectors, weights, confidences)
        return majority_vote(vectors, confidences)

    # learning ----------------------------------------------------------------------------

    def learn(self, record: SignalRecord, ret: float) -> dict[str, Any]:
        """Learn from the realized return ``ret`` of ``record``'s signal; return what changed.

        The return is classified with ``record.flat_band`` (``|r| <= band`` is flat). Each
        model that gave a usable prediction is correct iff its direction equals that class.
        An eligible directional signal is a win iff its direction equals it, and feeds the
        adaptive threshold.
        """
        symbol = record.symbol
        realized = classify_return(ret, record.flat_band)
        models = {}
        for model, direction in record.model_directions.items():
            before = self.tracker.stats(symbol, model).accuracy
            after = self.tracker.update(symbol, model, direction == realized)
            models[model] = {
                "direction": direction,
                "correct": direction == realized,
                "accuracy_before": before,
                "accuracy": after.accuracy,
                "effective_outcomes": after.total,
                "outcomes": after.outcomes,
            }
        threshold = None
        if record.eligible and record.direction != 0:
            before_t = self.threshold.current(symbol)
            win = record.direction == realized
            threshold = {
                "win": win,
                "before": before_t,
                "after": self.threshold.update(symbol, record.confidence, win),
            }
        weights, dynamic = self.tracker.weights(symbol, self.config.weights)
        return {
            "symbol": symbol,
            "realized_return": ret,
            "realized_direction": realized,
            "models": models,
            "threshold": threshold,
            "weights": weights,
            "weight_mode": "dynamic" if dynamic else "static",
        }

    def performance(self, symbol: str) -> dict[str, Any]:
        """Per-model decayed accuracy and current weights, and the threshold, of ``symbol``.

        Weights are those a call with every expected model present would use (no regime).
        """
        weights, dynamic = self.tracker.weights(symbol, self.config.weights)
        static_total = sum(self.config.weights.values())
        names = list(self.models) + [
            m for m in self.tracker.models(symbol) if m not in self.config.weights
        ]
        models = {}
        for m in names:
            stats = self.tracker.stats(symbol, m)
            models[m] = {
                "accuracy": stats.accuracy,
                "effective_outcomes": stats.total,
                "outcomes": stats.outcomes,
                "static_weight": self.config.weights.get(m, 0.0) / static_total,
                "weight": weights.get(m, 0.0),
            }
        current = self.threshold.current(symbol)
        count, precision = self.threshold.precision_at(symbol, current)
        return {
            "symbol": symbol,
            "mode": "original",
            "weight_mode": "dynamic" if dynamic else "static",
            "models": models,
            "threshold": {
                "current": current,
                "default": self.config.confidence_threshold,
                "resolved_signals": len(self.threshold.history(symbol)),
                "signals_above": count,
                "precision_above": precision,
            },
        }

    # state -----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Learned trackers and threshold windows, JSON-serialisable."""
        return {"trackers": self.tracker.state_dict(), "thresholds": self.threshold.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping):
            raise EnsembleInputError(f"ensemble state original: expected a mapping, got {state!r}")
        for key in ("trackers", "thresholds"):
            if key not in state:
                raise EnsembleInputError(f"ensemble state {key}: missing")
        self.tracker.load_state_dict(state["trackers"])
        self.threshold.load_state_dict(state["thresholds"])

    # what only the learned combiner does ----------------------------------------------
    def needs_history(self, symbol: str) -> bool:
        return False

    def warm_start(self, symbol: str, labels: Iterable[int]) -> int:
        return 0

    def seed(self, symbol: str, published: Mapping[str, Any]) -> bool:
        return False


def _contribution(
    model: str, screened: Prediction | str, base: float, mult: float, weight: float
) -> ModelContribution:
    if isinstance(screened, str):
        return ModelContribution(model=model, status=screened)
    return ModelContribution(
        model=model,
        status="ok",
        probabilities=screened.probabilities,
        confidence=screened.confidence,
        direction=prediction_direction(screened),
        base_weight=base,
        regime_multiplier=mult,
        weight=weight,
    )


def _reasons(
    voters: int, min_models: int, direction: int, allowed: bool, regime: str | None
) -> list[str]:
    reasons = []
    if voters < min_models:
        reasons.append(f"{voters} model(s) can vote; min_models is {min_models}")
    elif direction == 0:
        reasons.append("direction is flat")
    if not allowed:
        reasons.append(f"regime {regime!r} does not allow actionable signals")
    return reasons
