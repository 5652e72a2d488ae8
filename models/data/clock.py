"""One clock per symbol: candles must sit on the symbol's bar interval and not in the future.

The learned ensemble counts bars (its outcome delay, "each bar learned once") and the state
resolves a prediction ``h`` stored bars later, so candles on another clock (minute candles
sent for an hourly symbol) or dated ahead of time would make those counts lie. Exchange
outages leave gaps, so a step of several whole intervals is allowed; anything else is
refused with the row and the reason.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from models.data.intervals import format_interval
from models.data.times import epoch_us_array
from models.data.times import iso_us as _iso
from models.errors import DataValidationError


def check_clock(frame: pl.DataFrame, step_us: int, now_us: int, *, closed: bool) -> None:
    """Raise :class:`DataValidationError` (row, ``timestamp``) unless every step between
    consecutive candles is a whole number of ``step_us`` intervals and the newest candle
    opened no later than one interval after ``now_us``; with ``closed``, every candle must
    also have closed by ``now_us`` (what is stored as history must be final)."""
    stamps = epoch_us_array(frame["timestamp"]).astype(np.int64)
    if stamps.size == 0:
        return
    steps = np.diff(stamps)
    off = np.flatnonzero((steps <= 0) | (steps % step_us != 0))
    if off.size:
        row = int(off[0]) + 1
        raise DataValidationError(
            f"candles are {format_interval_us(int(steps[off[0]]))} apart here; this symbol's "
            f"bars are {format_interval_us(step_us)} (or whole multiples of it, at a gap)",
            row=row,
            column="timestamp",
        )
    newest = int(stamps[-1])
    if newest > now_us + step_us:
        raise DataValidationError(
            f"{_iso(newest)} is in the future (now {_iso(now_us)})",
            row=stamps.size - 1,
            column="timestamp",
        )
    if closed and newest + step_us > now_us:
        raise DataValidationError(
            f"the bar opened at {_iso(newest)} has not closed yet (it closes at "
            f"{_iso(newest + step_us)}); only closed bars are stored",
            row=stamps.size - 1,
            column="timestamp",
        )


def check_continues_clock(first_us: int, last_stored_us: int | None, step_us: int) -> None:
    """Raise unless ``first_us`` follows the stored ``last_stored_us`` by whole intervals."""
    if last_stored_us is None or first_us <= last_stored_us:
        return  # no history yet, or an overlap the append itself refuses
    gap = first_us - last_stored_us
    if gap % step_us:
        raise DataValidationError(
            f"the first candle is {format_interval_us(gap)} after the last stored one; "
            f"this symbol's bars are {format_interval_us(step_us)}",
            row=0,
            column="timestamp",
        )


def format_interval_us(step_us: int) -> str:
    """``3600000000`` -> ``"1h"`` (microseconds as an interval)."""
    return format_interval(timedelta(microseconds=step_us))
