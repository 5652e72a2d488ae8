"""The ensemble: one API over two combiners, chosen by ``EnsembleConfig.mode``.

- ``learned`` (default, :mod:`models.ensemble.learned`): experts mixed under log loss with
  weights that can reach zero, a stacker, calibrated probabilities, and a BUY/SELL that is
  actionable only at a confidence level certified by realized outcomes;
- ``original`` (:mod:`models.ensemble.original`, preset ``original``): the system this
  replaces, kept so the report can measure it.

``combine`` never changes learned state; ``record_outcome`` is the one place that learns,
so serving replicas can combine with a copy of the state that the state deployment owns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from models.ensemble.config import EnsembleConfig
from models.ensemble.inputs import (
    PredictionInput,
    classify_return,
    ignored,
    prediction_direction,
    screen,
)
from models.ensemble.learned import LearnedEnsemble, called_class
from models.ensemble.original import OriginalEnsemble
from models.ensemble.signal import (
    EnsembleSignal,
    ModelContribution,
    QualityGrade,
    SignalRecord,
    meets,
    signal_label,
)
from models.ensemble.threshold import AdaptiveThreshold
from models.ensemble.tracker import AccuracyTracker
from models.errors import EnsembleInputError
from models.predictors.base import Prediction
from models.regime.state import RegimeState

STATE_FORMAT = 2
"""Version of the :meth:`Ensemble.state_dict` layout. Format 1 (the accuracy trackers and
threshold windows of the original combiner alone) is migrated on load: its state goes to
the original combiner and the learned one starts fresh."""


__all__ = ["STATE_FORMAT", "Ensemble", "classify_return"]


class Ensemble:
    """Combines predictor outputs into one signal and learns from realized outcomes."""

    def __init__(self, config: EnsembleConfig | None = None) -> None:
        self.config = config if config is not None else EnsembleConfig()
        self.original = OriginalEnsemble(self.config)
        self.learned = LearnedEnsemble(self.config.models, self.config.learning)

    @property
    def tracker(self) -> AccuracyTracker:
        """The original combiner's accuracy tracker."""
        return self.original.tracker

    @property
    def threshold(self) -> AdaptiveThreshold:
        """The original combiner's adaptive threshold."""
        return self.original.threshold

    # combining ---------------------------------------------------------------------------
    def combine(
        self,
        symbol: str,
        predictions: Mapping[str, PredictionInput],
        regime: RegimeState | None = None,
        bar: int | None = None,
    ) -> EnsembleSignal:
        """One signal for ``symbol`` from ``predictions`` keyed by model name.

        ``bar`` is the bar index of the newest candle (its open time divided by the bar
        interval); the learned ensemble needs it to pick its mixture copy and to space
        outcomes, the original one ignores it.
        """
        _check_inputs(symbol, predictions)
        if self.config.mode == "original":
            return self.original.combine(symbol, predictions, regime)
        if bar is None or isinstance(bar, bool) or not isinstance(bar, int):
            raise EnsembleInputError(f"bar: the learned ensemble needs an integer, got {bar!r}")
        return self._combine_learned(symbol, predictions, regime, bar)

    def _combine_learned(
        self,
        symbol: str,
        predictions: Mapping[str, PredictionInput],
        regime: RegimeState | None,
        bar: int,
    ) -> EnsembleSignal:
        cfg = self.config
        screened = {m: screen(predictions.get(m)) for m in cfg.models}
        usable = {m: p for m, p in screened.items() if isinstance(p, Prediction)}
        regime_name = regime.name if regime is not None else None
        forecast = self.learned.forecast(
            symbol, {m: p.probabilities for m, p in usable.items()}, regime_name, bar
        )
        direction, confidence = called_class(forecast.probabilities)
        enough = len(usable) >= cfg.min_models
        eligible = direction != 0 and enough
        level = forecast.threshold
        actionable = eligible and level is not None and meets(confidence, level)
        threshold = level if level is not None else 1.0
        label = signal_label(direction, actionable, confidence, threshold, cfg.strong_signal_margin)
        weights = forecast.weights
        agreement = sum(
            weights.get(m, 0.0) for m, p in usable.items() if prediction_direction(p) == direction
        ) / max(sum(weights.get(m, 0.0) for m in usable), 1e-12)
        return EnsembleSignal(
            symbol=symbol,
            signal=label,
            direction=direction,
            probabilities=forecast.probabilities,
            confidence=confidence,
            quality=_learned_quality(enough, actionable, label),
            actionable=actionable,
            eligible=eligible,
            threshold=threshold,
            voting_method="fixed_share_mixture",
            weight_mode="learned",
            coverage=len(usable) / len(cfg.models),
            agreement=agreement if usable else 0.0,
            contributions=self._learned_contributions(screened, weights, predictions),
            missing_models={m: s for m, s in screened.items() if isinstance(s, str)},
            regime=regime,
            reasons=_learned_reasons(len(usable), cfg.min_models, direction, level, confidence),
            bar=bar,
            experts=forecast.experts,
            expert_weights=weights,
        )

    def _learned_contributions(
        self,
        screened: Mapping[str, Prediction | str],
        weights: Mapping[str, float],
        predictions: Mapping[str, Any],
    ) -> dict[str, ModelContribution]:
        out: dict[str, ModelContribution] = {}
        for m, p in screened.items():
            if isinstance(p, str):
                out[m] = ModelContribution(model=m, status=p)
                continue
            out[m] = ModelContribution(
                model=m,
                status="ok",
                probabilities=p.probabilities,
                confidence=p.confidence,
                direction=prediction_direction(p),
                base_weight=weights.get(m, 0.0),
                weight=weights.get(m, 0.0),
            )
        for m, value in predictions.items():
            if m not in out:
                out[m] = ignored(m, value)
        return out

    # learning ----------------------------------------------------------------------------
    def record_outcome(self, record: SignalRecord, realized_return: float) -> dict[str, Any]:
        """Learn from the realized return of ``record``'s signal; return what changed."""
        if not isinstance(record, SignalRecord):
            raise EnsembleInputError(f"record: expected a SignalRecord, got {type(record)}")
        try:
            ret = float(realized_return)
        except (TypeError, ValueError):
            ret = math.nan
        if not math.isfinite(ret):
            raise EnsembleInputError(f"realized_return: must be finite, got {realized_return!r}")
        if self.config.mode == "original":
            return self.original.record_outcome(record, ret)
        return {
            "symbol": record.symbol,
            "realized_return": ret,
            "realized_direction": classify_return(ret, record.flat_band),
            **self.learned.learn(record, ret),
        }

    def needs_history(self, symbol: str) -> bool:
        """Whether :meth:`warm_start` would use history of ``symbol`` (learned mode, and no
        outcome of it learned yet)."""
        return self.config.mode == "learned" and not self.learned.base_rate.known(symbol)

    def warm_start(self, symbol: str, labels: Iterable[int]) -> int:
        """Seed the base rate of ``symbol`` with the classes (0 down, 1 flat, 2 up, oldest
        first) of bars resolved before its first forecast; 0 when nothing was taken."""
        _check_symbol(symbol)
        if not self.needs_history(symbol):
            return 0
        return self.learned.warm_start(symbol, labels)

    def performance(self, symbol: str) -> dict[str, Any]:
        """What the ensemble has learned for ``symbol`` (``/v1/performance/{symbol}``)."""
        _check_symbol(symbol)
        if self.config.mode == "original":
            return {"mode": "original", **self.original.performance(symbol)}
        learned = self.learned.performance(symbol)
        rule = learned["actionable"]
        return {
            "symbol": symbol,
            "mode": "learned",
            "weight_mode": "learned",
            **learned,
            "threshold": {
                "current": rule["level"] if rule["certified"] else 1.0,
                "certified": rule["certified"],
                "signals": rule["signals"],
                "lower_bound": rule["lower_bound"],
                "break_even": rule["break_even"],
            },
        }

    # state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Learned state of both combiners plus the config, JSON-serialisable."""
        return {
            "format": STATE_FORMAT,
            "config": self.config.to_dict(),
            "original": self.original.state_dict(),
            "learned": self.learned.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the learned state; the config stays this ensemble's own.

        With the same config the restored ensemble gives identical signals and identical
        future updates. A format-1 state is migrated (see :data:`STATE_FORMAT`); any other
        format, or a state saved with a different expert set, is refused with an
        :class:`EnsembleInputError` naming what differs.
        """
        got = state.get("format") if isinstance(state, Mapping) else type(state)
        if got == 1:
            self.original.load_state_dict(state)
            self.learned = LearnedEnsemble(self.config.models, self.config.learning)
            return
        if got != STATE_FORMAT:
            raise EnsembleInputError(
                f"ensemble state format: expected {STATE_FORMAT} (or 1, migrated), got {got!r}"
            )
        for key in ("original", "learned"):
            if key not in state:
                raise EnsembleInputError(f"ensemble state {key}: missing")
        self.original.load_state_dict(state["original"])
        self.learned.load_state_dict(state["learned"])

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> Ensemble:
        """A new ensemble with the saved config and learned state (exact restore)."""
        if not isinstance(state, Mapping) or "config" not in state:
            raise EnsembleInputError("ensemble state config: missing")
        ensemble = cls(EnsembleConfig.from_dict(state["config"]))
        ensemble.load_state_dict(state)
        return ensemble


def _check_symbol(symbol: Any) -> None:
    if not isinstance(symbol, str) or not symbol:
        raise EnsembleInputError(f"symbol: need a non-empty string, got {symbol!r}")


def _check_inputs(symbol: Any, predictions: Any) -> None:
    _check_symbol(symbol)
    if not isinstance(predictions, Mapping):
        raise EnsembleInputError(
            f"predictions: expected a mapping model -> Prediction, got {type(predictions)}"
        )


def _learned_quality(enough: bool, actionable: bool, label: str) -> QualityGrade:
    if not enough:
        return "POOR"
    if actionable:
        return "EXCELLENT" if label.startswith("STRONG_") else "GOOD"
    return "FAIR"


def _learned_reasons(
    members: int, min_models: int, direction: int, level: float | None, confidence: float
) -> tuple[str, ...]:
    reasons: list[str] = []
    if members < min_models:
        reasons.append(f"{members} model(s) answered; min_models is {min_models}")
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
