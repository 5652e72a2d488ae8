"""A leader's candles carried beside another symbol's window, as ``leader_*`` columns.

A predictor whose registry entry names a ``leader`` reads that symbol's candles at the same
open times; the service (:mod:`models.serving.pipeline`) attaches them to every other
symbol's window, the predictor reads them back. Any kind may use it, so it lives apart from
the one feature set (the tree features) that does today.
"""

from __future__ import annotations

import polars as pl

from models.data.validation import OHLCV_COLUMNS
from models.errors import DataValidationError

LEADER_COLUMNS: tuple[str, ...] = tuple(f"leader_{c}" for c in OHLCV_COLUMNS[1:])
"""Columns a window may carry with the leader's candle at the same open time."""


def leader_candles(window: pl.DataFrame) -> pl.DataFrame | None:
    """The leader's candles carried by ``window``'s ``leader_*`` columns (None without them)."""
    present = [c for c in LEADER_COLUMNS if c in window.columns]
    if not present:
        return None
    if len(present) != len(LEADER_COLUMNS):
        missing = sorted(set(LEADER_COLUMNS) - set(present))
        raise DataValidationError("leader columns come as a set", column=missing[0])
    # built from the columns themselves: select / rename / drop_nulls are a lazy query
    # each (~0.7 ms together), paid for every window the lgbm member reads
    columns = [window.get_column("timestamp")]
    columns += [window.get_column(f"leader_{c}").alias(c) for c in OHLCV_COLUMNS[1:]]
    candles = pl.DataFrame(columns)
    return candles.drop_nulls() if any(c.null_count() for c in columns) else candles


def attach_leader(candles: pl.DataFrame, leader: pl.DataFrame) -> pl.DataFrame:
    """``candles`` with the leader's OHLCV at the same open time as ``leader_*`` columns.

    Both bars close at the same moment, so the leader's bar is known when the symbol's is.
    Rows where the leader has no bar get nulls (their leader features are NaN).
    """
    renamed = {c: f"leader_{c}" for c in OHLCV_COLUMNS[1:]}
    right = leader.select(list(OHLCV_COLUMNS)).rename(renamed)
    base = candles.drop([c for c in LEADER_COLUMNS if c in candles.columns])
    return base.join(right, on="timestamp", how="left", maintain_order="left")
