"""Ensemble scoring: combine predictor outputs into one calibrated, self-certifying signal.

Public API (the Ray Serve deployment builds on exactly these names)::

    config = EnsembleConfig.from_yaml(path)          # or EnsembleConfig() / .load() / .preset()
    ensemble = Ensemble(config)                       # builds the one combiner config.mode names
    ensemble.seed({"BTCUSDT": published_fit})         # start symbols from a published fit
    signal = ensemble.combine("BTCUSDT", {"transformer": pred, "smc": exc, ...}, regime, bar)
    signal.to_dict()                                  # JSON for the API
    record = signal.to_record(flat_band=0.004)        # store it (record.to_dict())
    ensemble.record_outcome(record, realized_return)  # when the return is known
    ensemble.performance("BTCUSDT")                   # /v1/performance/{symbol}
    ensemble.state_dict() / Ensemble.from_state_dict(state) / load_state_dict(state)
"""

from models.ensemble.combiner import Combiner
from models.ensemble.config import EnsembleConfig
from models.ensemble.ensemble import STATE_FORMAT, Ensemble
from models.ensemble.inputs import PredictionInput, Unavailable, classify_return
from models.ensemble.learned import LearnedCombiner
from models.ensemble.learning_config import (
    ActionableConfig,
    BaseRateConfig,
    CombinerConfig,
    LearningConfig,
)
from models.ensemble.original import OriginalCombiner
from models.ensemble.original_config import (
    AdaptiveThresholdConfig,
    GradeCutoff,
    OriginalConfig,
    QualityConfig,
    RegimeConfig,
    TrackingConfig,
)
from models.ensemble.signal import (
    QUALITIES,
    SIGNALS,
    EnsembleSignal,
    ModelContribution,
    SignalRecord,
)
from models.ensemble.threshold import AdaptiveThreshold
from models.ensemble.tracker import AccuracyTracker, ModelStats

__all__ = [
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
