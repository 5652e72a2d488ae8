"""The public surface the Ray Serve deployment builds on: names and JSON shapes are pinned."""

from __future__ import annotations

import json

import models.ensemble as ensemble_pkg
from models.ensemble import Ensemble
from models.regime.state import RegimeState
from tests.ensemble.helpers import all_models, config

SIGNAL_KEYS = {
    "symbol",
    "signal",
    "direction",
    "probabilities",
    "confidence",
    "quality",
    "actionable",
    "eligible",
    "threshold",
    "voting_method",
    "weight_mode",
    "coverage",
    "agreement",
    "contributions",
    "missing_models",
    "regime",
    "reasons",
    "score",
    "experts",
}
CONTRIBUTION_KEYS = {
    "model",
    "status",
    "probabilities",
    "confidence",
    "direction",
    "base_weight",
    "regime_multiplier",
    "weight",
}


def test_exported_names() -> None:
    assert sorted(ensemble_pkg.__all__) == sorted(
        [
            "QUALITIES",
            "SIGNALS",
            "STATE_FORMAT",
            "AccuracyTracker",
            "ActionableConfig",
            "AdaptiveThreshold",
            "AdaptiveThresholdConfig",
            "BaseRateConfig",
            "Combiner",
            "CombinerConfig",
            "Ensemble",
            "EnsembleConfig",
            "EnsembleSignal",
            "GradeCutoff",
            "LearnedCombiner",
            "LearningConfig",
            "ModelContribution",
            "ModelStats",
            "OriginalCombiner",
            "OriginalConfig",
            "PredictionInput",
            "QualityConfig",
            "RegimeConfig",
            "SignalRecord",
            "TrackingConfig",
            "Unavailable",
            "classify_return",
        ]
    )
    for name in ensemble_pkg.__all__:
        assert hasattr(ensemble_pkg, name)


def test_signal_dict_shape_is_json() -> None:
    preds = all_models((0.1, 0.2, 0.7), 0.9)
    preds["smc"] = None
    sig = Ensemble(config()).combine("BTCUSDT", preds, RegimeState("ranging", 0.4, 0.2))
    data = json.loads(json.dumps(sig.to_dict()))
    assert set(data) == SIGNAL_KEYS
    assert set(data["probabilities"]) == {"down", "flat", "up"}
    assert set(data["contributions"]) == {"transformer", "cnn_lstm", "indicators", "smc"}
    assert all(set(c) == CONTRIBUTION_KEYS for c in data["contributions"].values())
    assert data["missing_models"] == {"smc": "missing"}
    assert data["regime"]["name"] == "ranging"
