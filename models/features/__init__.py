"""Causal features: TA-Lib-exact indicators and the scale-free inputs of the neural models.

Everything here is prefix-causal (row ``t`` reads bars ``<= t`` only). The single-indicator
functions (``sma``, ``rsi``, ``dmi``, ...) live in :mod:`models.features.indicators`.
"""

from models.features.indicators import INDICATOR_COLUMNS, compute_indicators, ensure_indicators
from models.features.model_features import FEATURE_COLUMNS, MAX_LOOKBACK, compute_model_features

__all__ = [
    "FEATURE_COLUMNS",
    "INDICATOR_COLUMNS",
    "MAX_LOOKBACK",
    "compute_indicators",
    "compute_model_features",
    "ensure_indicators",
]
