"""Walk-forward on real BTC candles: outcomes fed back only once known, and no look-ahead.

Four simple causal rule scores stand in for the predictors (the real ones are tested in
tests/predictors); what is under test is the ensemble's feedback loop: the outcome of the
signal at bar t is recorded at bar t + H, when close[t + H] exists.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.ensemble import Ensemble, EnsembleConfig
from models.ensemble.original_config import ORIGINAL_WEIGHTS
from models.predictors.base import Prediction, probabilities_from_score
from models.regime.state import RegimeState
from tests.causality import assert_prefix_causal

H = 4
MEMBERS = {"members": tuple(ORIGINAL_WEIGHTS)}
"""The four members this walk feeds (the learned combiner)."""
CFG = {
    "mode": "original",
    "original": {
        "weights": dict(ORIGINAL_WEIGHTS),
        "tracking": {"half_life": 100, "min_outcomes": 50},
        "adaptive_threshold": {"window": 200, "min_signals": 30, "min_threshold": 0.4},
        "confidence_threshold": 0.5,
    },
}


def _trailing_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean of the last ``n`` values (NaN until ``n`` exist, or when one of them is NaN)."""
    out = np.full(x.shape, np.nan)
    if len(x) >= n:
        out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(x, n).mean(axis=1)
    return out


def _log_ratio(close: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.log(close / ref)


def _scores(close: np.ndarray) -> dict[str, np.ndarray]:
    lagged = {k: np.concatenate([np.full(k, np.nan), close[:-k]]) for k in (4, 24)}
    return {
        "transformer": np.tanh(30 * _log_ratio(close, lagged[24])),
        "cnn_lstm": np.tanh(60 * _log_ratio(close, lagged[4])),
        "indicators": np.tanh(30 * _log_ratio(close, _trailing_mean(close, 20))),
        "smc": -np.tanh(30 * _log_ratio(close, _trailing_mean(close, 48))),
    }


def _regime(ret24: float, vol_short: float, vol_long: float) -> RegimeState | None:
    if not np.isfinite(vol_long):
        return None
    if vol_short > 1.5 * vol_long:
        return RegimeState("volatile", 0.5, 0.2)
    name = (
        "trending_bullish" if ret24 > 0.02 else "trending_bearish" if ret24 < -0.02 else "ranging"
    )
    return RegimeState(name, 0.5, 0.1)


def _walk(frame: pl.DataFrame, ensemble: Ensemble, log: list | None = None) -> pl.DataFrame:
    close = frame["close"].to_numpy().astype(float)
    scores = _scores(close)
    rets = np.concatenate([[np.nan], np.diff(np.log(close))])
    vol_short = np.sqrt(_trailing_mean(rets**2, 12))
    vol_long = np.sqrt(_trailing_mean(rets**2, 96))
    pending: dict[int, object] = {}
    rows = []
    for t in range(len(close)):
        if t - H in pending:
            change = ensemble.record_outcome(
                pending.pop(t - H), float(np.log(close[t] / close[t - H]))
            )
            if log is not None:
                log.append(change)
        preds = {
            m: None
            if np.isnan(s[t])
            else Prediction(m, probabilities_from_score(s[t]), float(abs(s[t])))
            for m, s in scores.items()
        }
        ret24 = float(np.log(close[t] / close[t - 24])) if t >= 24 else 0.0
        regime = _regime(ret24, vol_short[t], vol_long[t])
        sig = ensemble.combine("BTCUSDT", preds, regime, bar=t)
        band = 0.5 * vol_long[t] * np.sqrt(H)
        if np.isfinite(band):
            pending[t] = sig.to_record(float(band))
        rows.append((sig.probabilities[2], sig.confidence, sig.threshold, sig.actionable))
    return frame.with_columns(
        pl.Series("p_up", [r[0] for r in rows]),
        pl.Series("confidence", [r[1] for r in rows]),
        pl.Series("threshold", [r[2] for r in rows]),
        pl.Series("actionable", [r[3] for r in rows]),
    )


@pytest.fixture(scope="module")
def btc_slice(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.slice(10_000, 1_500)


def test_walk_forward_signals_are_prefix_causal(btc_slice: pl.DataFrame) -> None:
    def compute(frame: pl.DataFrame) -> pl.DataFrame:
        return _walk(frame, Ensemble(EnsembleConfig(**CFG)))

    assert_prefix_causal(
        compute, btc_slice, [300, 800, 1_499], ["p_up", "confidence", "threshold", "actionable"]
    )


def test_walk_forward_learns_within_bounds(btc_slice: pl.DataFrame) -> None:
    ensemble = Ensemble(EnsembleConfig(**CFG))
    log: list[dict] = []
    out = _walk(btc_slice, ensemble, log)
    threshold = out["threshold"].to_numpy()
    assert threshold.min() >= 0.4 and threshold.max() <= 0.9
    assert len(np.unique(threshold)) > 1  # realized outcomes moved it
    assert 0 < out["actionable"].sum() < out.height
    perf = ensemble.performance("BTCUSDT")
    # enough outcomes for dynamic weights: they apply iff some model beats 3-class chance
    beats_chance = any(m["accuracy"] > 1 / 3 for m in perf["models"].values())
    assert perf["weight_mode"] == ("dynamic" if beats_chance else "static")
    assert sum(m["weight"] for m in perf["models"].values()) == pytest.approx(1.0)
    # the tracker's decayed accuracy equals an independent numpy recomputation
    lam = 0.5 ** (1 / 100)
    for model in ("transformer", "smc"):
        hits = np.array([c["models"][model]["correct"] for c in log if model in c["models"]])
        decay = lam ** np.arange(len(hits))[::-1]
        expected = float((decay * hits).sum() / decay.sum())
        assert perf["models"][model]["accuracy"] == pytest.approx(expected, rel=1e-9)
        assert perf["models"][model]["outcomes"] == len(hits)


def test_learned_walk_forward_is_prefix_causal(btc_slice: pl.DataFrame) -> None:
    def compute(frame: pl.DataFrame) -> pl.DataFrame:
        return _walk(frame, Ensemble(EnsembleConfig(**MEMBERS)))

    assert_prefix_causal(
        compute, btc_slice, [300, 800, 1_499], ["p_up", "confidence", "threshold", "actionable"]
    )


def test_learned_walk_forward_scores_every_member(btc_slice: pl.DataFrame) -> None:
    ensemble = Ensemble(EnsembleConfig(**MEMBERS))
    log: list[dict] = []
    _walk(btc_slice, ensemble, log)
    perf = ensemble.performance("BTCUSDT")
    learned = [c for c in log if c["learned"]]
    assert len(learned) == len(log) > 1000  # one learned outcome per resolved bar
    assert set(perf["models"]) == set(ORIGINAL_WEIGHTS)
    assert sum(abs(m["weight"]) for m in perf["models"].values()) == pytest.approx(1.0)
    assert perf["combiner"]["ic"]["outcomes"] == len(learned)
    assert perf["combiner"]["source"] == "prior"
    # the members' raw probabilities (a rule score's fixed flat mass) are badly calibrated;
    # the calibration map of the base rate is not
    ensemble_loss = perf["ensemble"]["mean_log_loss"]
    assert all(ensemble_loss < m["mean_log_loss"] for m in perf["models"].values())
    assert perf["ensemble"]["calibration"]["ece"] < 0.05
