"""Instants given by people (options, config files, manifests) and the candles between them.

One reading everywhere: ISO 8601 dates or timestamps, ``Z`` accepted for UTC, no offset read
as UTC (the project's data is UTC throughout). A period is ``[start, end)`` so consecutive
periods never share a bar.
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from models.errors import ConfigError


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
