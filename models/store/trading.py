"""The trading books in the state's SQLite file: fills, equity history and the desk.

Tables (created on open; additive, so older files simply gain them):

- ``trading_fills``: every fill of every book, numbered per book (``seq``) in the order
  they happened; a closing fill carries its round trip's P&L and net return;
- ``trading_equity``: each book after every bar it stepped (equity, cash, exposure,
  turnover, buy-and-hold), one row per (book, bar).

Both stay bounded like the rest of the state: the newest ``retain`` rows per book are kept
(the store passes its ``retain_bars`` for equity rows, ``retain_predictions`` for fills).

The desk itself (model, certificate, positions, cash, pending outcomes) is one JSON value
in the ``state`` table, written in the same transaction as the step's rows by the caller,
so a step is stored whole or not at all: after a crash the next call steps the same bar
again from the same state, and the primary keys refuse a bar stored twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.trading.book import EquityPoint, Fill

SCHEMA = """
CREATE TABLE IF NOT EXISTS trading_fills (
    book TEXT NOT NULL,
    seq INTEGER NOT NULL,
    bar_ms INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    action TEXT NOT NULL,
    quantity REAL NOT NULL,
    price REAL NOT NULL,
    fee REAL NOT NULL,
    reason TEXT NOT NULL,
    pnl REAL,
    net_return_bps REAL,
    opened_ms INTEGER,
    PRIMARY KEY (book, seq)
);
CREATE TABLE IF NOT EXISTS trading_equity (
    book TEXT NOT NULL,
    bar_ms INTEGER NOT NULL,
    equity REAL NOT NULL,
    cash REAL NOT NULL,
    gross REAL NOT NULL,
    net REAL NOT NULL,
    traded REAL NOT NULL,
    benchmark REAL,
    PRIMARY KEY (book, bar_ms)
) WITHOUT ROWID
"""

_FILL_COLUMNS = (
    "book, seq, bar_ms, symbol, action, quantity, price, fee, reason, pnl, net_return_bps, "
    "opened_ms"
)
_EQUITY_COLUMNS = "bar_ms, equity, cash, gross, net, traded, benchmark"


def create_tables(conn: sqlite3.Connection) -> None:
    """The trading tables (inside the caller's transaction)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def insert_step(
    conn: sqlite3.Connection, fills: Sequence[Fill], equity: dict[str, EquityPoint]
) -> None:
    """One step's fills and equity points (inside the caller's transaction)."""
    for book, point in sorted(equity.items()):
        conn.execute(
            f"INSERT INTO trading_equity (book, {_EQUITY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (book, point.bar_ms, point.equity, point.cash, point.gross, point.net, point.traded,
             point.benchmark),
        )  # fmt: skip
    for fill in fills:
        row = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM trading_fills WHERE book = ?", (fill.book,)
        ).fetchone()
        conn.execute(
            f"INSERT INTO trading_fills ({_FILL_COLUMNS}) VALUES ({', '.join('?' * 12)})",
            (fill.book, int(row[0]) + 1, fill.bar_ms, fill.symbol, fill.action, fill.quantity,
             fill.price, fill.fee, fill.reason, fill.pnl, fill.net_return_bps, fill.opened_ms),
        )  # fmt: skip


def trim(
    conn: sqlite3.Connection, books: Sequence[str], equity: int | None, fills: int | None
) -> None:
    """Keep the newest ``equity`` equity rows and ``fills`` fills of each book."""
    for book in books:
        if equity is not None:
            conn.execute(
                "DELETE FROM trading_equity WHERE book = ? AND bar_ms < (SELECT bar_ms FROM "
                "trading_equity WHERE book = ? ORDER BY bar_ms DESC LIMIT 1 OFFSET ?)",
                (book, book, equity - 1),
            )
        if fills is not None:
            conn.execute(
                "DELETE FROM trading_fills WHERE book = ? AND seq <= (SELECT MAX(seq) FROM "
                "trading_fills WHERE book = ?) - ?",
                (book, book, fills),
            )


def next_bar(conn: sqlite3.Connection, symbol: str, after_us: int | None) -> int | None:
    """Open time (µs) of the first stored candle of ``symbol`` after ``after_us``."""
    row = conn.execute(
        "SELECT MIN(ts) FROM candles WHERE symbol = ? AND ts > ?",
        (symbol, -(2**62) if after_us is None else after_us),
    ).fetchone()
    found: int | None = row[0]
    return found


def first_prediction(conn: sqlite3.Connection, symbol: str) -> int | None:
    """Bar (µs) of the oldest stored prediction of ``symbol``."""
    row = conn.execute("SELECT MIN(as_of) FROM predictions WHERE symbol = ?", (symbol,)).fetchone()
    found: int | None = row[0]
    return found


def closes(conn: sqlite3.Connection, symbol: str, until_us: int, count: int) -> np.ndarray:
    """The newest ``count`` stored closes of ``symbol`` up to ``until_us``, oldest first."""
    rows = conn.execute(
        "SELECT close FROM candles WHERE symbol = ? AND ts <= ? ORDER BY ts DESC LIMIT ?",
        (symbol, until_us, count),
    ).fetchall()
    return np.array([r[0] for r in reversed(rows)], dtype=np.float64)


def fills(
    conn: sqlite3.Connection, book: str, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The newest ``limit`` fills of ``book`` numbered below ``before`` (None: the newest),
    newest first, each with its ``seq`` (page on with ``before`` = the last one's)."""
    rows = conn.execute(
        f"SELECT {_FILL_COLUMNS} FROM trading_fills WHERE book = ? AND seq < ? "
        "ORDER BY seq DESC LIMIT ?",
        (book, 2**62 if before is None else before, limit),
    ).fetchall()
    names = [c.strip() for c in _FILL_COLUMNS.split(",")]
    return [dict(zip(names, r, strict=True)) for r in rows]


def fill_objects(conn: sqlite3.Connection, book: str) -> list[Fill]:
    """Every fill of ``book``, oldest first (the replay comparison, the trade count)."""
    rows = conn.execute(
        f"SELECT {_FILL_COLUMNS} FROM trading_fills WHERE book = ? ORDER BY seq", (book,)
    ).fetchall()
    return [Fill(r[0], *r[2:]) for r in rows]


def closed_trades(conn: sqlite3.Connection, book: str) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM trading_fills WHERE book = ? AND pnl IS NOT NULL", (book,)
    ).fetchone()
    return int(row[0])


def history(conn: sqlite3.Connection, book: str, limit: int | None = None) -> list[EquityPoint]:
    """The newest ``limit`` equity points of ``book`` (all when None), oldest first."""
    sql = f"SELECT {_EQUITY_COLUMNS} FROM trading_equity WHERE book = ? ORDER BY bar_ms DESC"
    params: tuple[Any, ...] = (book,)
    if limit is not None:
        sql += " LIMIT ?"
        params = (book, limit)
    rows = conn.execute(sql, params).fetchall()
    rows.reverse()
    return [EquityPoint(*r) for r in rows]


def clear(conn: sqlite3.Connection, book: str) -> None:
    """Forget ``book``'s fills and equity history (a reset; inside the caller's transaction)."""
    conn.execute("DELETE FROM trading_fills WHERE book = ?", (book,))
    conn.execute("DELETE FROM trading_equity WHERE book = ?", (book,))
