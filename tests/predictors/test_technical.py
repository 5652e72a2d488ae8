"""TechnicalPredictor: hand-checked rules, robustness over real windows, reuse of features."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from models.errors import DataValidationError, InsufficientDataError
from models.features.indicators import compute_indicators
from models.predictors.base import create_predictor
from models.predictors.technical import (
    MIN_BARS,
    RULE_GROUPS,
    RULE_WEIGHTS,
    TechnicalPredictor,
    score_frame,
)
from tests.causality import assert_prefix_causal


def linear_trend(n: int, slope: float) -> pl.DataFrame:
    """Closes moving ``slope`` per bar; every bar's body is 1 and each wick 0.5."""
    start = 1000.0 if slope < 0 else 100.0
    close = start + slope * np.arange(n, dtype=float)
    open_ = close - slope
    return pl.DataFrame(
        {
            "timestamp": pl.datetime_range(
                pl.datetime(2022, 1, 1, time_zone="UTC"),
                pl.datetime(2022, 1, 1, time_zone="UTC") + pl.duration(hours=n - 1),
                "1h",
                eager=True,
                time_unit="us",
            ),
            "open": open_,
            "high": np.maximum(open_, close) + 0.5,
            "low": np.minimum(open_, close) - 0.5,
            "close": close,
            "volume": np.full(n, 10.0),
        }
    )


def expected_uptrend_votes() -> dict[str, float]:
    """The votes worked out by hand for ``linear_trend(n, +1)`` once every smoother settled.

    TR = 2 (high - low), so ATR = 2; EMA lag is (n-1)/2 bars, so EMA12 - EMA26 = 7 and
    close - SMA20 = 9.5; +DM = 1 and -DM = 0 each bar, so +DI = 50, -DI = 0, ADX = 100;
    MACD is constant, so the histogram and its slope are 0; RSI = 100. The 20-bar std of a
    line is sqrt((20^2 - 1) / 12), so p = 9.5 / (2 std); the 14-bar range is 15 with the
    close 0.5 below its top, so %K = %D = 14.5 / 15 * 100.
    """
    p = 9.5 / (2.0 * math.sqrt(399.0 / 12.0))
    k = 14.5 / 15.0 * 100.0
    return {
        "ema_cross": math.tanh(3.5),
        "price_vs_sma": math.tanh(4.75),
        "adx_trend": 1.0,
        "macd": 0.0,
        "rsi_momentum": 1.0,
        "rsi_extreme": -1.0,
        "bollinger": -(p - 0.5) / 0.5,
        "stochastic": -(k - 80.0) / 20.0,
    }


def test_registered_as_indicators():
    predictor = create_predictor("indicators")
    assert isinstance(predictor, TechnicalPredictor)
    assert predictor.name == "indicators"
    assert predictor.min_bars == MIN_BARS


def test_weights_sum_to_one_and_groups_cover_every_rule():
    assert math.isclose(sum(RULE_WEIGHTS.values()), 1.0)
    grouped = [r for rules in RULE_GROUPS.values() for r in rules]
    assert sorted(grouped) == sorted(RULE_WEIGHTS)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_steady_trend_matches_hand_computed_votes(sign):
    pred = TechnicalPredictor().predict(linear_trend(400, sign))
    expected = {name: sign * v for name, v in expected_uptrend_votes().items()}
    for name, vote in expected.items():
        assert pred.details["rules"][name] == pytest.approx(vote, abs=1e-6), name
    score = sum(RULE_WEIGHTS[n] * v for n, v in expected.items())
    assert pred.details["score"] == pytest.approx(score, abs=1e-6)
    assert pred.direction == int(sign)
    down, _, up = pred.probabilities
    assert (up > down) if sign > 0 else (down > up)
    # Trend and momentum agree with the score (0.7 of the weight); mean reversion does not.
    assert pred.details["agreement"] == pytest.approx(0.7)
    assert pred.confidence == pytest.approx(0.7 * abs(score) * pred.details["damping"])


def test_noisy_trends_lean_their_way():
    rng = np.random.default_rng(11)
    for drift in (0.004, -0.004):
        steps = drift + rng.normal(0.0, 0.004, 300)
        close = 100.0 * np.exp(np.cumsum(steps))
        open_ = np.concatenate([[100.0], close[:-1]])
        frame = linear_trend(300, 1.0).with_columns(
            pl.Series("open", open_),
            pl.Series("close", close),
            pl.Series("high", np.maximum(open_, close) * 1.002),
            pl.Series("low", np.minimum(open_, close) * 0.998),
        )
        pred = TechnicalPredictor().predict(frame)
        assert np.sign(pred.details["groups"]["trend"]) == np.sign(drift)
        assert np.sign(pred.details["score"]) == np.sign(drift)
        down, _, up = pred.probabilities
        assert (up > down) if drift > 0 else (down > up)


