"""Which bars may be evaluated: never one a model was trained or validated on.

A trained artifact records its data window (``manifest["data_window"]``, written by
:func:`models.training.dataset.prepare_symbol_data`): for each of ``train`` / ``val`` /
``test`` the first input bar, the last input bar and ``label_end``, the last bar any of its
labels looked at. Everything up to the validation ``label_end`` has shaped the weights or
the choice of epoch, so the first evaluated bar must come strictly after it. (Inputs may
reach back into that window, as they do live; only the predicted bars and their outcomes
must be new.)

Default period of a symbol: from the later of (a) one year before its last candle and
(b) the bar after every evaluated model's validation ``label_end``, to its last candle.
An explicit ``start`` inside any model's window is refused with a message naming the
model, its window and the requested start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl

from models.data.times import epoch_us, parse_utc
from models.errors import ConfigError

DEFAULT_LOOKBACK = timedelta(days=365)


@dataclass(frozen=True)
class ModelWindow:
    """The data a trained model has seen: ``[first_bar, seen_until]`` (UTC)."""

    symbol: str
    model: str
    version: str
    first_bar: datetime | None
    seen_until: datetime
    trained_until: datetime | None = None
    """The last bar the training part's labels looked at (after it: bars the model never
    trained on, though its validation part chose its epoch)."""

    def describe(self) -> str:
        first = self.first_bar.isoformat() if self.first_bar else "?"
        return (
            f"model {self.model!r} {self.version} of {self.symbol} was trained and validated "
            f"on bars {first} .. {self.seen_until.isoformat()}"
        )


def model_window(symbol: str, model: str, version: str, manifest: Mapping[str, Any]) -> ModelWindow:
    """The :class:`ModelWindow` recorded in an artifact manifest (validation part, else train)."""
    window = manifest.get("data_window") or {}
    seen = None
    for part in ("val", "train"):
        seen = (window.get(part) or {}).get("label_end")
        if seen:
            break
    if not seen:
        raise ConfigError(
            f"model {model!r} {version} of {symbol}: its manifest records no training window "
            "(data_window.val.label_end / data_window.train.label_end); it cannot be evaluated "
            "without knowing which bars it has seen"
        )
    first = (window.get("train") or {}).get("start")
    trained = (window.get("train") or {}).get("label_end")
    return ModelWindow(
        symbol=symbol,
        model=model,
        version=version,
        first_bar=parse_utc(first, "data_window.train.start") if first else None,
        seen_until=parse_utc(seen, "data_window.label_end"),
        trained_until=parse_utc(trained, "data_window.train.label_end") if trained else None,
    )


@dataclass(frozen=True)
class Period:
    """The evaluated rows of one symbol's candles and why they start where they do."""

    symbol: str
    start: datetime
    end: datetime
    rows: np.ndarray
    reason: str


def _as_datetime(value: datetime) -> datetime:
    """A naive time read as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def resolve_period(
    symbol: str,
    timestamps: pl.Series,
    windows: Sequence[ModelWindow],
    start: datetime | None = None,
    end: datetime | None = None,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> Period:
    """The rows ``start <= timestamp < end`` to evaluate; refuses a start inside a window."""
    first_ts, last_ts = _as_datetime(timestamps[0]), _as_datetime(timestamps[-1])
    for w in windows:
        if start is not None and start <= w.seen_until:
            raise ConfigError(
                f"{w.describe()}; the requested start {start.isoformat()} is not after that, "
                f"so it would be scored on data it has seen: use --start after "
                f"{w.seen_until.isoformat()}"
            )
    if start is None:
        start, reason = max(first_ts, last_ts - lookback), "the last year of the data"
        latest = max(windows, key=lambda w: w.seen_until, default=None)
        if latest is not None and latest.seen_until >= start:
            start = latest.seen_until + timedelta(microseconds=1)
            reason = f"after the data {latest.model!r} was trained and validated on"
    else:
        reason = "requested"
    end = end if end is not None else last_ts + timedelta(microseconds=1)
    ts = timestamps.dt.epoch("us").to_numpy()
    lo, hi = (epoch_us(x) for x in (start, end))
    rows = np.flatnonzero((ts >= lo) & (ts < hi))
    if rows.size == 0:
        raise ConfigError(
            f"{symbol}: no candles between {start.isoformat()} and {end.isoformat()} "
            f"(data covers {first_ts.isoformat()} .. {last_ts.isoformat()})"
        )
    return Period(symbol=symbol, start=start, end=end, rows=rows, reason=reason)
