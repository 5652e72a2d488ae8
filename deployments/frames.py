"""Candles between JSON and the project's candle frames (polars, UTC microseconds).

Validation has a fast path: after the request schema (finite numbers, prices > 0, volume
>= 0), what is left of ``models.data.validate_ohlcv``'s rules (high/low against the body,
strictly increasing timestamps) is checked with three numpy comparisons. Only a request
that fails them goes through ``validate_ohlcv``, which stays the authority: it names the
row, column and reason, and whatever it accepts is accepted. A property test keeps the
fast path at least as strict as ``validate_ohlcv`` (tests/deployments/test_frames.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl

from deployments.schemas import CandleIn
from models.data.validation import EARLIEST, LATEST, validate_ohlcv

VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def epoch_us(ts: datetime) -> int:
    """Exact microseconds since the epoch; a naive timestamp is UTC."""
    aware = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts
    return (aware - _EPOCH) // _MICROSECOND


_EARLIEST_US = epoch_us(EARLIEST)
_LATEST_US = epoch_us(LATEST)


def plausible(ts: np.ndarray, values: dict[str, np.ndarray]) -> bool:
    """True when the arrays pass every rule of ``validate_ohlcv`` (cheaply, no message)."""
    o, h, lo, c, v = (values[k] for k in VALUE_COLUMNS)
    prices = np.stack([o, h, lo, c])
    return bool(
        np.isfinite(prices).all()
        and np.isfinite(v).all()
        and (prices > 0).all()
        and (v >= 0).all()
        and (h >= np.maximum(o, c)).all()
        and (lo <= np.minimum(o, c)).all()
        and (np.diff(ts) > 0).all()
        and (ts >= _EARLIEST_US).all()
        and (ts < _LATEST_US).all()
    )


def arrays_to_frame(ts: np.ndarray, values: dict[str, np.ndarray]) -> pl.DataFrame:
    """The candle frame of microsecond timestamps and float64 columns, validated."""
    stamp = pl.Series("timestamp", ts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
    frame = pl.DataFrame([stamp, *(pl.Series(k, values[k], dtype=pl.Float64) for k in values)])
    return frame if plausible(ts, values) else validate_ohlcv(frame)


def candles_to_frame(candles: Sequence[CandleIn]) -> pl.DataFrame:
    """The validated candle frame (``DataValidationError`` names the row and column)."""
    n = len(candles)
    ts = np.fromiter((epoch_us(c.timestamp) for c in candles), dtype=np.int64, count=n)
    values = {
        col: np.fromiter((getattr(c, col) for c in candles), dtype=np.float64, count=n)
        for col in VALUE_COLUMNS
    }
    return arrays_to_frame(ts, values)


def frame_to_candles(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready candles (ISO 8601 timestamps), oldest first."""
    rows = frame.select("timestamp", *VALUE_COLUMNS).to_dicts()
    for row in rows:
        row["timestamp"] = row["timestamp"].isoformat()
    return rows
