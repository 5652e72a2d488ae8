"""Instants given by people (options, config files, manifests) and the candles between them,
and the project's one set of epoch / ISO conversions.

One reading everywhere: ISO 8601 dates or timestamps, ``Z`` accepted for UTC, no offset read
as UTC (the project's data is UTC throughout). A period is ``[start, end)`` so consecutive
periods never share a bar.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from models.errors import ConfigError

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
HOUR_US = 3_600_000_000
"""Microseconds in an hour (hourly bars, hour-of-day)."""


def parse_utc(value: str | datetime, name: str) -> datetime:
    """An aware datetime from an ISO string or a datetime (naive means UTC).

    Raises :class:`ConfigError` naming ``name`` (the option or field it came from).
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"{name}: not an ISO date or timestamp: {value!r}") from None
    if not isinstance(value, datetime):
        raise ConfigError(f"{name}: expected an ISO date or datetime, got {value!r}")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def restrict_period(
    candles: pl.DataFrame, start: str | datetime | None, end: str | datetime | None
) -> pl.DataFrame:
    """The rows with ``start <= timestamp < end`` (either bound may be None: open)."""
    if start is not None:
        candles = candles.filter(pl.col("timestamp") >= parse_utc(start, "start"))
    if end is not None:
        candles = candles.filter(pl.col("timestamp") < parse_utc(end, "end"))
    return candles


def now_us() -> int:
    """Wall-clock time in microseconds since the epoch (the store's time unit)."""
    return time.time_ns() // 1000


def epoch_us(value: datetime) -> int:
    """Microseconds since the epoch, exactly (integer arithmetic; naive means UTC)."""
    value = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    return (value - _EPOCH) // timedelta(microseconds=1)


def epoch_us_array(stamps: pl.Series) -> np.ndarray:
    """``stamps`` as epoch microseconds (UTC): ``stamps.dt.epoch("us").to_numpy()``.

    A null-free microsecond ``Datetime`` column (every validated candle frame's) is read as
    its physical int64 values, a read-only view: polars' own conversion costs ~65 µs a call
    (a lazy query per Series), which a live 720-bar window paid several times.
    """
    dtype = stamps.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_unit == "us" and not stamps.null_count():
        physical: np.ndarray = stamps.to_numpy().view(np.int64)
        return physical
    converted: np.ndarray = stamps.dt.epoch("us").to_numpy()
    return converted


def iso_us(ts_us: int) -> str:
    """ISO 8601 (UTC) of a microsecond timestamp."""
    return datetime.fromtimestamp(ts_us / 1_000_000, tz=timezone.utc).isoformat()


def iso_ms(ms: int | None) -> str | None:
    """ISO 8601 (UTC) of a millisecond timestamp (None stays None)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()
