"""Checks that a candle frame can be trusted, and a report of the holes in it.

``validate_ohlcv`` raises :class:`~models.errors.DataValidationError` on the first problem
it finds, naming the file, the row and the column, so a bad download is fixed at its
source instead of surfacing later as a NaN feature. Rows are counted from 0 over the data
rows (a header line is not a row), the same numbering as ``df.row(i)``.

Out-of-order timestamps are an error, not something the loader quietly sorts: a shuffled
or carelessly concatenated file usually means duplicated or mixed-up data, and sorting it
would hide that. ``gap_report`` is different: missing bars are a fact of exchange data
(outages), so it describes them and never fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NoReturn

import numpy as np
import polars as pl

from models.data.intervals import format_interval, parse_interval
from models.data.times import epoch_us_array
from models.errors import DataValidationError

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
VALUE_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
OHLCV_COLUMNS: tuple[str, ...] = ("timestamp", *VALUE_COLUMNS)
"""The columns of a candle frame, in order: the one definition every module imports."""


def _first_true(mask: pl.Series) -> int | None:
    """Index of the first True in ``mask`` (nulls count as False), or None."""
    hits = mask.fill_null(False).arg_true()
    return int(hits[0]) if hits.len() else None


def _fail(reason: str, source: str | None, row: int | None, column: str | None) -> NoReturn:
    raise DataValidationError(reason, source=source, row=row, column=column)


def check_columns(df: pl.DataFrame, source: str | None = None) -> None:
    """Raise naming the first missing candle column and the columns that are there."""
    for col in OHLCV_COLUMNS:
        if col not in df.columns:
            found = ", ".join(df.columns) or "none"
            _fail(f"missing column (found: {found})", source, None, col)


def numeric_column(
    df: pl.DataFrame, name: str, *, missing: str = "required column is missing"
) -> np.ndarray:
    """``df[name]`` as float64 (nulls as NaN), after checking it is there and numeric.

    The shared first step of every module that computes on candle columns (indicators,
    SMC, regimes); what each then requires of the values (no nulls, finite, positive) is
    its own rule and stays with it. ``missing`` is the reason given for an absent column.
    """
    if name not in df.columns:
        raise DataValidationError(missing, column=name)
    series = df[name]
    if not series.dtype.is_numeric():
        raise DataValidationError(f"must be numeric, got {series.dtype}", column=name)
    values: np.ndarray = series.cast(pl.Float64).to_numpy()
    return values


def _check_values(df: pl.DataFrame, col: str, source: str | None) -> None:
    """Numeric, present and finite: what every later arithmetic check relies on."""
    series = df[col]
    if not series.dtype.is_numeric():
        as_float = series.cast(pl.Float64, strict=False)
        row = _first_true(as_float.is_null() & series.is_not_null())
        if row is not None:
            _fail(f"non-numeric value {series[row]!r}", source, row, col)
        _fail(f"dtype {series.dtype} is not numeric", source, None, col)
    row = _first_true(series.is_null())
    if row is not None:
        _fail("missing value", source, row, col)
    if series.dtype.is_float():
        row = _first_true(~series.is_finite())
        if row is not None:
            _fail(f"non-finite value {series[row]}", source, row, col)


def _check_prices(df: pl.DataFrame, source: str | None) -> None:
    for col in PRICE_COLUMNS:
        row = _first_true(df[col] <= 0)
        if row is not None:
            _fail(f"price must be > 0, got {df[col][row]}", source, row, col)
    row = _first_true(df["volume"] < 0)
    if row is not None:
        _fail(f"volume must be >= 0, got {df['volume'][row]}", source, row, "volume")
    body_top = pl.max_horizontal(pl.col("open"), pl.col("close"))
    body_bottom = pl.min_horizontal(pl.col("open"), pl.col("close"))
    flags = df.select(
        (pl.col("high") < body_top).alias("high"),
        (pl.col("low") > body_bottom).alias("low"),
        body_top.alias("top"),
        body_bottom.alias("bottom"),
    )
    row = _first_true(flags["high"])
    if row is not None:
        top = flags["top"][row]
        _fail(f"high {df['high'][row]} is below max(open, close) = {top}", source, row, "high")
    row = _first_true(flags["low"])
    if row is not None:
        bottom = flags["bottom"][row]
        _fail(f"low {df['low'][row]} is above min(open, close) = {bottom}", source, row, "low")


EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
"""Timestamps outside ``[EARLIEST, LATEST)`` are corrupt: a damaged year such as ``-021``
parses, but Python cannot even represent it."""


def _check_timestamps(df: pl.DataFrame, source: str | None) -> None:
    ts = df["timestamp"]
    if not isinstance(ts.dtype, pl.Datetime):
        _fail(f"dtype {ts.dtype} is not a datetime", source, None, "timestamp")
    if ts.dtype.time_zone != "UTC":
        reason = f"time zone {ts.dtype.time_zone!r} is not 'UTC' (the loader normalises to UTC)"
        _fail(reason, source, None, "timestamp")
    row = _first_true(ts.is_null())
    if row is not None:
        _fail("missing timestamp", source, row, "timestamp")
    row = _first_true((ts < EARLIEST) | (ts >= LATEST))
    if row is not None:
        shown = ts.slice(row, 1).dt.to_string("%Y-%m-%dT%H:%M:%S")[0]
        reason = f"timestamp {shown} is outside {EARLIEST.year}..{LATEST.year - 1}"
        _fail(reason, source, row, "timestamp")
    row = _first_true(ts.diff() <= timedelta(0))
    if row is not None:
        here, before = ts[row], ts[row - 1]
        if here == before:
            reason = f"duplicate timestamp {here.isoformat()} (same as row {row - 1})"
        else:
            reason = (
                f"timestamp {here.isoformat()} is earlier than row {row - 1} "
                f"({before.isoformat()}); rows must be in ascending time order"
            )
        _fail(reason, source, row, "timestamp")


def validate_ohlcv(df: pl.DataFrame, source: str | None = None) -> pl.DataFrame:
    """Return ``df`` unchanged if it is a usable candle frame, else raise.

    Checks, in this order: required columns; numeric, present and finite values; prices
    > 0 and volume >= 0; ``high >= max(open, close)`` and ``low <= min(open, close)``;
    UTC timestamps, present, strictly increasing (duplicates and out-of-order rows are
    errors). ``source`` (usually the file) is named in the message.
    """
    check_columns(df, source)
    if not _passes_all(df):
        _detailed_checks(df, source)
    return df


def _detailed_checks(df: pl.DataFrame, source: str | None) -> None:
    """Every check in order, naming the first failure (row and column)."""
    for col in VALUE_COLUMNS:
        _check_values(df, col, source)
    _check_prices(df, source)
    _check_timestamps(df, source)


_EARLIEST_US = int(EARLIEST.timestamp()) * 1_000_000
_LATEST_US = int(LATEST.timestamp()) * 1_000_000


def _passes_all(df: pl.DataFrame) -> bool:
    """Whether every check of :func:`validate_ohlcv` passes, in one vectorised pass: the
    common case (a live bar, a clean file) costs a few numpy comparisons instead of dozens
    of small polars queries. False sends the frame through :func:`_detailed_checks`, which
    are the authority (and name the first failure); a frame they would refuse never
    passes here."""
    ts = df["timestamp"]
    dtypes_ok = all(df[c].dtype.is_numeric() for c in VALUE_COLUMNS)
    if not dtypes_ok or df.height == 0 or not isinstance(ts.dtype, pl.Datetime):
        return False
    if ts.dtype.time_zone != "UTC" or ts.null_count():
        return False
    # nulls in a value column become NaN here, so the finiteness test covers them too
    o, h, low, c, v = (df[col].cast(pl.Float64).to_numpy() for col in VALUE_COLUMNS)
    prices = np.stack([o, h, low, c])
    t = epoch_us_array(ts)
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(prices).all()
            and np.isfinite(v).all()
            and (prices > 0).all()
            and (v >= 0).all()
            and (h >= np.maximum(o, c)).all()
            and (low <= np.minimum(o, c)).all()
            and int(t.min()) >= _EARLIEST_US
            and int(t.max()) < _LATEST_US
            and (np.diff(t) > 0).all()
        )
    return bool(ok)


@dataclass(frozen=True)
class Gap:
    """Bars missing between ``previous`` and ``resumes`` (the first bar after the hole)."""

    previous: datetime
    resumes: datetime
    step: timedelta
    missing_bars: int

    @property
    def hours(self) -> float:
        """Length of the step across the gap, in hours."""
        return self.step.total_seconds() / 3600.0


@dataclass(frozen=True)
class GapReport:
    """Where a frame has fewer bars than its interval implies; empty ``gaps`` means none."""

    interval: timedelta | None
    bars: int
    start: datetime | None
    end: datetime | None
    gaps: tuple[Gap, ...]

    @property
    def missing_bars(self) -> int:
        return sum(g.missing_bars for g in self.gaps)

    def format(self, name: str = "data") -> str:
        """Human-readable text: one summary line, then one line per gap."""
        if self.interval is None or self.start is None or self.end is None:
            return f"{name}: {self.bars} bars, too few to infer an interval"
        head = (
            f"{name}: {self.bars} bars of {format_interval(self.interval)} from "
            f"{self.start.isoformat()} to {self.end.isoformat()}, {len(self.gaps)} gaps, "
            f"{self.missing_bars} missing bars"
        )
        lines = [head]
        for gap in self.gaps:
            lines.append(
                f"  gap before {gap.resumes.isoformat()}: step {gap.hours:g} h, "
                f"{gap.missing_bars} missing bars"
            )
        return "\n".join(lines)


def modal_step(steps: np.ndarray) -> int | None:
    """Most common positive step between bars (ties go to the smallest), None without any.

    The usual bar length of real data, where gaps make the mean and even the minimum lie.
    """
    if steps.size and steps[0] > 0 and bool((steps == steps[0]).all()):
        return int(steps[0])  # a gap-free window: no sort needed
    positive = steps[steps > 0]
    if positive.size == 0:
        return None
    values, counts = np.unique(positive, return_counts=True)
    return int(values[np.argmax(counts)])


def gap_report(df: pl.DataFrame, interval: str | timedelta | None = None) -> GapReport:
    """Describe the missing bars in ``df`` (expected step: ``interval`` or the modal step).

    A gap is a step longer than the interval; it reports the bar that resumes after it and
    ``ceil(step / interval) - 1`` missing bars. Never raises on the data itself: holes are
    normal in exchange data and the caller decides what to do about them.
    """
    dtype = df["timestamp"].dtype
    zone = dtype.time_zone if isinstance(dtype, pl.Datetime) else None
    ts = df["timestamp"].cast(pl.Datetime("us", zone))
    micros = ts.to_physical().to_numpy()
    steps = np.diff(micros)
    if interval is not None:
        expected: int | None = parse_interval(interval) // timedelta(microseconds=1)
    else:
        expected = modal_step(steps)
    if df.height == 0 or expected is None:
        start = ts[0] if df.height else None
        end = ts[-1] if df.height else None
        step = None if expected is None else timedelta(microseconds=expected)
        return GapReport(step, df.height, start, end, ())
    gaps = []
    for i in np.flatnonzero(steps > expected):
        step_us = int(steps[i])
        missing = -(-step_us // expected) - 1
        gaps.append(Gap(ts[int(i)], ts[int(i) + 1], timedelta(microseconds=step_us), missing))
    return GapReport(timedelta(microseconds=expected), df.height, ts[0], ts[-1], tuple(gaps))
