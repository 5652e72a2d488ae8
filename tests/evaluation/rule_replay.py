"""The evaluation's replay of the two rule-based members over real bars (shared by tests)."""

from __future__ import annotations

import numpy as np
import polars as pl

from models.ensemble import Ensemble
from models.evaluation.outcomes import compute_outcomes
from models.evaluation.predict import PredictorSpec, predict_period, regime_states
from models.evaluation.replay import EnsembleRun, Variant, replay
from models.predictors.smc_predictor import SmcPredictor
from models.predictors.technical import TechnicalPredictor
from models.regime.detector import detect_regimes


def replay_rules(
    frame: pl.DataFrame, start: int, ensemble: Ensemble, symbol: str, variant: Variant
) -> EnsembleRun:
    """``ensemble`` replayed bar by bar from row ``start`` of ``frame`` (the bars before
    are history), with the indicators and SMC predictors as its only members."""
    rows = np.arange(start, frame.height)
    specs = {
        "indicators": PredictorSpec(TechnicalPredictor()),
        "smc": PredictorSpec(SmcPredictor()),
    }
    preds = predict_period(frame, rows, specs)
    regimes = detect_regimes(frame)
    outcomes = compute_outcomes(frame, rows, regimes=regimes)
    return replay(ensemble, symbol, preds, regime_states(regimes, rows), outcomes, variant)
