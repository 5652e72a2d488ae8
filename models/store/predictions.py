"""Stored predictions: pending until their horizon has passed, then resolved with an outcome.

A prediction keeps the close it was made at (``entry_close``) so its realized log return
can be computed from stored closes even when the window it was made on never entered the
stored history. The ensemble's own record of it (``record``) and what the answer said
beyond it (``answer``: per-model entries, expert weights, signal; None for rows stored
before schema version 2) are opaque JSON here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoredPrediction:
    """One prediction as stored; ``realized_return`` is None while it is pending."""

    id: str
    symbol: str
    as_of: int
    horizon_bars: int
    entry_close: float
    record: Mapping[str, Any] = field(default_factory=dict)
    created_at: int = 0
    resolved_at: int | None = None
    realized_return: float | None = None
    answer: Mapping[str, Any] | None = None

    @property
    def pending(self) -> bool:
        return self.resolved_at is None


_COLUMNS = (
    "id, symbol, as_of, horizon_bars, entry_close, record, created_at, resolved_at, "
    "realized_return, answer"
)


def _from_row(row: tuple[Any, ...]) -> StoredPrediction:
    return StoredPrediction(
        id=row[0],
        symbol=row[1],
        as_of=row[2],
        horizon_bars=row[3],
        entry_close=row[4],
        record=json.loads(row[5]),
        created_at=row[6],
        resolved_at=row[7],
        realized_return=row[8],
        answer=None if row[9] is None else json.loads(row[9]),
    )


def insert(conn: sqlite3.Connection, predictions: list[StoredPrediction]) -> list[str]:
    """Insert new pending predictions (inside the caller's transaction), at most one per
    (symbol, bar): one made for a bar that already has a prediction is skipped, so the
    signal of a bar is made once and then served from the store. Returns the ids inserted."""
    inserted = []
    for p in predictions:
        cur = conn.execute(
            f"INSERT INTO predictions ({_COLUMNS}) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ? WHERE NOT EXISTS ("
            "SELECT 1 FROM predictions WHERE symbol = ? AND as_of = ?)",
            (
                p.id,
                p.symbol,
                p.as_of,
                p.horizon_bars,
                p.entry_close,
                json.dumps(p.record, allow_nan=False),
                p.created_at,
                None if p.answer is None else json.dumps(p.answer, allow_nan=False),
                p.symbol,
                p.as_of,
            ),
        )
        if cur.rowcount == 1:
            inserted.append(p.id)
    return inserted


def at_bar(conn: sqlite3.Connection, symbol: str, as_of: int) -> StoredPrediction | None:
    """The prediction stored for ``symbol`` at bar ``as_of`` (the first one), if any."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM predictions WHERE symbol = ? AND as_of = ? "
        "ORDER BY created_at LIMIT 1",
        (symbol, as_of),
    ).fetchone()
    return None if row is None else _from_row(row)


def get(conn: sqlite3.Connection, prediction_id: str) -> StoredPrediction | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM predictions WHERE id = ?", (prediction_id,)
    ).fetchone()
    return None if row is None else _from_row(row)


def due(conn: sqlite3.Connection, symbol: str) -> list[tuple[StoredPrediction, float]]:
    """Pending predictions of ``symbol`` whose horizon the stored candles reach, oldest
    first, with the close ``horizon_bars`` stored candles after their bar. Only rows made
    before the newest stored candle are looked at (an index range), and only the due ones
    are read whole, so an append costs nothing for predictions that are not due yet."""
    candidates = conn.execute(
        "SELECT id, as_of, horizon_bars FROM predictions WHERE symbol = ? "
        "AND resolved_at IS NULL AND as_of < (SELECT MAX(ts) FROM candles WHERE symbol = ?) "
        "ORDER BY as_of, created_at",
        (symbol, symbol),
    ).fetchall()
    out = []
    for prediction_id, as_of, horizon in candidates:
        row = conn.execute(
            "SELECT close FROM candles WHERE symbol = ? AND ts > ? ORDER BY ts LIMIT 1 OFFSET ?",
            (symbol, as_of, horizon - 1),
        ).fetchone()
        if row is not None:
            found = get(conn, prediction_id)
            if found is not None:
                out.append((found, float(row[0])))
    return out


def drop_unresolvable(conn: sqlite3.Connection, symbol: str) -> int:
    """Delete pending predictions of ``symbol`` that can no longer resolve: their bar is
    older than the oldest stored candle (retention trimmed it, so the close ``h`` bars later
    is no longer known). Returns how many."""
    cur = conn.execute(
        "DELETE FROM predictions WHERE symbol = ? AND resolved_at IS NULL AND as_of < ("
        "SELECT MIN(ts) FROM candles WHERE symbol = ?)",
        (symbol, symbol),
    )
    return cur.rowcount


def symbols_of(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    """The symbols of the predictions ``ids`` (sorted)."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):  # under SQLite's limit on bound parameters
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(f"SELECT DISTINCT symbol FROM predictions WHERE id IN ({marks})", chunk)
        found.update(r[0] for r in rows.fetchall())
    return sorted(found)


def trim_resolved(conn: sqlite3.Connection, symbol: str, keep: int) -> int:
    """Keep the newest ``keep`` resolved predictions of ``symbol`` (by bar); how many went."""
    cur = conn.execute(
        "DELETE FROM predictions WHERE symbol = ? AND resolved_at IS NOT NULL AND as_of < ("
        "SELECT as_of FROM predictions WHERE symbol = ? AND resolved_at IS NOT NULL "
        "ORDER BY as_of DESC LIMIT 1 OFFSET ?)",
        (symbol, symbol, keep - 1),
    )
    return cur.rowcount


def mark_resolved(
    conn: sqlite3.Connection, prediction_id: str, realized_return: float, now: int
) -> bool:
    """Resolve a pending prediction; False when it was not pending (already resolved)."""
    cur = conn.execute(
        "UPDATE predictions SET resolved_at = ?, realized_return = ? "
        "WHERE id = ? AND resolved_at IS NULL",
        (now, realized_return, prediction_id),
    )
    return cur.rowcount == 1


def counts(conn: sqlite3.Connection, symbol: str) -> dict[str, int]:
    """How many predictions of ``symbol`` are pending and resolved."""
    row = conn.execute(
        "SELECT COALESCE(SUM(resolved_at IS NULL), 0), COALESCE(SUM(resolved_at IS NOT NULL), 0) "
        "FROM predictions WHERE symbol = ?",
        (symbol,),
    ).fetchone()
    return {"pending": int(row[0]), "resolved": int(row[1])}


def in_range(
    conn: sqlite3.Connection, symbol: str, since: int | None, until: int | None, limit: int
) -> list[StoredPrediction]:
    """The newest ``limit`` predictions of ``symbol`` with ``since <= as_of < until`` (either
    bound optional), newest first (the caller pages backwards from the oldest it got)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM predictions WHERE symbol = ? AND as_of >= ? AND as_of < ? "
        "ORDER BY as_of DESC, created_at DESC LIMIT ?",
        (symbol, -(2**62) if since is None else since, 2**62 if until is None else until, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]


def newest_resolved(conn: sqlite3.Connection, symbol: str, limit: int) -> list[StoredPrediction]:
    """The ``limit`` most recently made resolved predictions of ``symbol``, newest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM predictions WHERE symbol = ? AND resolved_at IS NOT NULL "
        "ORDER BY as_of DESC, created_at DESC LIMIT ?",
        (symbol, limit),
    ).fetchall()
    return [_from_row(r) for r in rows]
