"""The base-rate expert: how often each class happened, per symbol, shrunk to all symbols.

Counts decay by ``0.5 ** (1 / half_life)`` per resolved outcome, so the estimate follows a
market whose share of flat bars drifts. A symbol's forecast is its decayed counts plus
``prior_strength`` pseudo-outcomes at the pooled (all-symbol, Laplace-smoothed)
frequencies: a new symbol starts at the pooled rate and earns its own with evidence. It
only ever sees resolved outcomes, so it is causal by construction. A symbol can be
warm-started from the labels of its history (:meth:`BaseRate.warm_start`): the classes of
bars whose outcome was known before the ensemble's first forecast, what a forecaster of the
base rate would know on its first day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from models.ensemble.learning_config import BaseRateConfig
from models.errors import EnsembleInputError

Vector = tuple[float, float, float]


class BaseRate:
    """Decayed class frequencies per symbol with a pooled prior."""

    def __init__(self, config: BaseRateConfig) -> None:
        self.config = config
        self._decay = 0.5 ** (1.0 / config.half_life)
        self._counts: dict[str, np.ndarray] = {}
        self._pooled = np.zeros(3)

    def forecast(self, symbol: str) -> Vector:
        pooled = (self._pooled + 1.0) / (self._pooled.sum() + 3.0)
        own = self._counts.get(symbol, np.zeros(3))
        k = self.config.prior_strength
        total = own.sum() + k
        p = pooled if total <= 0 else (own + k * pooled) / total
        return (float(p[0]), float(p[1]), float(p[2]))

    def known(self, symbol: str) -> bool:
        """Whether ``symbol`` has any outcome (learned or warm-started)."""
        return symbol in self._counts

    def warm_start(self, symbol: str, outcomes: Iterable[int]) -> int:
        """Learn ``outcomes`` (classes 0 / 1 / 2, oldest first) of a symbol with no outcome
        yet; returns how many were taken (0 when the symbol already has outcomes)."""
        if self.known(symbol):
            return 0
        values = [int(o) for o in outcomes]
        if any(o not in (0, 1, 2) for o in values):
            raise EnsembleInputError(f"base rate warm start: classes must be 0, 1 or 2 ({symbol})")
        for outcome in values:
            self.update(symbol, outcome)
        return len(values)

    def update(self, symbol: str, outcome: int) -> None:
        hit = np.zeros(3)
        hit[outcome] = 1.0
        own = self._counts.get(symbol, np.zeros(3))
        self._counts[symbol] = self._decay * own + hit
        self._pooled = self._decay * self._pooled + hit

    def state_dict(self) -> dict[str, Any]:
        return {
            "pooled": self._pooled.tolist(),
            "counts": {s: c.tolist() for s, c in self._counts.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        try:
            pooled = _counts(state["pooled"])
            counts = {str(s): _counts(c) for s, c in dict(state["counts"]).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state base_rate: malformed ({exc})") from None
        self._pooled, self._counts = pooled, counts


def _counts(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.shape != (3,) or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"need 3 finite non-negative counts, got {values!r}")
    return array
