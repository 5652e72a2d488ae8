"""The ensemble: one API over the one combiner its configuration chooses.

``EnsembleConfig.mode`` picks, once, at construction:

- ``learned`` (default, :mod:`models.ensemble.learned`): members' scores standardized per
  symbol, combined with weights learned for the forward return, probabilities from a
  calibration map of the base rate, an actionable rule certified by outcomes;
- ``original`` (:mod:`models.ensemble.original`, preset ``original``): the system this
  replaces, kept so the report can measure it.

Both implement :class:`~models.ensemble.combiner.Combiner`; only the active one exists and
only its state is persisted. ``combine`` never changes learned state; ``record_outcome`` is
the one place that learns, so serving replicas can combine with a copy of the state that
the state deployment owns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from models.ensemble.combiner import Combiner
from models.ensemble.config import EnsembleConfig
from models.ensemble.inputs import PredictionInput, classify_return
from models.ensemble.learned import LearnedCombiner
from models.ensemble.original import OriginalCombiner
from models.ensemble.signal import EnsembleSignal, SignalRecord
from models.errors import EnsembleInputError
from models.regime.state import RegimeState

STATE_FORMAT = 3
"""Version of the :meth:`Ensemble.state_dict` layout: ``{"format", "mode", "config",
"state"}`` with the active combiner's state only. Older formats are migrated on load:
format 2 (both combiners' state; the learned one a mixture and a stacker) keeps the active
combiner's part (learned: the base rate, the actionable evidence, the scores; the combiner
of each symbol starts from its prior or a published fit), format 1 (the original
combiner's alone) gives the original combiner its state and the learned one nothing."""


__all__ = ["STATE_FORMAT", "Ensemble", "classify_return"]


def build_combiner(config: EnsembleConfig) -> Combiner:
    """The combiner ``config.mode`` names."""
    if config.mode == "original":
        return OriginalCombiner(config)
    return LearnedCombiner(config)


class Ensemble:
    """Combines predictor outputs into one signal and learns from realized outcomes."""

    def __init__(self, config: EnsembleConfig | None = None) -> None:
        self.config = config if config is not None else EnsembleConfig()
        self.combiner: Combiner = build_combiner(self.config)

    def combine(
        self,
        symbol: str,
        predictions: Mapping[str, PredictionInput],
        regime: RegimeState | None = None,
        bar: int | None = None,
    ) -> EnsembleSignal:
        """One signal for ``symbol`` from ``predictions`` keyed by model name.

        ``bar`` is the bar index of the newest candle (its open time divided by the bar
        interval); the learned combiner needs it to learn each bar once, the original one
        ignores it.
        """
        _check_inputs(symbol, predictions)
        return self.combiner.combine(symbol, predictions, regime, bar)

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
        return {
            "symbol": record.symbol,
            "realized_return": ret,
            "realized_direction": classify_return(ret, record.flat_band),
            **self.combiner.learn(record, ret),
        }

    def needs_history(self, symbol: str) -> bool:
        """Whether :meth:`warm_start` would use history of ``symbol`` (learned mode, and no
        outcome of it learned yet)."""
        return self.combiner.needs_history(symbol)

    def warm_start(self, symbol: str, labels: Iterable[int]) -> int:
        """Seed the base rate of ``symbol`` with the classes (0 down, 1 flat, 2 up, oldest
        first) of bars resolved before its first forecast; 0 when nothing was taken."""
        _check_symbol(symbol)
        if not self.needs_history(symbol):
            return 0
        return self.combiner.warm_start(symbol, labels)

    def seed(self, published: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """Start every symbol of ``published`` (symbol -> a published fit) that has no
        learned state from its fit; the symbols seeded (none in ``original`` mode)."""
        return [s for s, fit in published.items() if self.combiner.seed(s, fit)]

    def performance(self, symbol: str) -> dict[str, Any]:
        """What the ensemble has learned for ``symbol`` (``/v1/performance/{symbol}``)."""
        _check_symbol(symbol)
        found = self.combiner.performance(symbol)
        if self.config.mode == "original":
            return found
        rule = found["actionable"]
        return {
            "symbol": symbol,
            "mode": "learned",
            "weight_mode": "learned",
            **found,
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
        """The active combiner's learned state plus the config, JSON-serialisable."""
        return {
            "format": STATE_FORMAT,
            "mode": self.config.mode,
            "config": self.config.to_dict(),
            "state": self.combiner.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the learned state; the config stays this ensemble's own.

        With the same config the restored ensemble gives identical signals and identical
        future updates. Formats 1 and 2 are migrated (see :data:`STATE_FORMAT`); any other
        format, a state of the other mode, or a malformed one is refused with an
        :class:`EnsembleInputError` naming what differs.
        """
        got = state.get("format") if isinstance(state, Mapping) else type(state)
        mode = self.config.mode
        if got == STATE_FORMAT:
            if state.get("mode") != mode:
                raise EnsembleInputError(
                    f"ensemble state mode: saved by the {state.get('mode')!r} combiner, "
                    f"this ensemble is configured {mode!r}"
                )
            if "state" not in state:
                raise EnsembleInputError("ensemble state state: missing")
            self.combiner.load_state_dict(state["state"])
        elif got in (1, 2):
            self._migrate(state, got)
        else:
            raise EnsembleInputError(
                f"ensemble state format: expected {STATE_FORMAT} (or 1 and 2, migrated), "
                f"got {got!r}"
            )

    def _migrate(self, state: Mapping[str, Any], got: int) -> None:
        fresh = build_combiner(self.config)
        if self.config.mode == "original":
            fresh.load_state_dict(state if got == 1 else state.get("original", {}))
        elif got == 2:
            if "learned" not in state or not isinstance(fresh, LearnedCombiner):
                raise EnsembleInputError("ensemble state learned: missing")
            fresh.load_migrated(state["learned"])
        self.combiner = fresh

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
