"""Small builders shared by the ensemble tests."""

from __future__ import annotations

from typing import Any

from models.ensemble import EnsembleConfig
from models.ensemble.config import ORIGINAL_WEIGHTS
from models.predictors.base import Prediction

MODELS = ("transformer", "cnn_lstm", "indicators", "smc")


def pred(model: str, probs: tuple[float, float, float], conf: float = 0.5) -> Prediction:
    return Prediction(model=model, probabilities=probs, confidence=conf)


def all_models(probs: tuple[float, float, float], conf: float = 0.5) -> dict[str, Prediction]:
    """Every default model predicting the same vector."""
    return {m: pred(m, probs, conf) for m in MODELS}


def config(**overrides: Any) -> EnsembleConfig:
    """A config of the ``original`` combiner and its four members (what most of these tests
    pin down)."""
    return EnsembleConfig(**{"mode": "original", "weights": dict(ORIGINAL_WEIGHTS), **overrides})
