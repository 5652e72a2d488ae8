"""The learned ensemble: experts mixed under log loss, a stacker, a base rate, and an
actionable rule certified from outcomes (``EnsembleConfig.mode = "learned"``, the default).

Experts: every configured member (asleep at a bar where it gave no usable prediction), the
**base rate** (:mod:`models.ensemble.base_rate`) and the **stacker**
(:mod:`models.ensemble.stacker`, a signed log-linear pool of the members and the base rate,
conditioned on the regime). They are combined by a fixed-share mixture
(:mod:`models.ensemble.mixture`) with one copy per bar of outcome delay: an expert that
keeps losing log loss against the others loses its weight (towards 0), one that has the
edge gains it, and because the base rate and the stacker are experts, the mixture is never
much worse than the base rate or than the best member (the regret bound is in the mixture's
docstring). Probabilities are the mixture's; confidence is the probability of the called
class. Outcomes are learned once per (symbol, bar): a second prediction for a bar already
learned is resolved but not learned from again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models.ensemble.actionable import ActionableRule
from models.ensemble.base_rate import BaseRate
from models.ensemble.inputs import classify_return
from models.ensemble.learning_config import LearningConfig
from models.ensemble.mixture import FixedShareMixture
from models.ensemble.scoreboard import Scoreboard
from models.ensemble.signal import SignalRecord
from models.ensemble.stacker import OnlineStacker
from models.ensemble.voting import direction_of
from models.errors import EnsembleInputError
from models.predictors.base import CLASSES

Vector = tuple[float, float, float]

BASE_RATE = "base_rate"
STACKER = "stacker"
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class Forecast:
    """The learned ensemble's view of one bar before its outcome."""

    probabilities: Vector
    experts: dict[str, Vector]
    """Every awake expert's vector (members, base rate, stacker)."""
    weights: dict[str, float]
    """Each awake expert's normalised weight in the mixture."""
    threshold: float | None
    """The symbol's certified confidence level (None: nothing certified yet)."""


def called_class(probabilities: Vector) -> tuple[int, float]:
    """The called direction (top class; a tie for the top calls flat) and its probability."""
    direction = direction_of(probabilities)
    return direction, probabilities[direction + 1]


