"""Stored candle history per symbol: append-only, strictly increasing timestamps.

Timestamps are kept as integer microseconds since the epoch (UTC), the same unit as the
project's candle frames, so a round trip through the store is exact.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import polars as pl

from models.errors import DataValidationError

CANDLE_COLUMNS: tuple[str, ...] = ("timestamp", "open", "high", "low", "close", "volume")
_TS_DTYPE = pl.Datetime("us", "UTC")


def frame_to_rows(symbol: str, frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Rows ``(symbol, ts_us, open, high, low, close, volume)`` of a candle frame."""
    missing = [c for c in CANDLE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError(f"missing columns {missing}", column=missing[0])
    ts = frame["timestamp"].cast(_TS_DTYPE).dt.epoch("us")
    values = frame.select(CANDLE_COLUMNS[1:]).cast(pl.Float64)
    return [(symbol, t, *row) for t, row in zip(ts.to_list(), values.iter_rows(), strict=True)]


def rows_to_frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """The candle frame of ``(ts_us, open, high, low, close, volume)`` rows, oldest first."""
    schema = {"timestamp": pl.Int64, **{c: pl.Float64 for c in CANDLE_COLUMNS[1:]}}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    stamp = pl.from_epoch("timestamp", time_unit="us").dt.replace_time_zone("UTC")
    return frame.with_columns(stamp)


def last_timestamp(conn: sqlite3.Connection, symbol: str) -> int | None:
    """Microsecond timestamp of the newest stored candle of ``symbol`` (None if none)."""
    row = conn.execute("SELECT MAX(ts) FROM candles WHERE symbol = ?", (symbol,)).fetchone()
    newest: int | None = row[0]
    return newest


def check_continues(rows: list[tuple[Any, ...]], last_ts: int | None) -> None:
    """Reject rows that are unsorted, duplicated, or not after the stored history."""
    for i in range(1, len(rows)):
        if rows[i][1] <= rows[i - 1][1]:
            kind = "duplicate" if rows[i][1] == rows[i - 1][1] else "unsorted"
            raise DataValidationError(
                f"{kind} timestamp: candles must be strictly increasing",
                row=i,
                column="timestamp",
            )
    if rows and last_ts is not None and rows[0][1] <= last_ts:
        stored = pl.Series([last_ts]).cast(pl.Datetime("us", "UTC"))[0]
        raise DataValidationError(
            f"candles must continue after the last stored timestamp {stored.isoformat()} "
            "(duplicates are rejected)",
            row=0,
            column="timestamp",
        )


def insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], retain: int | None) -> None:
    """Insert ``rows`` (inside the caller's transaction) and trim to the newest ``retain``."""
    conn.executemany("INSERT INTO candles VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    if retain is not None and rows:
        symbol = rows[0][0]
        conn.execute(
            "DELETE FROM candles WHERE symbol = ? AND ts < ("
            "SELECT ts FROM candles WHERE symbol = ? ORDER BY ts DESC LIMIT 1 OFFSET ?)",
            (symbol, symbol, retain - 1),
        )


def read(
    conn: sqlite3.Connection, symbol: str, limit: int | None, until: int | None = None
) -> pl.DataFrame:
    """The newest ``limit`` candles of ``symbol`` (all when None) opened at or before
    ``until`` (microseconds; None: the newest stored), oldest first."""
    sql = "SELECT ts, open, high, low, close, volume FROM candles WHERE symbol = ?"
    params: tuple[str | int, ...] = (symbol,)
    if until is not None:
        sql += " AND ts <= ?"
        params = (*params, until)
    sql += " ORDER BY ts DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params = (*params, limit)
    rows = conn.execute(sql, params).fetchall()
    rows.reverse()
    return rows_to_frame(rows)


def symbols(conn: sqlite3.Connection) -> dict[str, int]:
    """Stored symbols and how many candles each has."""
    rows = conn.execute("SELECT symbol, COUNT(*) FROM candles GROUP BY symbol ORDER BY symbol")
    return dict(rows.fetchall())
