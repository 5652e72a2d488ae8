"""Synthetic candle series built to put the detector in one known regime at the end.

Percentile ranks are relative to the trailing window, so most scenarios start with an
ordinary history (a random walk of moderate volatility and steady volume) and then append
the pattern under test; "narrow" and "wide" are only defined against that history.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

HISTORY_BARS = 300
START = datetime(2022, 1, 1, tzinfo=timezone.utc)


def candles(log_close: np.ndarray, wick: np.ndarray, volume: np.ndarray) -> pl.DataFrame:
    """OHLCV frame: open = previous close, high / low = body +- ``wick`` (relative)."""
    close = 100.0 * np.exp(log_close)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) * (1.0 + wick)
    low = np.minimum(open_, close) * (1.0 - wick)
    n = close.size
    return pl.DataFrame(
        {
            "timestamp": pl.datetime_range(
                START, START + timedelta(hours=n - 1), "1h", eager=True, time_zone="UTC"
            ),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )


def _segments(rng: np.random.Generator, returns: np.ndarray, wick: float, volume: np.ndarray):
    """History random walk (0.8 % per bar) followed by ``returns``; wick/volume per segment."""
    hist_ret = rng.normal(0.0, 0.008, HISTORY_BARS)
    hist_wick = np.abs(rng.normal(0.003, 0.001, HISTORY_BARS))
    hist_vol = rng.lognormal(np.log(100.0), 0.2, HISTORY_BARS)
    seg_wick = np.abs(rng.normal(wick, wick / 3, returns.size))
    log_close = np.cumsum(np.concatenate([hist_ret, returns]))
    return candles(
        log_close, np.concatenate([hist_wick, seg_wick]), np.concatenate([hist_vol, volume])
    )


def _steady_volume(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.lognormal(np.log(100.0), 0.2, n)


def trend(seed: int = 0, drift: float = 0.004, bars: int = 120) -> pl.DataFrame:
    """A steady trend: ``drift`` per bar (negative for down) with noise of half its size."""
    rng = np.random.default_rng(seed)
    returns = drift + rng.normal(0.0, abs(drift) / 2, bars)
    return _segments(rng, returns, 0.002, _steady_volume(rng, bars))


def consolidation(seed: int = 0, bars: int = 60) -> pl.DataFrame:
    """Tight and flat: 0.1 % noise around a fixed level (no drift) after normal history."""
    rng = np.random.default_rng(seed)
    returns = np.diff(rng.normal(0.0, 0.001, bars), prepend=0.0)
    return _segments(rng, returns, 0.0005, _steady_volume(rng, bars))


def oscillation(seed: int = 0, bars: int = 300, period: int = 12) -> pl.DataFrame:
    """Price swinging around a level (1.5 % amplitude, ``period`` bars) with small noise.

    Bar-to-bar moves are about those of the history, so only the lack of direction changes.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(bars)
    level = 0.015 * np.sin(2 * np.pi * t / period) + rng.normal(0.0, 0.002, bars)
    returns = np.diff(level, prepend=0.0)
    return _segments(rng, returns, 0.003, _steady_volume(rng, bars))


def breakout(
    seed: int = 0, up: bool = True, squeeze_bars: int = 40, move_bars: int = 4, spike: float = 5.0
) -> pl.DataFrame:
    """A squeeze (0.1 % noise) then ``move_bars`` bars of 2 % moves on ``spike`` x volume."""
    rng = np.random.default_rng(seed)
    squeeze = rng.normal(0.0, 0.001, squeeze_bars)
    move = np.full(move_bars, 0.02 if up else -0.02)
    volume = np.concatenate([_steady_volume(rng, squeeze_bars), np.full(move_bars, 100.0 * spike)])
    return _segments(rng, np.concatenate([squeeze, move]), 0.0005, volume)


def volatile(seed: int = 0, bars: int = 60) -> pl.DataFrame:
    """Large random swings around a level: i.i.d. 4 % log deviations, no drift."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0.0, 0.04, bars)
    returns = np.diff(level, prepend=0.0)
    return _segments(rng, returns, 0.01, _steady_volume(rng, bars))
