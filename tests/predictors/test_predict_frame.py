"""predict_frame: row t of a one-pass replay equals predict on the window ending at t."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError, InsufficientDataError
from models.features.indicators import compute_indicators
from models.predictors.base import Prediction, Predictor, window_starts
from models.predictors.smc_predictor import SmcPredictor
from models.predictors.technical import MIN_BARS, TechnicalPredictor


def assert_same(a: Prediction, b: Prediction) -> None:
    np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=0, atol=1e-12)
    assert a.confidence == pytest.approx(b.confidence, abs=1e-12)
    assert a.model == b.model and a.horizon_bars == b.horizon_bars


@pytest.fixture(scope="module")
def history(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.slice(5000, 900)


def test_technical_predict_frame_equals_predict_on_full_prefix(history):
    rows = [MIN_BARS - 1, 100, 333, 600, history.height - 1]
    frame = TechnicalPredictor().predict_frame(history, rows)
    for t, got in zip(rows, frame, strict=True):
        assert_same(got, TechnicalPredictor().predict(history.head(t + 1)))


def test_smc_predict_frame_equals_predict_when_the_window_fits_the_lookback(history):
    predictor = SmcPredictor(lookback=history.height)
    rows = [predictor.min_bars - 1, 120, 450, 777, history.height - 1]
    frame = predictor.predict_frame(history, rows)
    for t, got in zip(rows, frame, strict=True):
        want = predictor.predict(history.head(t + 1))
        assert_same(got, want)
        assert got.details["state"] == want.details["state"]


def test_smc_predict_frame_matches_the_default_512_bar_window_on_most_rows(history):
    predictor = SmcPredictor()
    rows = list(range(600, history.height, 15))
    frame = predictor.predict_frame(history, rows)
    windowed = [predictor.predict(history.slice(t + 1 - 512, 512)) for t in rows]
    diffs = [a.details["score"] - b.details["score"] for a, b in zip(frame, windowed, strict=True)]
    assert np.mean(np.abs(diffs) < 1e-9) >= 0.95


class _LastClose(Predictor):
    """Says up when the last close rose; records the windows it was given."""

    name = "last_close"

    def __init__(self) -> None:
        self.seen: list[int] = []

    @property
    def min_bars(self) -> int:
        return 2

    def predict(self, window: pl.DataFrame) -> Prediction:
        self.check_window(window)
        self.seen.append(window.height)
        close = window["close"].to_numpy()
        up = close[-1] > close[-2]
        return Prediction(self.name, (0.0, 0.0, 1.0) if up else (1.0, 0.0, 0.0), 1.0)


def test_default_predict_frame_gives_each_row_only_its_past(history):
    model = _LastClose()
    out = model.predict_frame(history, [10, 11, 50], window_bars=5)
    assert model.seen == [5, 5, 5]
    for t, pred in zip([10, 11, 50], out, strict=True):
        assert pred == model.predict(history.slice(t - 4, 5))
    model.seen.clear()
    model.predict_frame(history, [3, 7])
    assert model.seen == [4, 8]  # window_bars=None: everything up to the row


def test_predict_frame_rejects_rows_outside_the_frame_and_short_history(history):
    with pytest.raises(ConfigError, match="rows"):
        _LastClose().predict_frame(history, [history.height])
    with pytest.raises(ConfigError, match="window_bars"):
        window_starts([1], 0, 10)
    with pytest.raises(InsufficientDataError):
        TechnicalPredictor().predict_frame(history, [MIN_BARS - 2])
    with pytest.raises(InsufficientDataError, match="smc window has 10 bars; at least 36"):
        SmcPredictor().predict_frame(history, [9])
    # every row is checked to be in the frame before any row's history is
    with pytest.raises(ConfigError, match="rows"):
        SmcPredictor().predict_frame(history, [9, history.height])


def test_technical_predict_frame_reuses_precomputed_indicators(history):
    with_ind = compute_indicators(history)
    a = TechnicalPredictor().predict_frame(with_ind, [500])[0]
    b = TechnicalPredictor().predict_frame(history, [500])[0]
    assert_same(a, b)
