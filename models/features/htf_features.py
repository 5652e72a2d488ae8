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

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from models.data.intervals import format_interval
from models.data.times import HOUR_US, epoch_us_array
from models.data.validation import modal_step, numeric_column
from models.errors import ConfigError, DataValidationError
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


def _bar_features(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
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


@dataclass(frozen=True)
class _Bars:
    """Closed higher bars: open times (epoch microseconds) and their high, low, close."""

    start: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray


def _closed_bars(
    micros: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    step_bars: int,
    source: int | None,
) -> _Bars:
    """Closed higher bars of the hourly rows, without a first bar the window starts inside.

    What :func:`models.data.resample.resample_ohlcv` with ``closed_only=True`` gives (bars
    aligned to UTC, labelled by their open time), in numpy: the source is sorted hourly rows
    ``source`` microseconds apart (the modal step; None: fewer than two rows).
    """
    step = step_bars * HOUR_US
    bucket = micros // step
    firsts = np.flatnonzero(np.diff(bucket, prepend=bucket[:1] - 1)) if micros.size else micros
    starts = bucket[firsts] * step
    ends = np.append(firsts[1:], micros.size) - 1
    bars = _Bars(
        starts,
        np.maximum.reduceat(high, firsts) if firsts.size else high[:0],
        np.minimum.reduceat(low, firsts) if firsts.size else low[:0],
        close[ends],
    )
    keep = np.ones(starts.size, dtype=bool)
    if starts.size:
        keep[-1] = starts[-1] + step <= micros[-1] + (source or 0)  # a still-forming last bar
        keep[0] &= starts[0] >= micros[0]  # a first bar the window starts inside
    return _Bars(*(a[keep] for a in (bars.start, bars.high, bars.low, bars.close)))


def _check_source(source: int | None) -> None:
    """Hourly data (``source``: the modal step, microseconds) resample into every higher
    timeframe; other bar lengths may not."""
    for step_bars in HTF_STEPS.values():
        step = step_bars * HOUR_US
        if source is not None and (step < source or step % source):
            raise ConfigError(
                f"every={format_interval(timedelta(microseconds=step))} is not a whole "
                f"multiple of the data's {format_interval(timedelta(microseconds=source))} bars"
            )


def epoch_micros(candles: pl.DataFrame) -> np.ndarray:
    """The ``timestamp`` column as int64 microseconds since the epoch (UTC)."""
    if "timestamp" not in candles.columns:
        raise DataValidationError("missing column", column="timestamp")
    column = candles["timestamp"]
    if isinstance(column.dtype, pl.Datetime):
        return np.asarray(epoch_us_array(column), dtype=np.int64)
    stamps = column.cast(pl.Datetime("us", "UTC")).to_physical().to_numpy()
    return np.asarray(stamps, dtype=np.int64)


def htf_feature_arrays(
    micros: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    prefixes: Collection[str] = tuple(HTF_STEPS),
) -> dict[str, np.ndarray]:
    """Every column of :func:`htf_feature_warmups` as float64 arrays, one value per hourly row
    (open times ``micros``, sorted; prices float64). ``prefixes``: only these timeframes'
    columns (the leader's tree features read the daily ones only); the data is checked
    against every timeframe all the same, so the errors do not depend on the choice."""
    source = modal_step(np.diff(micros))
    _check_source(source)
    out: dict[str, np.ndarray] = {}
    for prefix, step in HTF_STEPS.items():
        if prefix not in prefixes:
            continue
        bars = _closed_bars(micros, high, low, close, step, source)
        if not bars.close.size:
            out.update({f"{prefix}_{k}": np.full(micros.size, np.nan) for k in _LOOKBACK})
            continue
        feats = _bar_features(bars.high, bars.low, bars.close)
        feats["close_vs_last"] = bars.close  # the log ratio is taken after the join
        # the bar opening at T is known from the hourly bar opening at T + step - 1h on
        row = np.searchsorted(bars.start + (step - 1) * HOUR_US, micros, side="right") - 1
        known, pick = row >= 0, np.maximum(row, 0)
        for name, values in feats.items():
            out[f"{prefix}_{name}"] = np.where(known, values[pick], np.nan)
        out[f"{prefix}_close_vs_last"] = np.log(close / out[f"{prefix}_close_vs_last"])
    return out


def higher_timeframe_features(candles: pl.DataFrame) -> pl.DataFrame:
    """``timestamp`` plus every column of :func:`htf_feature_warmups`, one row per hourly bar."""
    high, low, close = (numeric_column(candles, c) for c in ("high", "low", "close"))
    cols = htf_feature_arrays(epoch_micros(candles), high, low, close)
    out = candles.select(pl.col("timestamp").cast(pl.Datetime("us", "UTC")))
    return out.with_columns(pl.Series(n, v, dtype=pl.Float64) for n, v in cols.items())
