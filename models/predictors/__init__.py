"""Predictors: the shared contract and its registry (implementations load on first use)."""

from models.predictors.base import (
    Prediction,
    Predictor,
    create_predictor,
    predictor_class,
    probabilities_from_score,
    register_predictor,
)

__all__ = [
    "Prediction",
    "Predictor",
    "create_predictor",
    "predictor_class",
    "probabilities_from_score",
    "register_predictor",
]
