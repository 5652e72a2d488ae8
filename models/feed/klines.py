"""Binance kline rows -> validated closed bars, stopping at the first row that is wrong.

A REST kline row is ``[open_time_ms, "open", "high", "low", "close", "volume",
close_time_ms, ...]`` (12 fields; prices as decimal strings). A row is taken only when it
is well formed (numbers finite, prices > 0, ``high``/``low`` bracketing ``open``/``close``,
volume >= 0), aligned to the interval, later than the previous bar (the exchange may skip
bars of its own downtime, never repeat or reorder them) and closed (``close_time`` before
the exchange's ``now``). Parsing stops at the first bad row: storing the rows after it
would leave a hole, so the feed stores the good prefix and asks again later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

PRICE_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Bar:
    """One closed bar: open time (ms since the epoch, UTC) and OHLCV."""

    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass
class ParsedPage:
    """The good prefix of a page, whether a forming bar was seen, and the first problem."""

    bars: list[Bar] = field(default_factory=list)
    forming: bool = False
    problem: str | None = None


def _number(value: Any, name: str, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"row {index}: {name}: expected a decimal string, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"row {index}: {name}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"row {index}: {name}: {value!r} is not finite")
    return number


def _millis(value: Any, name: str, index: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"row {index}: {name}: expected integer milliseconds, got {value!r}")
    return value


def parse_row(row: Any, index: int, interval_ms: int) -> tuple[Bar, int]:
    """One row -> (bar, close_time_ms); ValueError naming the row and field otherwise."""
    if not isinstance(row, list) or len(row) < 7:
        raise ValueError(f"row {index}: expected a list of at least 7 fields, got {row!r:.80}")
    open_ms = _millis(row[0], "open_time", index)
    close_ms = _millis(row[6], "close_time", index)
    o, h, lo, c, v = (_number(row[i + 1], n, index) for i, n in enumerate(PRICE_FIELDS))
    if min(o, h, lo, c) <= 0:
        raise ValueError(f"row {index}: prices must be > 0")
    if v < 0:
        raise ValueError(f"row {index}: volume: must be >= 0, got {v}")
    if h < max(o, c) or lo > min(o, c):
        raise ValueError(f"row {index}: high/low: do not bracket open and close")
    if open_ms % interval_ms:
        raise ValueError(f"row {index}: open_time: {open_ms} is not aligned to the interval")
    if close_ms != open_ms + interval_ms - 1:
        raise ValueError(f"row {index}: close_time: {close_ms} is not open_time + interval - 1")
    return Bar(open_ms, o, h, lo, c, v), close_ms


def parse_page(rows: Any, interval_ms: int, after_ms: int | None, now_ms: int) -> ParsedPage:
    """The closed, valid bars of a klines answer later than ``after_ms``, in order."""
    page = ParsedPage()
    if not isinstance(rows, list):
        page.problem = f"body: expected a JSON list of klines, got {type(rows).__name__}"
        return page
    previous = after_ms
    for index, row in enumerate(rows):
        try:
            bar, close_ms = parse_row(row, index, interval_ms)
        except ValueError as exc:
            page.problem = f"malformed kline {exc}"
            return page
        if previous is not None and bar.open_ms <= previous:
            page.problem = (
                f"out-of-order kline row {index}: open_time {bar.open_ms} is not after {previous}"
            )
            return page
        if close_ms >= now_ms:
            page.forming = True  # the bar still forming: never stored
            return page
        page.bars.append(bar)
        previous = bar.open_ms
    return page


def bars_frame(bars: list[Bar]) -> pl.DataFrame:
    """The project's candle frame (``timestamp`` µs UTC, OHLCV Float64) of ``bars``."""
    stamps = pl.Series("timestamp", [b.open_ms * 1000 for b in bars], dtype=pl.Int64)
    frame = pl.DataFrame(
        {name: [float(getattr(b, name)) for b in bars] for name in PRICE_FIELDS},
        schema=dict.fromkeys(PRICE_FIELDS, pl.Float64),
    )
    stamp = stamps.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return frame.insert_column(0, stamp)