class LearnedEnsemble:
    """The learned combiner of ``members`` (see the module docstring)."""

    def __init__(self, members: tuple[str, ...], config: LearningConfig) -> None:
        self.members = members
        self.config = config
        inputs = (*members, BASE_RATE)
        self.stacker = (
            OnlineStacker(inputs, BASE_RATE, config.stacker) if config.stacker.enabled else None
        )
        experts = (*inputs, STACKER) if self.stacker is not None else inputs
        prior = {m: config.member_prior for m in members}
        self.mixture = FixedShareMixture(experts, config.fixed_share, config.delay_bars, prior)
        self.base_rate = BaseRate(config.base_rate)
        self.rule = ActionableRule(config.actionable, spacing=config.delay_bars)
        self.scores = Scoreboard(config.calibration_bins)
        self._learned_bar: dict[str, list[int | None]] = {}

    def forecast(
        self, symbol: str, members: Mapping[str, Vector], regime: str | None, bar: int
    ) -> Forecast:
        """Combine the usable members' vectors of ``symbol`` at bar index ``bar``."""
        experts: dict[str, Vector] = {m: members[m] for m in self.members if m in members}
        experts[BASE_RATE] = self.base_rate.forecast(symbol)
        if self.stacker is not None:
            experts[STACKER] = self.stacker.forecast(experts, regime)
        probs, weights = self.mixture.forecast(symbol, self.mixture.copy_of(bar), experts)
        return Forecast(probs, experts, weights, self.rule.threshold(symbol))

    def warm_start(self, symbol: str, labels: Iterable[int]) -> int:
        """Seed the base rate of a new symbol with the classes of its resolved history."""
        return self.base_rate.warm_start(symbol, labels)

    def learn(self, record: SignalRecord, realized_return: float) -> dict[str, Any]:
        """Learn the outcome of ``record``'s bar; return what changed (``learned`` says
        whether anything did)."""
        if record.bar is None or record.probabilities is None or not record.expert_probabilities:
            return {"learned": False, "reason": "record has no learned-ensemble forecast"}
        symbol, bar = record.symbol, record.bar
        copy = self.mixture.copy_of(bar)
        last = self._learned_bar.setdefault(symbol, [None] * self.mixture.copies)
        previous = last[copy]
        if previous is not None and bar <= previous:
            return {"learned": False, "reason": f"bar {bar} of {symbol} was already learned"}
        outcome = classify_return(realized_return, record.flat_band) + 1
        experts = {
            n: v for n, v in record.expert_probabilities.items() if n in self.mixture.experts
        }
        if not experts:
            return {"learned": False, "reason": "no expert of this configuration in the record"}
        loss = self.mixture.update(symbol, copy, experts, outcome)
        if self.stacker is not None:
            inputs = {n: v for n, v in experts.items() if n != STACKER}
            self.stacker.update(inputs, record.regime, outcome)
        self.base_rate.update(symbol, outcome)
        for name, vector in experts.items():
            self.scores.record(symbol, name, vector, outcome, realized_return)
        self.scores.record(symbol, ENSEMBLE, record.probabilities, outcome, realized_return)
        direction, confidence = called_class(record.probabilities)
        self.scores.record_calibration(symbol, confidence, direction + 1 == outcome)
        if record.direction != 0:
            self.rule.update(symbol, bar, record.direction, record.confidence, realized_return)
        last[copy] = bar
        return {
            "learned": True,
            "realized_class": outcome - 1,
            "log_loss": loss,
            "weights": self.mixture.weights(symbol, copy),
            "threshold": self.rule.threshold(symbol),
        }

    def performance(self, symbol: str) -> dict[str, Any]:
        """Per expert: weight, cumulative log loss, sign hit rate, outcomes; for the
        ensemble: its scores, ECE with the reliability bins, and the certified threshold."""
        weights = self.mixture.mean_weights(symbol)
        models = {
            name: {"weight": weights[name], **self.scores.score(symbol, name).summary()}
            for name in self.mixture.experts
        }
        ensemble = {
            **self.scores.score(symbol, ENSEMBLE).summary(),
            "calibration": self.scores.calibration(symbol),
        }
        stacker = None
        if self.stacker is not None:
            stacker = {"coefficients": self.stacker.coefficients(), "updates": self.stacker.updates}
        return {
            "models": models,
            "ensemble": ensemble,
            "actionable": self.rule.summary(symbol),
            "stacker": stacker,
            "base_rate": dict(zip(CLASSES, self.base_rate.forecast(symbol), strict=True)),
        }

    # state -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "mixture": self.mixture.state_dict(),
            "stacker": self.stacker.state_dict() if self.stacker is not None else None,
            "base_rate": self.base_rate.state_dict(),
            "actionable": self.rule.state_dict(),
            "scores": self.scores.state_dict(),
            "learned_bars": {s: list(b) for s, b in self._learned_bar.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping):
            raise EnsembleInputError(f"ensemble state learned: expected a mapping, got {state!r}")
        missing = [k for k in ("mixture", "base_rate", "actionable", "scores") if k not in state]
        if missing:
            raise EnsembleInputError(f"ensemble state learned.{missing[0]}: missing")
        if (state.get("stacker") is None) != (self.stacker is None):
            raise EnsembleInputError(
                "ensemble state learned.stacker: saved with the stacker "
                f"{'off' if state.get('stacker') is None else 'on'}, configured the other way"
            )
        self.mixture.load_state_dict(state["mixture"])
        if self.stacker is not None:
            self.stacker.load_state_dict(state["stacker"])
        self.base_rate.load_state_dict(state["base_rate"])
        self.rule.load_state_dict(state["actionable"])
        self.scores.load_state_dict(state["scores"])
        bars = dict(state.get("learned_bars", {}))
        if any(len(b) != self.mixture.copies for b in bars.values()):
            raise EnsembleInputError("ensemble state learned.learned_bars: one entry per copy")
        self._learned_bar = {str(s): list(b) for s, b in bars.items()}
