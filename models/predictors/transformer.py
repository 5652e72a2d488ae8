"""The transformer network as the ``transformer`` predictor."""

from __future__ import annotations

from models.predictors.base import register_predictor
from models.predictors.neural import NeuralPredictor


@register_predictor("transformer")
class TransformerPredictor(NeuralPredictor):
    """:class:`NeuralPredictor` that only accepts ``transformer`` artifacts."""