def test_shorter_than_min_bars_raises(btc):
    predictor = TechnicalPredictor()
    with pytest.raises(InsufficientDataError, match=f"at least {MIN_BARS}"):
        predictor.predict(btc.head(MIN_BARS - 1))
    with pytest.raises(InsufficientDataError):
        predictor.predict(btc.head(0))


def _check(pred) -> None:
    assert math.isclose(sum(pred.probabilities), 1.0, abs_tol=1e-9)
    assert 0.0 <= pred.confidence <= 1.0
    assert all(-1.0 <= v <= 1.0 for v in pred.details["rules"].values())
    assert -1.0 <= pred.details["score"] <= 1.0


def test_random_real_windows_never_crash(real_candles):
    rng = np.random.default_rng(5)
    predictor = TechnicalPredictor()
    frames = [real_candles(s) for s in ("BTCUSDT", "DOGEUSDT", "SOLUSDT", "XRPUSDT")]
    for i in range(300):
        df = frames[i % len(frames)]
        length = int(rng.integers(MIN_BARS, 600))
        start = int(rng.integers(0, df.height - length))
        _check(predictor.predict(df.slice(start, length)))


def test_exactly_min_bars_everywhere_in_the_history(btc):
    predictor = TechnicalPredictor()
    for start in (0, 1, 5000, btc.height - MIN_BARS):
        _check(predictor.predict(btc.slice(start, MIN_BARS)))


def test_flat_zero_volume_bars_do_not_crash(btc):
    window = btc.slice(1000, 200)
    last_close = window["close"][-1]
    flat_bar = window.tail(1).with_columns(
        pl.col("timestamp") + pl.duration(hours=1),
        *(pl.lit(last_close).alias(c) for c in ("open", "high", "low", "close")),
        pl.lit(0.0).alias("volume"),
    )
    _check(TechnicalPredictor().predict(pl.concat([window, flat_bar])))
    n = MIN_BARS + 10
    frozen = linear_trend(n, 1.0).with_columns(
        *(pl.lit(250.0).alias(c) for c in ("open", "high", "low", "close")),
        pl.lit(0.0).alias("volume"),
    )
    pred = TechnicalPredictor().predict(frozen)
    _check(pred)
    assert pred.details["score"] == 0.0 and pred.confidence == 0.0


def test_min_bars_window_score_is_close_to_full_history(btc):
    full = score_frame(btc)
    rng = np.random.default_rng(2)
    ends = rng.integers(1000, btc.height, 150)
    diffs = [abs(score_frame(btc.slice(t - MIN_BARS + 1, MIN_BARS))[-1] - full[t]) for t in ends]
    assert np.median(diffs) < 0.005
    assert np.quantile(diffs, 0.9) < 0.02


def test_score_is_prefix_causal(real_candles):
    frame = real_candles("ETHUSDT").head(3000)
    assert_prefix_causal(
        lambda df: pl.DataFrame({"score": score_frame(df)}), frame, [1, 40, 62, 500, 2999]
    )


def test_predict_reuses_indicator_columns_in_the_window(btc):
    context = compute_indicators(btc.head(3000))
    window = context.tail(MIN_BARS + 5)
    predictor = TechnicalPredictor()
    reused = predictor.predict(window)
    recomputed = predictor.predict(window.select(btc.columns))
    assert reused.details["score"] != recomputed.details["score"]  # full-history features
    assert reused.details["score"] == pytest.approx(score_frame(context)[-1], abs=1e-12)
    overbought = window.with_columns(
        pl.when(pl.int_range(pl.len()) == pl.len() - 1)
        .then(95.0)
        .otherwise(pl.col("rsi_14"))
        .alias("rsi_14")
    )
    assert predictor.predict(overbought).details["rules"]["rsi_extreme"] == pytest.approx(
        -25.0 / 30.0
    )


def test_nan_indicator_in_window_is_named(btc):
    window = compute_indicators(btc.head(300)).with_columns(
        pl.when(pl.int_range(pl.len()) == pl.len() - 1)
        .then(float("nan"))
        .otherwise(pl.col("adx_14"))
        .alias("adx_14")
    )
    with pytest.raises(DataValidationError, match="'adx_14'"):
        TechnicalPredictor().predict(window)
