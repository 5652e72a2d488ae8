"""The serving state in one embedded SQLite file: candles, predictions and tracker state.

Every method that writes commits before it returns, so a caller that acknowledges after
the call never acknowledges something a restart would lose. One lock serialises access,
so the store can be shared by the threads of one process. One writer per file is enforced
(:class:`~models.store.lock.WriterLock`); readers beside it open with ``read_only=True``.

The state stays bounded: ``retain_bars`` candles and ``retain_predictions`` resolved
predictions per symbol are kept, and pending predictions whose bar retention dropped (they
can no longer resolve) are deleted.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.data.clock import check_continues_clock
from models.data.times import now_us
from models.errors import DataValidationError
from models.store import candles as _candles
from models.store import predictions as _predictions
from models.store import trading as _trading
from models.store.db import open_db
from models.store.lock import WriterLock
from models.store.predictions import StoredPrediction
from models.trading.book import EquityPoint, Fill


class StateStore:
    """Durable serving state; ``retain_bars`` caps the candles and ``retain_predictions``
    the resolved predictions kept per symbol (None: all). ``read_only`` opens a file that
    another process writes (no writer lock, every write refused by SQLite); ``lock_wait_s``
    is how long a writer waits for the file's previous writer to let go."""

    def __init__(
        self,
        path: str | Path,
        retain_bars: int | None = 20_000,
        retain_predictions: int | None = 20_000,
        *,
        read_only: bool = False,
        lock_wait_s: float = 0.0,
    ) -> None:
        limits = {"retain_bars": retain_bars, "retain_predictions": retain_predictions}
        for name, value in limits.items():
            if value is not None and value < 1:
                raise DataValidationError(f"must be >= 1, got {value}", column=name)
        self.path = str(path)
        self.retain_bars, self.retain_predictions = retain_bars, retain_predictions
        memory = self.path == ":memory:"
        self._writer = None if read_only or memory else WriterLock(path, lock_wait_s)
        try:
            self._conn = open_db(path, read_only=read_only)
        except BaseException:
            if self._writer is not None:
                self._writer.release()
            raise
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._writer is not None:
                self._writer.release()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # candles -------------------------------------------------------------------------
    def append_candles(self, symbol: str, frame: pl.DataFrame, step_us: int | None = None) -> int:
        """Append candles after the stored history of ``symbol``; returns how many. With
        ``step_us`` (the symbol's interval) they must follow it by whole intervals."""
        rows = _candles.frame_to_rows(symbol, frame)
        with self._transaction():
            last = _candles.last_timestamp(self._conn, symbol)
            _candles.check_continues(rows, last)
            if step_us is not None and rows:
                check_continues_clock(rows[0][1], last, step_us)
            _candles.insert(self._conn, rows, self.retain_bars)
            _predictions.drop_unresolvable(self._conn, symbol)
        return len(rows)

    def candles(
        self, symbol: str, limit: int | None = None, until: int | None = None
    ) -> pl.DataFrame:
        """The newest ``limit`` stored candles of ``symbol`` (all when None), oldest first;
        only those opened at or before ``until`` (microseconds) when given."""
        with self._lock:
            return _candles.read(self._conn, symbol, limit, until)

    def symbols(self) -> dict[str, int]:
        """Symbols with stored candles and how many each has."""
        with self._lock:
            return _candles.symbols(self._conn)

    def feed_cursor(self, symbol: str) -> tuple[int | None, int | None]:
        """Newest stored candle and newest prediction of ``symbol`` (µs, None when none):
        where a candle feed resumes after a restart."""
        with self._lock:
            last_bar = _candles.last_timestamp(self._conn, symbol)
            row = self._conn.execute(
                "SELECT MAX(as_of) FROM predictions WHERE symbol = ?", (symbol,)
            ).fetchone()
        return last_bar, row[0]

    # predictions ---------------------------------------------------------------------
    def add_predictions(self, items: Sequence[StoredPrediction]) -> list[str]:
        """Store new pending predictions in one transaction, at most one per (symbol, bar);
        returns the ids stored (a bar that already had one keeps it)."""
        with self._transaction():
            return _predictions.insert(self._conn, list(items))

    def prediction(self, prediction_id: str) -> StoredPrediction | None:
        with self._lock:
            return _predictions.get(self._conn, prediction_id)

    def prediction_at(self, symbol: str, as_of: int) -> StoredPrediction | None:
        """The prediction stored for ``symbol`` at bar ``as_of`` (µs), if any."""
        with self._lock:
            return _predictions.at_bar(self._conn, symbol, as_of)

    def prediction_counts(self, symbol: str) -> dict[str, int]:
        with self._lock:
            return _predictions.counts(self._conn, symbol)

    def predictions_in_range(
        self, symbol: str, since: int | None, until: int | None, limit: int
    ) -> list[StoredPrediction]:
        """Newest first: see :func:`models.store.predictions.in_range`."""
        with self._lock:
            return _predictions.in_range(self._conn, symbol, since, until, limit)

    def resolved_predictions(self, symbol: str, limit: int) -> list[StoredPrediction]:
        """The ``limit`` newest resolved predictions of ``symbol``, newest first."""
        with self._lock:
            return _predictions.newest_resolved(self._conn, symbol, limit)

    def pending_symbols(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT symbol FROM predictions WHERE resolved_at IS NULL ORDER BY 1"
            )
            return [r[0] for r in rows.fetchall()]

    def due(self, symbol: str) -> list[tuple[StoredPrediction, float]]:
        """Pending predictions whose horizon the stored candles reached, with their
        realized log return ``log(close[as_of + h bars] / entry_close)``."""
        with self._lock:
            found = _predictions.due(self._conn, symbol)
        return [(p, math.log(close / p.entry_close)) for p, close in found]

    def resolve(
        self,
        outcomes: Sequence[tuple[str, float]],
        state: tuple[str, Mapping[str, Any]] | None = None,
    ) -> tuple[list[str], int | None]:
        """Resolve predictions and save ``state`` (key, value) in the same transaction,
        so tracker updates and resolved flags never disagree after a restart. Returns
        the ids that were pending (already resolved ones are left as they are) and the
        new version of the state (None when no state was given)."""
        done = []
        version = None
        now = now_us()
        with self._transaction():
            for prediction_id, realized in outcomes:
                if not math.isfinite(realized):
                    raise DataValidationError(
                        f"must be finite, got {realized}", column="realized_return"
                    )
                if _predictions.mark_resolved(self._conn, prediction_id, realized, now):
                    done.append(prediction_id)
            if state is not None:
                version = self._put_state(*state, now)
            if self.retain_predictions is not None and done:
                for symbol in _predictions.symbols_of(self._conn, done):
                    _predictions.trim_resolved(self._conn, symbol, self.retain_predictions)
        return done, version

    # opaque state (ensemble trackers) ------------------------------------------------
    def save_state(self, key: str, value: Mapping[str, Any]) -> int:
        """Replace the JSON state under ``key``; returns its new version number."""
        with self._transaction():
            return self._put_state(key, value, now_us())

    def load_state(self, key: str) -> tuple[dict[str, Any] | None, int]:
        """The JSON state under ``key`` and its version (``(None, 0)`` when never saved)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value, version FROM state WHERE key = ?", (key,)
            ).fetchone()
        return (None, 0) if row is None else (json.loads(row[0]), int(row[1]))

    def _put_state(self, key: str, value: Mapping[str, Any], now: int) -> int:
        text = json.dumps(value, allow_nan=False)
        self._conn.execute(
            "INSERT INTO state (key, value, version, updated_at) VALUES (?, ?, 1, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "version = state.version + 1, updated_at = excluded.updated_at",
            (key, text, now),
        )
        row = self._conn.execute("SELECT version FROM state WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    # trading books -------------------------------------------------------------------
    def next_bar(self, symbol: str, after_us: int | None) -> int | None:
        """The first stored bar of ``symbol`` after ``after_us`` (µs; the oldest when None)."""
        with self._lock:
            return _trading.next_bar(self._conn, symbol, after_us)

    def first_prediction(self, symbol: str) -> int | None:
        """The bar (µs) of the oldest stored prediction of ``symbol``."""
        with self._lock:
            return _trading.first_prediction(self._conn, symbol)

    def closes(self, symbol: str, until_us: int, count: int) -> np.ndarray:
        """The newest ``count`` stored closes of ``symbol`` up to ``until_us``, oldest first."""
        with self._lock:
            return _trading.closes(self._conn, symbol, until_us, count)

    def save_step(
        self,
        key: str,
        value: Mapping[str, Any],
        fills: Sequence[Fill],
        equity: Mapping[str, EquityPoint],
    ) -> int:
        """One step of the books: its fills and equity rows and the desk's new state under
        ``key``, in one transaction (a bar stored twice is refused); the state's version."""
        with self._transaction():
            _trading.insert_step(self._conn, fills, dict(equity))
            _trading.trim(self._conn, sorted(equity), self.retain_bars, self.retain_predictions)
            return self._put_state(key, value, now_us())

    def reset_books(self, key: str, value: Mapping[str, Any], books: Sequence[str]) -> int:
        """Forget ``books``' fills and equity rows and save the desk's state, in one go."""
        with self._transaction():
            for book in books:
                _trading.clear(self._conn, book)
            return self._put_state(key, value, now_us())

    def trading_fills(self, book: str, before: int | None, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` fills of ``book`` numbered below ``before``, newest first."""
        with self._lock:
            return _trading.fills(self._conn, book, before, limit)

    def trading_history(self, book: str, limit: int | None = None) -> list[EquityPoint]:
        """The newest ``limit`` equity points of ``book`` (all when None), oldest first."""
        with self._lock:
            return _trading.history(self._conn, book, limit)

    def closed_trades(self, book: str) -> int:
        """Closed round trips of ``book`` among the fills kept."""
        with self._lock:
            return _trading.closed_trades(self._conn, book)
