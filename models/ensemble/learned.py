"""The learned combiner (``EnsembleConfig.mode = "learned"``, the default): members'
scores standardized per symbol, combined with weights learned for the forward return,
probabilities from a calibration map of the base rate, an actionable rule certified from
outcomes.

Per symbol (:mod:`models.ensemble.symbol_state`): each member's output is a z-score against
its own trailing distribution on that symbol, so members' biases cancel; the combined
score ``S`` weighs the z-scores with ridge-regression weights for the forward return, shrunk
towards equal weights over the trained members (``members_mean``); the probabilities tilt
the symbol's base rate (:mod:`models.ensemble.base_rate`) by ``S`` and a move score ``M``
through a map learned from outcomes. With no usable member the probabilities are the base
rate: the fallback, not a competitor that dilutes the score. A symbol with no learned
state starts from a published fit (:meth:`LearnedCombiner.seed`, what training fitted on
held-out bars) when there is one, else from the prior (equal weights, no tilt) and learns
online from there.

Confidence is the probability of the called class (the top class; a tie calls flat).
``agreement`` is the share of the score's absolute member contributions ``|w_m z_m|`` that
point the way the score does. Outcomes are learned once per (symbol, bar).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from models.ensemble.actionable import ActionableRule
from models.ensemble.base_rate import BaseRate
from models.ensemble.config import EnsembleConfig
from models.ensemble.inputs import (
    PredictionInput,
    classify_return,
    ignored,
    prediction_direction,
    screen,
)
from models.ensemble.scoreboard import Scoreboard
from models.ensemble.signal import (
    EnsembleSignal,
    ModelContribution,
    QualityGrade,
    SignalRecord,
    meets,
    signal_label,
)
from models.ensemble.symbol_state import Forecast, Inputs, SymbolState
from models.ensemble.voting import direction_of
from models.errors import EnsembleInputError, UnknownPredictorError
from models.predictors.base import Prediction
from models.predictors.registry import predictor_entry
from models.regime.state import RegimeState
from models.vocabulary import CLASSES

Vector = tuple[float, float, float]

ENSEMBLE = "ensemble"
PUBLISHED_FORMAT = 1
"""Version of a published fit's layout (:meth:`LearnedCombiner.seed`)."""


def called_class(probabilities: Vector) -> tuple[int, float]:
    """The called direction (top class; a tie for the top calls flat) and its probability."""
    direction = direction_of(probabilities)
    return direction, probabilities[direction + 1]


def equal_members(config: EnsembleConfig) -> tuple[str, ...]:
    """The members sharing the equal prior weight: ``combiner.equal_members``, else every
    member that is not a rule-based predictor of the registry (a name the registry does
    not know counts as trained)."""
    chosen = config.learning.combiner.equal_members
    if chosen is not None:
        return tuple(m for m in config.members if m in chosen)

    def rule(name: str) -> bool:
        try:
            return predictor_entry(name).kind == "rule"
        except UnknownPredictorError:
            return False

    return tuple(m for m in config.members if not rule(m))


