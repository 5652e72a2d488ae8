"""The serving state in one embedded SQLite file: candles, predictions and tracker state.

Every method that writes commits before it returns, so a caller that acknowledges after
the call never acknowledges something a restart would lose. One lock serialises access,
so the store can be shared by the threads of one process; use one store per file.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from models.errors import DataValidationError
from models.store import candles as _candles
from models.store import predictions as _predictions
from models.store.db import open_db
from models.store.predictions import StoredPrediction


def now_us() -> int:
    """Wall-clock time in microseconds since the epoch (the store's time unit)."""
    return time.time_ns() // 1000


class StateStore:
    """Durable serving state; ``retain_bars`` caps the candles kept per symbol."""

    def __init__(self, path: str | Path, retain_bars: int | None = 20_000) -> None:
        if retain_bars is not None and retain_bars < 1:
            raise DataValidationError(f"must be >= 1, got {retain_bars}", column="retain_bars")
        self.path = str(path)
        self.retain_bars = retain_bars
        self._conn = open_db(path)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

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
    def append_candles(self, symbol: str, frame: pl.DataFrame) -> int:
        """Append candles after the stored history of ``symbol``; returns how many."""
        rows = _candles.frame_to_rows(symbol, frame)
        with self._transaction():
            _candles.check_continues(rows, _candles.last_timestamp(self._conn, symbol))
            _candles.insert(self._conn, rows, self.retain_bars)
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
    def add_predictions(self, items: Sequence[StoredPrediction]) -> None:
        """Store new pending predictions in one transaction."""
        with self._transaction():
            _predictions.insert(self._conn, list(items))

    def prediction(self, prediction_id: str) -> StoredPrediction | None:
        with self._lock:
            return _predictions.get(self._conn, prediction_id)

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
        out = []
        with self._lock:
            for p in _predictions.pending(self._conn, symbol):
                close = _candles.close_after(self._conn, symbol, p.as_of, p.horizon_bars)
                if close is not None:
                    out.append((p, math.log(close / p.entry_close)))
        return out

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
