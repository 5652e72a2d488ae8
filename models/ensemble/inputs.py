"""What both combiners do with their inputs: screen predictions, classify realized returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.ensemble.signal import ModelContribution
from models.ensemble.voting import direction_of
from models.predictors.base import Prediction


@dataclass(frozen=True)
class Unavailable:
    """A model that gave no prediction, and why (its status: ``timeout``, ``error: ...``):
    how a caller hands a failure to the combiners as data, not as an exception."""

    status: str


PredictionInput = Prediction | Unavailable | BaseException | None
"""What a combiner takes per model: a prediction, a reason there is none, or nothing."""


def classify_return(realized_return: float, flat_band: float) -> int:
    """-1, 0 or +1: flat when ``|realized_return| <= flat_band``."""
    if abs(realized_return) <= flat_band:
        return 0
    return 1 if realized_return > 0 else -1


def prediction_direction(prediction: Prediction) -> int:
    return direction_of(prediction.probabilities)


def screen(value: Any) -> Prediction | str:
    """The prediction, or the status that explains why there is none."""
    if value is None:
        return "missing"
    if isinstance(value, Prediction):
        return value
    if isinstance(value, Unavailable):
        return value.status
    if isinstance(value, BaseException):
        detail = str(value)
        return f"error: {type(value).__name__}" + (f": {detail}" if detail else "")
    return f"error: expected a Prediction, got {type(value).__name__}"


def ignored(model: str, value: Any) -> ModelContribution:
    """The contribution of a prediction from a model the config does not expect."""
    status = "ignored: not in config weights"
    if isinstance(value, Prediction):
        return ModelContribution(
            model=model,
            status=status,
            probabilities=value.probabilities,
            confidence=value.confidence,
            direction=prediction_direction(value),
        )
    return ModelContribution(model=model, status=status)
