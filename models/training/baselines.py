"""Naive predictors evaluated on the same rows as the networks: the bar a model must clear.

- ``majority``: the most common TRAINING class, with the training class frequencies as its
  probabilities (so its log loss is the loss of knowing only the prior);
- ``always_flat``: always the flat class;
- ``momentum``: the last 1-bar log return continues: ``up`` / ``down`` when it is beyond the
  flat band scaled to one bar (``band / sqrt(h)``), else ``flat``.

The rule baselines give hard answers, so they report accuracy and macro F1 only (a log loss
of one-hot guesses would measure the clipping constant, not the rule).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from models.errors import ConfigError
from models.labels import LabelConfig
from models.training.dataset import SplitPart
from models.training.metrics import N_CLASSES, classification_metrics, macro_f1
from models.vocabulary import DOWN, FLAT, UP


class SplitData(Protocol):
    """What the baselines read: the parts, the label definition, band and last return per
    candle row (:class:`~models.training.dataset.PreparedData` and the tree models' data)."""

    @property
    def train(self) -> SplitPart: ...

    @property
    def val(self) -> SplitPart: ...

    @property
    def test(self) -> SplitPart: ...

    @property
    def label_cfg(self) -> LabelConfig: ...

    @property
    def band(self) -> np.ndarray: ...

    @property
    def last_return(self) -> np.ndarray: ...


def _hard_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    if len(y) == 0:
        return {"accuracy": float("nan"), "macro_f1": float("nan")}
    return {"accuracy": float(np.mean(pred == y)), "macro_f1": macro_f1(y, pred)}


def momentum_classes(last_return: np.ndarray, band: np.ndarray, horizon: int) -> np.ndarray:
    """Class ids of the momentum rule for per-sample last returns and flat bands."""
    one_bar = band / math.sqrt(horizon)
    return np.where(last_return > one_bar, UP, np.where(last_return < -one_bar, DOWN, FLAT))


def baseline_metrics(data: SplitData, part: str = "test") -> dict[str, dict[str, float]]:
    """Metrics of every baseline on ``part`` (``"val"`` or ``"test"``) of ``data``."""
    if part not in ("train", "val", "test"):
        raise ConfigError(f"part: must be 'train', 'val' or 'test', got {part!r}")
    target: SplitPart = getattr(data, part)
    y = target.y
    prior = np.bincount(data.train.y, minlength=N_CLASSES)[:N_CLASSES] / max(len(data.train), 1)
    majority = classification_metrics(y, np.tile(prior, (len(y), 1)))
    flat = _hard_metrics(y, np.full(len(y), FLAT))
    mom = momentum_classes(
        data.last_return[target.ends], data.band[target.ends], data.label_cfg.horizon
    )
    return {"majority": majority, "always_flat": flat, "momentum": _hard_metrics(y, mom)}
