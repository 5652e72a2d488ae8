"""SmcPredictor: hand-checked rule votes, the contract on many real windows, window checks."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError, DataValidationError, InsufficientDataError
from models.predictors.base import create_predictor
from models.predictors.smc_predictor import (
    DEFAULT_LOOKBACK,
    RULE_WEIGHTS,
    SmcPredictor,
    rule_votes,
    score_frame,
)
from models.smc import SmcConfig, analyze_smc
from models.smc.inputs import candles_from_frame, volatility_scale
from tests.smc.smc_frames import STRUCTURE_BARS, candles

NAN = math.nan
STATE = {  # one row per case; columns the rules read
    "trend": [1, 1, 1, 0, -1],
    "last_break_dir": [1, 1, 1, 0, -1],
    "last_break_age": [12, 0, 0, None, 24],
    "ob_bull_top": [100.0, NAN, 100.0, NAN, NAN],
    "ob_bull_bottom": [98.0, NAN, 98.0, NAN, NAN],
    "fvg_bull_top": [NAN, 102.0, NAN, NAN, NAN],
    "fvg_bull_bottom": [NAN, 100.0, NAN, NAN, NAN],
    "ob_bear_top": [106.0, NAN, NAN, NAN, 104.0],
    "ob_bear_bottom": [105.0, NAN, NAN, NAN, 102.0],
    "fvg_bear_top": [NAN, NAN, NAN, NAN, NAN],
    "fvg_bear_bottom": [NAN, NAN, NAN, NAN, NAN],
    "last_sweep_dir": [-1, 1, -1, 0, -1],
    "last_sweep_age": [4, 0, 13, None, 8],
}
CLOSE = np.array([101.0, 101.0, 97.0, 101.0, 103.0])
ATR = np.array([2.0, 2.0, 2.0, 0.0, 2.0])


def test_rule_votes_by_hand() -> None:
    votes = rule_votes(pl.DataFrame(STATE), CLOSE, ATR)
    expected = {
        # 0: break 12 bars old; 0.5 ATR above a bullish block, 2 ATR under a bearish one;
        #    highs swept 4 bars ago against the up trend
        # 1: fresh break; close inside a bullish gap; lows swept now, with the trend (half)
        # 2: close below the bullish block (not support); sweep 13 bars old (silent)
        # 3: nothing known yet (and a zero ATR)
        # 4: break 24 bars old; close inside the bearish block: resistance 1; highs swept
        #    8 bars ago, with the down trend (half size, 2 ** -2)
        "structure": [0.75, 1.0, 1.0, 0.0, -(0.5 + 0.5 * 0.25)],
        "zones": [math.exp(-0.5) - math.exp(-2.0), 1.0, 0.0, 0.0, -1.0],
        "sweep": [-0.5, 0.5, 0.0, 0.0, -0.5 * 0.25],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(votes[name], values, rtol=1e-12, err_msg=name)


def test_registered_as_smc() -> None:
    predictor = create_predictor("smc")
    assert isinstance(predictor, SmcPredictor)
    assert predictor.name == "smc"
    assert predictor.min_bars == 14 + 2 * (2 * 5 + 1) == 36
    assert predictor.lookback == DEFAULT_LOOKBACK
    assert math.isclose(sum(RULE_WEIGHTS.values()), 1.0)


def test_too_short_window_raises() -> None:
    predictor = SmcPredictor(SmcConfig(swing_length=1, atr_length=2))
    assert predictor.min_bars == 8
    with pytest.raises(InsufficientDataError, match="7 bars; at least 8"):
        predictor.predict(candles(STRUCTURE_BARS[:7]))
    predictor.predict(candles(STRUCTURE_BARS[:8]))


def test_bad_settings_and_frames_raise_ours() -> None:
    with pytest.raises(ConfigError, match="lookback"):
        SmcPredictor(lookback=10)
    with pytest.raises(ConfigError, match="lookback"):
        SmcPredictor(lookback=100.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="config"):
        SmcPredictor(config={"swing_length": 2})  # type: ignore[arg-type]
    window = candles(STRUCTURE_BARS * 3).with_columns(pl.lit(None, pl.Float64).alias("close"))
    with pytest.raises(DataValidationError, match="close"):
        SmcPredictor(SmcConfig(swing_length=1, atr_length=2)).predict(window)


def test_hand_built_bearish_break() -> None:
    """The golden structure bars end on a bearish BOS at the last bar (age 0)."""
    pred = SmcPredictor(SmcConfig(swing_length=1, atr_length=2)).predict(candles(STRUCTURE_BARS))
    assert pred.details["rules"]["structure"] == -1.0
    assert pred.details["state"]["bos"] == -1
    assert pred.details["state"]["ob_bear_active"] == 2
    assert pred.details["state"]["ob_bear_index"] == 9
    assert pred.direction == -1
    assert pred.probabilities[0] > pred.probabilities[2]
    assert 0.0 < pred.confidence <= 1.0


def test_flat_market_is_flat() -> None:
    window = candles([(5.0, 5.0, 5.0, 5.0)] * 60)
    pred = create_predictor("smc").predict(window)
    assert pred.details["score"] == 0.0
    assert pred.probabilities == pytest.approx((0.25, 0.5, 0.25))
    assert pred.confidence == 0.0


def test_many_random_real_windows(real_candles) -> None:
    rng = np.random.default_rng(7)
    predictor = create_predictor("smc")
    directions = set()
    for symbol in ("BTCUSDT", "DOGEUSDT", "AVAXUSDT", "XRPUSDT"):
        frame = real_candles(symbol)
        for _ in range(25):
            size = int(rng.integers(predictor.min_bars, 700))
            start = int(rng.integers(0, frame.height - size))
            pred = predictor.predict(frame.slice(start, size))
            assert pred.model == "smc"
            assert math.isclose(sum(pred.probabilities), 1.0, abs_tol=1e-9)
            assert all(0.0 <= p <= 1.0 for p in pred.probabilities)
            assert 0.0 <= pred.confidence <= 1.0
            assert -1.0 <= pred.details["score"] <= 1.0
            json.dumps(dict(pred.details), allow_nan=False)  # details must be JSON-safe
            directions.add(pred.direction)
    assert {-1, 1} <= directions


def test_prediction_is_the_last_row_of_score_frame(btc) -> None:
    predictor = create_predictor("smc")
    window = btc.slice(10_000, 300)
    pred = predictor.predict(window)
    assert pred.details["score"] == pytest.approx(score_frame(window)[-1], abs=1e-12)
    # only the last `lookback` bars are analysed
    long = btc.slice(9_000, 1_300)
    assert predictor.predict(long).details == predictor.predict(long.tail(DEFAULT_LOOKBACK)).details


def test_prediction_reads_exactly_the_published_frame(btc) -> None:
    """predict() reads numpy arrays, not the analyze_smc frame: votes and state must equal
    what the frame gives (the rules through rule_votes, the state from its last row)."""
    predictor = SmcPredictor(lookback=256)
    for start in (3_000, 12_345, 20_000):
        window = btc.slice(start, 256)
        analysis = analyze_smc(window)
        atr = volatility_scale(window, candles_from_frame(window), 14)
        close = window["close"].to_numpy()
        votes = rule_votes(analysis.tail(1), close[-1:], atr[-1:])
        details = predictor.predict(window).details
        assert details["rules"] == {name: float(v[0]) for name, v in votes.items()}
        row = analysis.row(-1, named=True)
        expected = {k: None if row[k] != row[k] else row[k] for k in details["state"]}
        assert details["state"] == expected
        assert [type(v) for v in details["state"].values()] == [type(v) for v in expected.values()]
        scores = score_frame(window)
        frame_votes = rule_votes(analysis, close, atr)
        assert np.array_equal(scores, sum(RULE_WEIGHTS[r] * frame_votes[r] for r in RULE_WEIGHTS))


def test_short_windows_agree_with_full_history(real_candles) -> None:
    """A 256-bar window mostly sees the same state as the whole history (module docstring)."""
    predictor = SmcPredictor(lookback=256)
    frame = real_candles("SOLUSDT")
    full = score_frame(frame)
    ends = np.random.default_rng(3).integers(2_000, frame.height, 40)
    window_scores = np.array(
        [predictor.predict(frame.slice(e - 255, 256)).details["score"] for e in ends]
    )
    assert np.mean(np.sign(window_scores) == np.sign(full[ends])) >= 0.9
    assert np.median(np.abs(window_scores - full[ends])) < 0.01
