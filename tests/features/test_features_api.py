"""The public surface of models.features is deliberate: pinned names, each the real object."""

from __future__ import annotations

import models.features
from models.features import indicators, model_features


def test_exported_names() -> None:
    assert sorted(models.features.__all__) == [
        "FEATURE_COLUMNS",
        "INDICATOR_COLUMNS",
        "MAX_LOOKBACK",
        "compute_indicators",
        "compute_model_features",
        "ensure_indicators",
    ]
    assert models.features.compute_indicators is indicators.compute_indicators
    assert models.features.FEATURE_COLUMNS is model_features.FEATURE_COLUMNS
