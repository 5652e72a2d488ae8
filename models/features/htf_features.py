"""Higher-timeframe (4h, 1d) features on hourly rows, using only higher bars that have closed.

The hourly candles are resampled with ``closed_only=True`` (a still-forming last bar is
dropped) and the first higher bar is dropped when the window starts inside it (it would be
built from part of its period only). Each higher bar becomes usable at the hourly row whose
close completes it: the bar opening at ``T`` with length ``S`` is joined to the hourly bar
opening at ``T + S - 1h`` and every later one (an as-of join, backward). So an hourly row
never reads a higher bar that is still forming, and the result on the first ``k`` hourly
bars is the first ``k`` rows of the result on more (tested by prefix replay).

Warm-up: a feature that needs ``L`` earlier higher bars is defined, on a gap-free series,
from hourly row ``(L + 2) * S / 1h - 2`` at the latest (the first full higher bar may start
up to ``S - 1h`` after the first hourly bar).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from models.data.resample import resample_ohlcv
from models.features.indicators import atr, ema, rolling_std, rsi

HTF_STEPS: dict[str, int] = {"h4": 4, "d1": 24}
"""Prefix of each higher timeframe's columns -> its length in hourly bars."""

HOURLY = timedelta(hours=1)

# feature suffix -> higher bars it needs before it is defined
_LOOKBACK: dict[str, int] = {
    "log_ret_1": 1,
    "log_ret_3": 3,
    "rsi": 14,
    "close_ema_12": 11,
    "atr": 14,
    "volatility_6": 6,
    "close_vs_last": 0,
}


def htf_feature_warmups() -> dict[str, int]:
    """Column name -> hourly warm-up (module docstring) of every higher-timeframe feature."""
    return {
        f"{prefix}_{suffix}": (lookback + 2) * step - 2
        for prefix, step in HTF_STEPS.items()
        for suffix, lookback in _LOOKBACK.items()
    }


def _bar_features(bars: pl.DataFrame) -> dict[str, np.ndarray]:
    close = bars["close"].to_numpy()
    high, low = bars["high"].to_numpy(), bars["low"].to_numpy()
    log_close = np.log(close)
    ret1 = np.full_like(log_close, np.nan)
    ret3 = np.full_like(log_close, np.nan)
    ret1[1:] = np.diff(log_close)
    ret3[3:] = log_close[3:] - log_close[:-3]
    return {
        "log_ret_1": ret1,
        "log_ret_3": ret3,
        "rsi": rsi(close, 14) / 100.0,
        "close_ema_12": log_close - np.log(ema(close, 12)),
        "atr": atr(high, low, close, 14) / close,
        "volatility_6": rolling_std(ret1, 6),
    }


def _closed_bars(candles: pl.DataFrame, step_bars: int) -> pl.DataFrame:
    """Closed higher bars of ``candles``, without a first bar the window starts inside."""
    bars = resample_ohlcv(
        candles.select(["timestamp", "open", "high", "low", "close", "volume"]),
        timedelta(hours=step_bars),
        closed_only=True,
    )
    if bars.height and bars["timestamp"][0] < candles["timestamp"][0]:
        bars = bars.slice(1)
    return bars


def higher_timeframe_features(candles: pl.DataFrame) -> pl.DataFrame:
    """``timestamp`` plus every column of :func:`htf_feature_warmups`, one row per hourly bar."""
    out = candles.select("timestamp").with_columns(
        pl.col("timestamp").cast(pl.Datetime("us", "UTC"))
    )
    hourly_close = candles["close"].cast(pl.Float64).to_numpy()
    for prefix, step in HTF_STEPS.items():
        bars = _closed_bars(candles, step)
        feats = _bar_features(bars) if bars.height else {k: np.zeros(0) for k in _LOOKBACK}
        feats.pop("close_vs_last", None)
        table = pl.DataFrame(
            {
                "available": (bars["timestamp"] + timedelta(hours=step) - HOURLY).cast(
                    pl.Datetime("us", "UTC")
                ),
                f"{prefix}_close": bars["close"].cast(pl.Float64),
                **{f"{prefix}_{k}": pl.Series(v, dtype=pl.Float64) for k, v in feats.items()},
            }
        )
        joined = out.select("timestamp").join_asof(
            table, left_on="timestamp", right_on="available", strategy="backward"
        )
        last_close = joined[f"{prefix}_close"].to_numpy().astype(np.float64)
        vs_last = np.log(hourly_close / last_close)
        out = out.with_columns(
            *(joined[f"{prefix}_{k}"].fill_null(np.nan) for k in feats),
            pl.Series(f"{prefix}_close_vs_last", vs_last, dtype=pl.Float64),
        )
    return out
