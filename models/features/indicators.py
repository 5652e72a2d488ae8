"""Causal, vectorised technical indicators that agree with TA-Lib.

Each function takes float64 arrays and returns arrays of the same length with NaN during
warm-up, at exactly the rows where TA-Lib returns NaN. Recursive smoothers (EMA, Wilder)
only forget their seed as ``(1 - 1/n)^k``, so the seeds copy TA-Lib's: the EMA starts from
the SMA of its first ``n`` values, RSI/ATR from the mean of their first ``n`` terms, DMI from
the running sum of its first ``n - 1`` terms, and MACD seeds both of its EMAs at the slow
EMA's first row (TA-Lib's alignment). Leading NaNs in the input are skipped (as TA-Lib's
wrapper does), so indicators can be chained on each other's outputs.

Deliberate differences from TA-Lib, only in degenerate cases: a history with no movement
at all gives RSI 50 and a flat 14-bar range gives stochastic %K 50 (TA-Lib: 0 for both,
which would read as "oversold"), and a bar whose +DI and -DI are both 0 counts as DX 0 in
ADX (TA-Lib skips it). All need exactly flat prices and never occur in the real data.

Everything is causal: row ``t`` depends only on rows ``<= t`` (tested by prefix replay).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from models.data.validation import numeric_column
from models.errors import DataValidationError
from models.features import rolling
from models.features.rolling import (
    as_series,
    check_period,
    first_valid,
    linear_recursion,
    nan_array,
    seed_sum,
)

__all__ = [
    "INDICATOR_COLUMNS",
    "atr",
    "bollinger",
    "compute_indicators",
    "dmi",
    "ema",
    "ensure_indicator_arrays",
    "ensure_indicators",
    "has_indicators",
    "indicator_arrays",
    "macd",
    "obv",
    "rolling_std",
    "rsi",
    "sma",
    "stochastic",
    "true_range",
]

INDICATOR_COLUMNS: tuple[str, ...] = (
    "sma_20",
    "ema_12",
    "ema_26",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "atr_14",
    "adx_14",
    "plus_di_14",
    "minus_di_14",
    "stoch_k",
    "stoch_d",
    "obv",
    "ret_1",
    "log_ret_1",
    "volatility_20",
)
"""Every column :func:`compute_indicators` appends, in order."""

INPUT_COLUMNS: tuple[str, ...] = ("high", "low", "close", "volume")
"""Candle columns :func:`compute_indicators` reads (no indicator needs the open)."""


def _after_leading_nan(
    fn: Callable[..., tuple[np.ndarray, ...]], *arrays: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Run ``fn`` on the rows from the first all-finite one on, NaN-padding the head."""
    start = first_valid(*arrays)
    if start == 0:
        return fn(*arrays)
    size = len(arrays[0])
    results = fn(*(a[start:] for a in arrays))
    padded = []
    for res in results:
        out = nan_array(size)
        out[start:] = res
        padded.append(out)
    return tuple(padded)


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last ``n`` values (TA-Lib ``SMA``)."""
    x, n = as_series(x, "x"), check_period(n)
    return _after_leading_nan(lambda v: (rolling.rolling_sum(v, n) / n,), x)[0]


def _ema_core(x: np.ndarray, n: int, seed_end: int) -> np.ndarray:
    """EMA seeded at row ``seed_end`` with the SMA of the ``n`` values ending there."""
    if seed_end >= len(x):
        return nan_array(len(x))
    k = 2.0 / (n + 1)
    seed = seed_sum(x[seed_end - n + 1 : seed_end + 1]) / n
    return linear_recursion(x, seed_end, seed, 1.0 - k, k)


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average, ``k = 2 / (n + 1)``, seeded with the SMA of the first ``n``."""
    x, n = as_series(x, "x"), check_period(n)
    return _after_leading_nan(lambda v: (_ema_core(v, n, n - 1),), x)[0]


def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """Population standard deviation of the last ``n`` values (TA-Lib ``STDDEV``, BBANDS)."""
    x, n = as_series(x, "x"), check_period(n)
    return _after_leading_nan(lambda v: (rolling.rolling_std(v, n),), x)[0]


def _wilder_average(x: np.ndarray, n: int, first: int) -> np.ndarray:
    """Wilder's average of ``x`` seeded at ``first + n - 1`` with the mean of ``n`` terms."""
    end = first + n - 1
    if end >= len(x):
        return nan_array(len(x))
    return linear_recursion(x, end, seed_sum(x[first : end + 1]) / n, 1.0 - 1.0 / n, 1.0 / n)


