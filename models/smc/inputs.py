"""Checked OHLC arrays and the volatility scale shared by the SMC modules.

Validation lives here once so every SMC module can assume finite float64 arrays of equal
length; the scale (ATR) makes tolerances comparable across symbols and price levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from models.data.validation import PRICE_COLUMNS, numeric_column
from models.errors import DataValidationError
from models.features import indicators


@dataclass(frozen=True)
class Candles:
    """The four price arrays of a candle frame (float64, oldest first)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return len(self.close)


def candles_from_frame(df: pl.DataFrame) -> Candles:
    """Extract and check ``open, high, low, close``; raise DataValidationError naming the column."""
    if not isinstance(df, pl.DataFrame):
        raise DataValidationError(f"expected a polars DataFrame, got {type(df).__name__}")
    arrays: dict[str, np.ndarray] = {}
    for name in PRICE_COLUMNS:
        values = numeric_column(df, name)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataValidationError("value is null, NaN or infinite", row=row, column=name)
        arrays[name] = values
    below = arrays["high"] < arrays["low"]
    if below.any():
        row = int(np.argmax(below))
        raise DataValidationError("high is below low", row=row, column="high")
    return Candles(**arrays)


def true_range(c: Candles) -> np.ndarray:
    """High-low range widened by gaps from the previous close; unlike TA-Lib's, bar 0 has
    one (high - low) so the warm-up scale below exists from the first bar."""
    prev = np.concatenate(([np.nan], c.close[:-1]))
    tr: np.ndarray = np.fmax(c.high - c.low, np.fmax(np.abs(c.high - prev), np.abs(c.low - prev)))
    if len(tr):
        tr[0] = c.high[0] - c.low[0]
    return tr


def volatility_scale(
    df: pl.DataFrame, c: Candles, n: int, given: np.ndarray | None = None
) -> np.ndarray:
    """ATR(n) per bar, reusing ``given`` or an ``atr_<n>`` column when present; warm-up bars
    use the running mean true range so tolerances exist from the first bar (still causal)."""
    column = f"atr_{n}"
    atr: np.ndarray
    if given is not None:
        atr = np.array(given, dtype=np.float64)  # a copy: warm-up rows are filled below
    elif column in df.columns and df[column].dtype.is_numeric():
        atr = df[column].cast(pl.Float64).to_numpy().astype(np.float64, copy=True)
    else:
        atr = indicators.atr(c.high, c.low, c.close, n)
    tr = true_range(c)
    running = np.cumsum(tr) / np.arange(1, len(tr) + 1)
    missing = ~np.isfinite(atr)
    atr[missing] = running[missing]
    return atr
