"""The CNN-LSTM network as the ``cnn_lstm`` predictor."""

from __future__ import annotations

from models.predictors.base import register_predictor
from models.predictors.neural import NeuralPredictor


@register_predictor("cnn_lstm")
class CnnLstmPredictor(NeuralPredictor):
    """:class:`NeuralPredictor` that only accepts ``cnn_lstm`` artifacts."""
