"""Scale-free, causal inputs of the neural predictors.

Every feature is a ratio, a return, a bounded oscillator or a z-score, so one network can be
trained on bitcoin at 60,000 and dogecoin at 0.06 and the scaler sees stable magnitudes
across years. Indicator columns come from :func:`models.features.indicators.ensure_indicators`
(reused when the window already carries them). Row ``t`` uses bars ``<= t`` only; every
feature is defined from row :data:`MAX_LOOKBACK` on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import polars as pl

from models.data.times import HOUR_US, epoch_us_array
from models.errors import DataValidationError
from models.features.indicators import ensure_indicator_arrays, rolling_std, sma

RETURN_LAGS: tuple[int, ...] = (1, 4, 12, 24)
"""Log-return horizons in bars: the last hour, the label horizon, half a day, a day."""

VOLATILITY_WINDOW = 24
"""Bars of 1-bar log returns in the realised-volatility feature (one day)."""

VOLUME_WINDOW = 168
"""Trailing bars the volume z-score compares against: one week, so the daily and weekly
rhythm of trading activity is inside the reference window."""

FEATURE_COLUMNS: tuple[str, ...] = (
    *(f"log_ret_{lag}" for lag in RETURN_LAGS),
    f"volatility_{VOLATILITY_WINDOW}",
    "close_location",
    "range_hl",
    "close_sma_20",
    "close_ema_12",
    "close_ema_26",
    "rsi",
    "macd_hist",
    "bb_pct_b",
    "bb_width",
    "atr",
    "adx",
    "di_diff",
    "stoch_k",
    "stoch_d",
    "volume_z",
    "hour_sin",
    "hour_cos",
)
"""Feature names in the order of the model's input vector."""

MAX_LOOKBACK = VOLUME_WINDOW
"""Earlier bars a row needs before every feature is defined (the volume z-score's window;
every other feature is defined by row 33, the MACD histogram's first value). Rows
``0 .. MAX_LOOKBACK - 1`` have NaN somewhere; from row ``MAX_LOOKBACK`` on none do.
By then the recursive smoothers (EMA, Wilder) have also forgotten their seeds to within
~1e-4, so a ``seq_len + MAX_LOOKBACK``-bar window gives nearly the same features as the
full history the model was trained on."""


def _shift(x: np.ndarray, lag: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if lag < x.shape[0]:
        out[lag:] = x[:-lag]
    return out


def _safe_ratio(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """``num / den`` with ``fill`` where ``den`` is 0 (an exactly flat market); NaN kept."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den == 0.0, fill, num / den)
    out[np.isnan(num) | np.isnan(den)] = np.nan
    return out


def _volume_z(volume: np.ndarray) -> np.ndarray:
    """log-volume now against the mean / std of the previous ``VOLUME_WINDOW`` bars."""
    log_vol = np.log1p(volume)
    mean = _shift(sma(log_vol, VOLUME_WINDOW), 1)
    std = _shift(rolling_std(log_vol, VOLUME_WINDOW), 1)
    return _safe_ratio(log_vol - mean, std, 0.0)


Arrays = Mapping[str, np.ndarray]
"""Candle and indicator columns by name (float64), what the feature functions read."""


def _price_features(df: Arrays) -> dict[str, np.ndarray]:
    close = df["close"]
    log_close = np.log(close)
    cols = {f"log_ret_{lag}": log_close - _shift(log_close, lag) for lag in RETURN_LAGS}
    cols[f"volatility_{VOLATILITY_WINDOW}"] = rolling_std(cols["log_ret_1"], VOLATILITY_WINDOW)
    high, low = df["high"], df["low"]
    # Where the close sits in the bar's range (0 = at the low, 1 = at the high).
    cols["close_location"] = _safe_ratio(close - low, high - low, 0.5)
    cols["range_hl"] = (high - low) / close
    for name in ("sma_20", "ema_12", "ema_26"):
        cols[f"close_{name}"] = np.log(close / df[name])
    return cols


def _indicator_features(df: Arrays) -> dict[str, np.ndarray]:
    close = df["close"]
    upper, middle, lower = (df[c] for c in ("bb_upper", "bb_middle", "bb_lower"))
    return {
        "rsi": df["rsi_14"] / 100.0,
        "macd_hist": df["macd_hist"] / close,
        "bb_pct_b": _safe_ratio(close - lower, upper - lower, 0.5),
        "bb_width": (upper - lower) / middle,
        "atr": df["atr_14"] / close,
        "adx": df["adx_14"] / 100.0,
        "di_diff": (df["plus_di_14"] - df["minus_di_14"]) / 100.0,
        "stoch_k": df["stoch_k"] / 100.0,
        "stoch_d": df["stoch_d"] / 100.0,
        "volume_z": _volume_z(df["volume"]),
    }


def _hour_features(df: pl.DataFrame) -> dict[str, np.ndarray]:
    if "timestamp" not in df.columns:
        raise DataValidationError("missing column", column="timestamp")
    stamps = df["timestamp"]
    if isinstance(stamps.dtype, pl.Datetime) and stamps.dtype.time_zone in (None, "UTC"):
        hours = (epoch_us_array(stamps) // HOUR_US % 24).astype(np.float64)  # a lazy query less
    else:
        hours = stamps.dt.hour().cast(pl.Float64).to_numpy()
    angle = hours * (2.0 * math.pi / 24.0)
    return {"hour_sin": np.sin(angle), "hour_cos": np.cos(angle)}


def model_feature_arrays(df: pl.DataFrame, columns: Arrays) -> dict[str, np.ndarray]:
    """:data:`FEATURE_COLUMNS` as float64 arrays, from ``df``'s candles and timestamps and the
    indicator ``columns`` already computed for them (no frame is built)."""
    close = df["close"].cast(pl.Float64)
    if close.null_count() or not bool((close > 0).all()):
        raise DataValidationError("prices must be positive and not null", column="close")
    arrays = {**columns, **{c: df[c].cast(pl.Float64).to_numpy() for c in _CANDLE}}
    cols = {**_price_features(arrays), **_indicator_features(arrays), **_hour_features(df)}
    return {name: np.asarray(cols[name], dtype=np.float64) for name in FEATURE_COLUMNS}


_CANDLE = ("high", "low", "close", "volume")


def compute_model_features(df: pl.DataFrame) -> pl.DataFrame:
    """``timestamp`` plus :data:`FEATURE_COLUMNS` (Float64, NaN during warm-up), one row per bar."""
    cols = model_feature_arrays(df, ensure_indicator_arrays(df))
    return pl.DataFrame(
        [
            df["timestamp"],
            *(pl.Series(name, cols[name], dtype=pl.Float64) for name in FEATURE_COLUMNS),
        ]
    )
