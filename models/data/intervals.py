"""Bar intervals written the way Binance and polars write them (``15m``, ``1h``, ``1d``).

One parser shared by the loader (interval in file names), the gap report, resampling and
the archive downloader, so ``"4h"`` means the same thing everywhere.
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np

from models.errors import ConfigError

_UNITS = {
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_PATTERN = re.compile(r"^([1-9][0-9]*)([smhdw])$")


def is_interval(text: str) -> bool:
    """True when ``text`` looks like an interval (``1h``, ``15m``), e.g. in a file name."""
    return _PATTERN.match(text) is not None


def parse_interval(value: str | timedelta, *, name: str = "interval") -> timedelta:
    """``"4h"`` -> ``timedelta(hours=4)``; a positive timedelta passes through.

    Raises :class:`ConfigError` naming ``name`` for anything else, since an interval is
    always an argument or a setting, never market data.
    """
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ConfigError(f"{name} must be positive, got {value}")
        return value
    match = _PATTERN.match(str(value).strip())
    if match is None:
        raise ConfigError(
            f"{name} {value!r} is not an interval; expected a count and a unit "
            "(s, m, h, d, w) such as '15m', '1h' or '1d'"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_interval(step: timedelta) -> str:
    """Shortest ``<count><unit>`` spelling of ``step`` (``timedelta(hours=4)`` -> ``"4h"``)."""
    micros = step // timedelta(microseconds=1)
    if micros <= 0 or micros % 1_000_000:
        return f"{micros}us"
    seconds = micros // 1_000_000
    for unit in ("w", "d", "h", "m"):
        size = int(_UNITS[unit].total_seconds())
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def bar_step_us(timestamps_us: np.ndarray) -> int:
    """The bar interval of a series of open times (microseconds): the median step, so an
    exchange gap does not change it. Raises :class:`ConfigError` with fewer than 2 bars."""
    ts = np.asarray(timestamps_us, dtype=np.int64)
    if ts.size < 2:
        raise ConfigError(f"timestamps: need at least 2 bars to know the interval, got {ts.size}")
    step = int(np.median(np.diff(ts)))
    if step <= 0:
        raise ConfigError(f"timestamps: must increase, median step is {step} us")
    return step


def bar_index(timestamp_us: int, step_us: int) -> int:
    """The bar number of a candle: its open time in whole intervals since the epoch (the
    learned ensemble's clock: outcomes ``h`` bars apart do not overlap)."""
    return int(timestamp_us) // int(step_us)
