"""One shape for every strategy's per-bar output: predictors, ensemble variants, baselines.

Metrics, the trading simulation and the null distribution only ever see :class:`Signals`,
so a baseline and the ensemble are scored by exactly the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.errors import ConfigError
from models.predictors.base import Prediction

KINDS: tuple[str, ...] = ("predictor", "ensemble", "baseline")


@dataclass(frozen=True)
class Signals:
    """What one strategy said at each evaluated bar.

    ``covered``: the strategy gave a usable answer at that bar (a predictor that failed or
    lacked history, or a degraded ensemble signal, is not covered). ``direction``: -1 / 0 /
    +1, the predicted class (0 where not covered). ``actionable``: the signal is one to trade
    on; its position is ``direction`` then, else 0. ``probabilities`` (n, 3) and
    ``confidence`` (n,) are NaN where not covered, and ``None`` for hard-rule baselines that
    state no probabilities.
    """

    name: str
    kind: str
    direction: np.ndarray
    covered: np.ndarray
    actionable: np.ndarray
    probabilities: np.ndarray | None = None
    confidence: np.ndarray | None = None
    threshold: np.ndarray | None = None
    """The confidence threshold in force at each bar (ensembles only)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"signals {self.name}: kind must be one of {KINDS}, got {self.kind!r}"
            )
        n = len(self.direction)
        arrays = {"covered": self.covered, "actionable": self.actionable}
        for optional in ("confidence", "threshold"):
            if getattr(self, optional) is not None:
                arrays[optional] = getattr(self, optional)
        for field_name, values in arrays.items():
            if len(values) != n:
                raise ConfigError(
                    f"signals {self.name}: {field_name} has {len(values)} rows, direction {n}"
                )
        if self.probabilities is not None and self.probabilities.shape != (n, 3):
            raise ConfigError(
                f"signals {self.name}: probabilities must be ({n}, 3), "
                f"got {self.probabilities.shape}"
            )

    def __len__(self) -> int:
        return len(self.direction)

    @property
    def position(self) -> np.ndarray:
        """The position rule of :mod:`models.evaluation.strategy`: direction when actionable."""
        return np.where(self.actionable & self.covered, self.direction, 0).astype(np.int8)

    @property
    def score(self) -> np.ndarray | None:
        """``p_up - p_down``, the signed score whose rank correlation is the IC."""
        if self.probabilities is None:
            return None
        score: np.ndarray = self.probabilities[:, 2] - self.probabilities[:, 0]
        return score


def from_predictions(name: str, predictions: Sequence[Prediction | None]) -> Signals:
    """A predictor alone: every covered bar is a call; its position is its direction."""
    n = len(predictions)
    probs = np.full((n, 3), np.nan)
    conf = np.full(n, np.nan)
    direction = np.zeros(n, dtype=np.int8)
    covered = np.zeros(n, dtype=bool)
    for i, pred in enumerate(predictions):
        if pred is None:
            continue
        probs[i] = pred.probabilities
        conf[i] = pred.confidence
        direction[i] = pred.direction
        covered[i] = True
    return Signals(name, "predictor", direction, covered, covered & (direction != 0), probs, conf)


def hard_signals(name: str, direction: np.ndarray, covered: np.ndarray | None = None) -> Signals:
    """A rule that states only a direction (baselines): actionable wherever it is not flat."""
    direction = np.asarray(direction).astype(np.int8)
    covered = np.ones(len(direction), bool) if covered is None else np.asarray(covered, bool)
    direction = np.where(covered, direction, 0).astype(np.int8)
    return Signals(name, "baseline", direction, covered, covered & (direction != 0))