class LearnedCombiner:
    """The learned combiner of ``config.members`` (see the module docstring)."""

    def __init__(self, config: EnsembleConfig) -> None:
        self.config = config
        self.members = config.members
        self.equal = equal_members(config)
        learning = config.learning
        self.base_rate = BaseRate(learning.base_rate)
        self.rule = ActionableRule(learning.actionable, spacing=learning.delay_bars)
        self.scores = Scoreboard(learning.calibration_bins)
        self.symbols: dict[str, SymbolState] = {}
        self._learned_bar: dict[str, list[int | None]] = {}
        self._prior = self._new_state()

    def _new_state(self) -> SymbolState:
        learning = self.config.learning
        return SymbolState(self.members, self.equal, learning.combiner, learning.delay_bars)

    def state_of(self, symbol: str) -> SymbolState:
        """``symbol``'s state (the prior's, unchanged, when it has none)."""
        return self.symbols.get(symbol, self._prior)

    # combining ---------------------------------------------------------------------------
    def combine(
        self,
        symbol: str,
        predictions: Mapping[str, PredictionInput],
        regime: RegimeState | None,
        bar: int | None,
    ) -> EnsembleSignal:
        if bar is None or isinstance(bar, bool) or not isinstance(bar, int):
            raise EnsembleInputError(f"bar: the learned ensemble needs an integer, got {bar!r}")
        screened = {m: screen(predictions.get(m)) for m in self.members}
        usable = {m: p for m, p in screened.items() if isinstance(p, Prediction)}
        vectors = {m: p.probabilities for m, p in usable.items()}
        versions = {m: p.version for m, p in usable.items()}
        fc = self.state_of(symbol).forecast(vectors, versions, self.base_rate.forecast(symbol))
        direction, confidence = called_class(fc.probabilities)
        used = len(fc.inputs.z)
        enough = used >= self.config.min_models
        level = self.rule.threshold(symbol)
        actionable = direction != 0 and enough and level is not None and meets(confidence, level)
        threshold = level if level is not None else 1.0
        label = signal_label(
            direction, actionable, confidence, threshold, self.config.strong_signal_margin
        )
        return EnsembleSignal(
            symbol=symbol,
            signal=label,
            direction=direction,
            probabilities=fc.probabilities,
            confidence=confidence,
            quality=_quality(enough, actionable, label),
            actionable=actionable,
            eligible=direction != 0 and enough,
            threshold=threshold,
            voting_method="standardized_score",
            weight_mode="learned",
            coverage=len(usable) / len(self.members),
            agreement=_agreement(fc),
            contributions=_contributions(screened, fc, predictions),
            missing_models={m: s for m, s in screened.items() if isinstance(s, str)},
            regime=regime,
            reasons=_reasons(fc, self.config.min_models, direction, level, confidence),
            bar=bar,
            experts=vectors,
            expert_weights={m: fc.weights.get(m, 0.0) for m in vectors},
            score=fc.inputs.score,
            inputs=fc.inputs.to_dict(),
        )

    # learning ----------------------------------------------------------------------------
    def learn(self, record: SignalRecord, realized_return: float) -> dict[str, Any]:
        """Learn the outcome of ``record``'s bar; what changed (``learned`` says whether
        anything did)."""
        base = {"realized_direction": classify_return(realized_return, record.flat_band)}
        if record.bar is None or record.inputs is None or record.probabilities is None:
            return {**base, "learned": False, "reason": "record has no learned-combiner forecast"}
        symbol, bar = record.symbol, record.bar
        delay = self.config.learning.delay_bars
        last = self._learned_bar.setdefault(symbol, [None] * delay)
        previous = last[bar % delay]
        if previous is not None and bar <= previous:
            return {
                **base,
                "learned": False,
                "reason": f"bar {bar} of {symbol} was already learned",
            }
        inputs = Inputs.from_dict(record.inputs)
        outcome = base["realized_direction"] + 1
        clip = self.config.learning.combiner.return_clip
        target = None
        if record.flat_band > 0:
            target = max(-clip, min(clip, realized_return / record.flat_band))
        state = self.symbols.get(symbol)
        if state is None:
            state = self.symbols[symbol] = self._new_state()
        restarted = state.learn(inputs, record.expert_probabilities, target, outcome)
        self.base_rate.update(symbol, outcome)
        self._score(record, outcome, realized_return)
        last[bar % delay] = bar
        p = record.probabilities[outcome]
        return {
            **base,
            "learned": True,
            "realized_class": outcome - 1,
            "log_loss": -math.log(max(p, 1e-12)),
            "weights": state.normalised_weights(),
            "restarted": restarted,
            "threshold": self.rule.threshold(symbol),
        }

    def _score(self, record: SignalRecord, outcome: int, realized_return: float) -> None:
        symbol = record.symbol
        for name, vector in record.expert_probabilities.items():
            self.scores.record(symbol, name, vector, outcome, realized_return)
        probs = record.probabilities
        assert probs is not None  # checked by learn
        self.scores.record(symbol, ENSEMBLE, probs, outcome, realized_return)
        direction, confidence = called_class(probs)
        self.scores.record_calibration(symbol, confidence, direction + 1 == outcome)
        if record.direction != 0 and record.bar is not None:
            self.rule.update(
                symbol, record.bar, record.direction, record.confidence, realized_return
            )

    def needs_history(self, symbol: str) -> bool:
        return not self.base_rate.known(symbol)

    def warm_start(self, symbol: str, labels: Iterable[int]) -> int:
        """Seed the base rate of a new symbol with the classes of its resolved history."""
        return self.base_rate.warm_start(symbol, labels)

    def seed(self, symbol: str, published: Mapping[str, Any]) -> bool:
        """Start ``symbol`` from ``published`` (a fit of :mod:`models.ensemble.published`)
        when it has no learned state yet. With equal weights (``members_mean``) the map is
        the one fitted on the equal-weight score, when the fit has it."""
        if symbol in self.symbols:
            return False
        if not isinstance(published, Mapping) or published.get("format") != PUBLISHED_FORMAT:
            got = published.get("format") if isinstance(published, Mapping) else published
            raise EnsembleInputError(
                f"published combiner format: expected {PUBLISHED_FORMAT}, got {got!r}"
            )
        state = self._new_state()
        state.load_state_dict(published["state"])
        own_map = published.get("equal_calibration")
        if self.config.learning.combiner.weights == "equal" and own_map is not None:
            state.calibration.load_state_dict(own_map)  # fitted on the equal-weight score
        state.fitted = dict(published.get("provenance") or {})
        self.symbols[symbol] = state
        return True

    # reading -----------------------------------------------------------------------------
    def performance(self, symbol: str) -> dict[str, Any]:
        """Per member: weight, standardization, log loss and sign hit rate; the combiner's
        weights, provenance and running ICs; the ensemble's scores, ECE and certificate."""
        summary = self.state_of(symbol).summary()
        standardization = summary.pop("standardization")
        models = {
            m: {
                "weight": summary["weights"][m],
                "coefficient": summary["coefficients"][m],
                "standardization": standardization.get(m),
                **self.scores.score(symbol, m).summary(),
            }
            for m in self.members
        }
        ensemble = {
            **self.scores.score(symbol, ENSEMBLE).summary(),
            "calibration": self.scores.calibration(symbol),
        }
        return {
            "models": models,
            "combiner": {**summary, "source": "published fit" if summary["fitted"] else "prior"},
            "ensemble": ensemble,
            "actionable": self.rule.summary(symbol),
            "base_rate": dict(zip(CLASSES, self.base_rate.forecast(symbol), strict=True)),
        }

    # state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "members": list(self.members),
            "symbols": {s: st.state_dict() for s, st in self.symbols.items()},
            "base_rate": self.base_rate.state_dict(),
            "actionable": self.rule.state_dict(),
            "scores": self.scores.state_dict(),
            "learned_bars": {s: list(b) for s, b in self._learned_bar.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved over the same or other members (a kept member keeps what
        it learned, a new one starts with nothing learned, a removed one is dropped)."""
        if not isinstance(state, Mapping):
            raise EnsembleInputError(f"ensemble state learned: expected a mapping, got {state!r}")
        keys = ("symbols", "base_rate", "actionable", "scores")
        missing = [k for k in keys if k not in state]
        if missing:
            raise EnsembleInputError(f"ensemble state learned.{missing[0]}: missing")
        symbols = {}
        for symbol, saved in dict(state["symbols"]).items():
            symbols[str(symbol)] = self._new_state()
            symbols[str(symbol)].load_state_dict(saved)
        self._load_common(state)
        self.symbols = symbols

    def load_migrated(self, state: Mapping[str, Any]) -> None:
        """Take what a format-2 state (mixture and stacker) learned that still means the
        same: the base rate, the actionable evidence, the scores and the learned bars; the
        combiner of every symbol starts from its prior or a published fit."""
        self._load_common(state)
        self.symbols = {}

    def _load_common(self, state: Mapping[str, Any]) -> None:
        self.base_rate.load_state_dict(state["base_rate"])
        self.rule.load_state_dict(state["actionable"])
        self.scores.load_state_dict(state["scores"])
        delay = self.config.learning.delay_bars
        bars = dict(state.get("learned_bars", {}))
        if any(not isinstance(b, list) or len(b) != delay for b in bars.values()):
            raise EnsembleInputError(
                f"ensemble state learned.learned_bars: one entry per residue of {delay} bars"
            )
        self._learned_bar = {str(s): list(b) for s, b in bars.items()}


def _quality(enough: bool, actionable: bool, label: str) -> QualityGrade:
    if not enough:
        return "POOR"
    if actionable:
        return "EXCELLENT" if label.startswith("STRONG_") else "GOOD"
    return "FAIR"


def _agreement(fc: Forecast) -> float:
    parts = [fc.weights[m] * z for m, z in fc.inputs.z.items() if m in fc.weights]
    total = sum(abs(p) for p in parts)
    if total <= 0:
        return 0.0
    sign = math.copysign(1.0, fc.inputs.score)
    return sum(abs(p) for p in parts if p * sign > 0) / total


def _contributions(
    screened: Mapping[str, Prediction | str], fc: Forecast, predictions: Mapping[str, Any]
) -> dict[str, ModelContribution]:
    out: dict[str, ModelContribution] = {}
    for m, p in screened.items():
        if isinstance(p, str):
            out[m] = ModelContribution(model=m, status=p)
            continue
        coefficient = fc.weights.get(m, 0.0)
        out[m] = ModelContribution(
            model=m,
            status="ok",
            probabilities=p.probabilities,
            confidence=p.confidence,
            direction=prediction_direction(p),
            base_weight=coefficient,
            weight=coefficient,
        )
    for m, value in predictions.items():
        if m not in out:
            out[m] = ignored(m, value)
    return out


def _reasons(
    fc: Forecast, min_models: int, direction: int, level: float | None, confidence: float
) -> tuple[str, ...]:
    reasons = [f"{m} is left out: {why}" for m, why in fc.notes.items()]
    used = len(fc.inputs.z)
    if used == 0:
        reasons.append("no member's score is usable: the probabilities are the base rate")
    if used < min_models:
        reasons.append(f"{used} member score(s) usable; min_models is {min_models}")
    if direction == 0:
        reasons.append("the called class is flat")
    elif level is None:
        reasons.append(
            "no confidence level is certified yet: no level's past signals have a sign hit "
            "rate whose lower confidence bound beats the break-even rate of the costs"
        )
    elif not meets(confidence, level):
        reasons.append(f"confidence {confidence:.3f} is below the certified level {level:.3f}")
    return tuple(reasons)
