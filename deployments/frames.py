"""Candles between JSON and the project's candle frames (polars, UTC microseconds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import polars as pl

from deployments.schemas import CandleIn
from models.data.validation import validate_ohlcv

VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


def _utc(ts: datetime) -> datetime:
    """Naive timestamps are UTC; aware ones are converted to UTC."""
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def candles_to_frame(candles: Sequence[CandleIn]) -> pl.DataFrame:
    """The validated candle frame (``DataValidationError`` names the row and column)."""
    data: dict[str, Any] = {"timestamp": [_utc(c.timestamp) for c in candles]}
    for col in VALUE_COLUMNS:
        data[col] = [getattr(c, col) for c in candles]
    frame = pl.DataFrame(data).with_columns(
        pl.col("timestamp").cast(pl.Datetime("us", "UTC")),
        *(pl.col(c).cast(pl.Float64) for c in VALUE_COLUMNS),
    )
    return validate_ohlcv(frame)


def frame_to_candles(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready candles (ISO 8601 timestamps), oldest first."""
    rows = frame.select("timestamp", *VALUE_COLUMNS).to_dicts()
    for row in rows:
        row["timestamp"] = row["timestamp"].isoformat()
    return rows