def _rsi_core(close: np.ndarray, n: int) -> tuple[np.ndarray]:
    diff = np.diff(close, prepend=np.nan)
    gain = _wilder_average(np.maximum(diff, 0.0), n, 1)
    loss = _wilder_average(np.maximum(-diff, 0.0), n, 1)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total == 0.0, 50.0, 100.0 * (gain / total))
    out[np.isnan(total)] = np.nan
    return (out,)


def rsi(close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's relative strength index in [0, 100] (TA-Lib ``RSI``); first value at row ``n``."""
    close, n = as_series(close, "close"), check_period(n)
    return _after_leading_nan(lambda c: _rsi_core(c, n), close)[0]


def _true_range_core(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    out = nan_array(len(close))
    if len(close) > 1:
        prev = close[:-1]
        h, lo = high[1:], low[1:]
        out[1:] = np.maximum(h - lo, np.maximum(np.abs(h - prev), np.abs(lo - prev)))
    return out


def _hlc(high: object, low: object, close: object) -> tuple[np.ndarray, ...]:
    return as_series(high, "high"), as_series(low, "low"), as_series(close, "close")


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """True range (TA-Lib ``TRANGE``): needs the previous close, so row 0 is NaN."""
    return _after_leading_nan(lambda *a: (_true_range_core(*a),), *_hlc(high, low, close))[0]


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14) -> np.ndarray:
    """Average true range: Wilder's average of the true range, first value at row ``n``."""
    n = check_period(n)

    def core(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> tuple[np.ndarray]:
        return (_wilder_average(_true_range_core(h, lo, c), n, 1),)

    return _after_leading_nan(core, *_hlc(high, low, close))[0]


def _wilder_sum(x: np.ndarray, n: int) -> np.ndarray:
    """TA-Lib's DMI smoother: sum of terms 1..n-1, then ``s - s/n + x``; first value at ``n``."""
    out = linear_recursion(x, n - 1, seed_sum(x[1:n]), 1.0 - 1.0 / n, 1.0)
    out[: min(n, len(x))] = np.nan
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``100 * num / den``, 0 where ``den`` is 0 (TA-Lib's convention), NaN kept."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den == 0.0, 0.0, 100.0 * (num / den))
    out[np.isnan(den) | np.isnan(num)] = np.nan
    return out


def _dmi_core(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    up = np.diff(high, prepend=np.nan)
    down = -np.diff(low, prepend=np.nan)
    plus_dm = np.where((up > 0.0) & (up > down), up, 0.0)
    minus_dm = np.where((down > 0.0) & (down > up), down, 0.0)
    tr = _wilder_sum(_true_range_core(high, low, close), n)
    plus_di = _ratio(_wilder_sum(plus_dm, n), tr)
    minus_di = _ratio(_wilder_sum(minus_dm, n), tr)
    dx = _ratio(np.abs(plus_di - minus_di), plus_di + minus_di)
    return plus_di, minus_di, _wilder_average(dx, n, n)


def dmi(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(+DI, -DI, ADX) as TA-Lib ``PLUS_DI``, ``MINUS_DI``, ``ADX``.

    DI values start at row ``n``; ADX is Wilder's average of DX seeded with the mean of its
    first ``n`` values and starts at row ``2n - 1``.
    """
    n = check_period(n)
    plus_di, minus_di, adx = _after_leading_nan(
        lambda h, lo, c: _dmi_core(h, lo, c, n), *_hlc(high, low, close)
    )
    return plus_di, minus_di, adx


def _macd_core(
    close: np.ndarray, fast: int, slow: int, signal: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start = slow - 1
    line = _ema_core(close, fast, start) - _ema_core(close, slow, start)
    sig = _ema_core(line, signal, start + signal - 1)
    line[: min(start + signal - 1, len(close))] = np.nan
    return line, sig, line - sig


def macd(
    close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(MACD line, signal, histogram) as TA-Lib ``MACD``.

    Both EMAs are seeded at row ``slow - 1`` (the fast one with the SMA of its last ``fast``
    values there, TA-Lib's alignment); all three outputs start at row ``slow + signal - 2``.
    """
    close = as_series(close, "close")
    fast, slow = check_period(fast, "fast"), check_period(slow, "slow")
    signal = check_period(signal, "signal")
    fast, slow = min(fast, slow), max(fast, slow)
    line, sig, hist = _after_leading_nan(lambda c: _macd_core(c, fast, slow, signal), close)
    return line, sig, hist


def bollinger(
    close: np.ndarray, n: int = 20, k: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower) bands: SMA(n) +- k population standard deviations."""
    close, n = as_series(close, "close"), check_period(n)

    def core(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        middle = rolling.rolling_sum(c, n) / n
        width = k * rolling.rolling_std(c, n)
        return middle + width, middle, middle - width

    upper, middle, lower = _after_leading_nan(core, close)
    return upper, middle, lower


def _stochastic_core(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int, k_n: int, d_n: int
) -> tuple[np.ndarray, np.ndarray]:
    lowest = rolling.rolling_min(low, n)
    spread = (rolling.rolling_max(high, n) - lowest) / 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_k = np.where(spread == 0.0, 50.0, (close - lowest) / spread)
    fast_k[np.isnan(spread)] = np.nan
    slow_k = rolling.rolling_sum(fast_k, k_n) / k_n
    slow_d = rolling.rolling_sum(slow_k, d_n) / d_n
    slow_k[: min(n + k_n + d_n - 3, len(close))] = np.nan
    return slow_k, slow_d


def stochastic(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    n: int = 14,
    k_n: int = 3,
    d_n: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """(slow %K, slow %D) as TA-Lib ``STOCH`` with SMA smoothing; 50 when the range is flat."""
    n, k_n, d_n = check_period(n), check_period(k_n, "k_n"), check_period(d_n, "d_n")
    slow_k, slow_d = _after_leading_nan(
        lambda h, lo, c: _stochastic_core(h, lo, c, n, k_n, d_n), *_hlc(high, low, close)
    )
    return slow_k, slow_d


def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume (TA-Lib ``OBV``): starts at the first volume, +-volume per move."""
    close, volume = as_series(close, "close"), as_series(volume, "volume")

    def core(c: np.ndarray, v: np.ndarray) -> tuple[np.ndarray]:
        signed = np.sign(np.diff(c, prepend=c[:1])) * v
        if len(v):
            signed[0] = v[0]
        return (np.cumsum(signed),)

    return _after_leading_nan(core, close, volume)[0]


def _returns(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ret, log_ret = nan_array(len(close)), nan_array(len(close))
    if len(close) > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = close[1:] / close[:-1]
            ret[1:] = ratio - 1.0
            log_ret[1:] = np.log(ratio)
    return ret, log_ret


def _price_arrays(df: pl.DataFrame) -> dict[str, np.ndarray]:
    """The input columns as float64; NaN may lead (skipped) but a null is an error."""
    arrays = {}
    for name in INPUT_COLUMNS:
        values = numeric_column(df, name, missing="missing column needed for indicators")
        nulls = df[name].null_count()
        if nulls:
            raise DataValidationError(f"has {nulls} null values", column=name)
        arrays[name] = values
    return arrays


def indicator_arrays(df: pl.DataFrame) -> dict[str, np.ndarray]:
    """Every column of :data:`INDICATOR_COLUMNS` as float64 arrays, computed from ``df``'s
    candles (no frame is built: for callers that go on in numpy)."""
    a = _price_arrays(df)
    h, lo, c = a["high"], a["low"], a["close"]
    cols: dict[str, np.ndarray] = {"sma_20": sma(c, 20), "ema_12": ema(c, 12), "ema_26": ema(c, 26)}
    cols["rsi_14"] = rsi(c, 14)
    cols["macd"], cols["macd_signal"], cols["macd_hist"] = macd(c, 12, 26, 9)
    cols["bb_upper"], cols["bb_middle"], cols["bb_lower"] = bollinger(c, 20, 2.0)
    cols["atr_14"] = atr(h, lo, c, 14)
    cols["plus_di_14"], cols["minus_di_14"], cols["adx_14"] = dmi(h, lo, c, 14)
    cols["stoch_k"], cols["stoch_d"] = stochastic(h, lo, c, 14, 3, 3)
    cols["obv"] = obv(c, a["volume"])
    cols["ret_1"], cols["log_ret_1"] = _returns(c)
    cols["volatility_20"] = rolling_std(cols["log_ret_1"], 20)
    return {name: cols[name] for name in INDICATOR_COLUMNS}


def compute_indicators(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every column of :data:`INDICATOR_COLUMNS` appended (or replaced)."""
    cols = indicator_arrays(df)
    return df.with_columns(
        pl.Series(name, cols[name], dtype=pl.Float64) for name in INDICATOR_COLUMNS
    )


def has_indicators(df: pl.DataFrame) -> bool:
    """Whether ``df`` already carries every indicator column (computed by the caller)."""
    return all(name in df.columns for name in INDICATOR_COLUMNS)


def ensure_indicator_arrays(df: pl.DataFrame) -> dict[str, np.ndarray]:
    """:func:`ensure_indicators` as arrays: ``df``'s own indicator columns when it has them all,
    else :func:`indicator_arrays`."""
    if has_indicators(df):
        return {name: df[name].cast(pl.Float64).to_numpy() for name in INDICATOR_COLUMNS}
    return indicator_arrays(df)


def ensure_indicators(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` itself when it already has every indicator column, else with them computed."""
    if has_indicators(df):
        return df
    return compute_indicators(df)
