"""Small builders shared by the ensemble tests."""

from __future__ import annotations

from typing import Any

from models.ensemble import EnsembleConfig
from models.ensemble.original_config import ORIGINAL_WEIGHTS
from models.predictors.base import Prediction

MODELS = ("transformer", "cnn_lstm", "indicators", "smc")
SHARED = ("min_models", "strong_signal_margin")
"""Settings of both combiners (the rest of a ``config()`` override is the original's)."""


def pred(model: str, probs: tuple[float, float, float], conf: float = 0.5) -> Prediction:
    return Prediction(model=model, probabilities=probs, confidence=conf)


def all_models(probs: tuple[float, float, float], conf: float = 0.5) -> dict[str, Prediction]:
    """Every default model predicting the same vector."""
    return {m: pred(m, probs, conf) for m in MODELS}


def config(**overrides: Any) -> EnsembleConfig:
    """A config of the ``original`` combiner and its four members (what most of these tests
    pin down); overrides other than the shared settings go to its ``original`` section."""
    shared = {k: v for k, v in overrides.items() if k in SHARED}
    original = {"weights": dict(ORIGINAL_WEIGHTS)}
    original.update({k: v for k, v in overrides.items() if k not in SHARED})
    return EnsembleConfig(mode="original", original=original, **shared)
