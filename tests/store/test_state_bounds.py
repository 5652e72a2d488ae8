"""The state stays bounded and has one writer: retention, unresolvable pending rows, the due
query, one prediction per bar, the version-3 migration and the writer lock."""

from __future__ import annotations

import json
import os
import socket
import sqlite3

import pytest

from models.errors import DataValidationError, StateLockedError
from models.store import StateStore
from models.store.lock import WriterLock, lock_path
from tests.store.test_state_store import _prediction, _synthetic

STEP_US = 3_600_000_000


def test_a_second_writer_fails_at_once_naming_the_file_and_the_holder(tmp_path) -> None:
    path = tmp_path / "state.db"
    first = StateStore(path)
    with pytest.raises(StateLockedError) as refused:
        StateStore(path)
    message = str(refused.value)
    assert str(path) in message and f"pid {os.getpid()}" in message
    assert f"host {socket.gethostname()}" in message and "one state deployment per file" in message
    holder = json.loads(lock_path(path).read_text())
    assert holder["pid"] == os.getpid()
    reader = StateStore(path, read_only=True)  # readers never take the lock
    assert reader.symbols() == {}
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.save_state("ensemble", {"x": 1})
    reader.close()
    first.close()  # the lock goes with the writer
    StateStore(path).close()


def test_a_writer_can_wait_for_the_previous_one(tmp_path) -> None:
    path = tmp_path / "state.db"
    held = WriterLock(path)
    with pytest.raises(StateLockedError):
        WriterLock(path, wait_s=0.3)
    held.release()
    WriterLock(path, wait_s=0.3).release()


def test_release_after_the_lock_file_was_closed_under_it(tmp_path) -> None:
    # at interpreter teardown the lock's file object can be finalised before the store that
    # releases it: closing the descriptor already released the lock, release() must not fail
    path = tmp_path / "state.db"
    held = WriterLock(path)
    held._handle.close()
    held.release()
    held.release()  # idempotent
    WriterLock(path).release()  # the lock is free


def test_resolved_predictions_are_trimmed_to_the_newest_per_symbol(tmp_path) -> None:
    store = StateStore(tmp_path / "s.db", retain_predictions=3)
    frame = _synthetic(40)
    store.append_candles("BTCUSDT", frame.head(10))
    store.add_predictions([_prediction(f"p{i:02d}", frame, i) for i in range(10)])
    for end in range(11, 41):
        store.append_candles("BTCUSDT", frame.slice(end - 1, 1))
        store.resolve([(p.id, r) for p, r in store.due("BTCUSDT")])
    assert store.prediction_counts("BTCUSDT") == {"pending": 0, "resolved": 3}
    assert [p.id for p in store.resolved_predictions("BTCUSDT", 10)] == ["p09", "p08", "p07"]
    with pytest.raises(DataValidationError, match="retain_predictions"):
        StateStore(tmp_path / "t.db", retain_predictions=0)
    store.close()


def test_pending_predictions_whose_bar_retention_dropped_are_deleted(tmp_path) -> None:
    store = StateStore(tmp_path / "s.db", retain_bars=5)
    frame = _synthetic(12)
    store.append_candles("BTCUSDT", frame.head(5))
    store.add_predictions([_prediction("old", frame, 1), _prediction("new", frame, 4)])
    store.append_candles("BTCUSDT", frame.slice(5, 2))  # bars 0-1 trimmed: "old" cannot resolve
    assert store.prediction("old") is None and store.prediction("new").pending
    store.close()


def test_the_due_query_skips_what_is_not_due_and_parses_only_the_due(tmp_path) -> None:
    store = StateStore(tmp_path / "s.db")
    frame = _synthetic(30)
    store.append_candles("BTCUSDT", frame.head(20))
    later = [_prediction(f"f{i}", frame, 20 + i) for i in range(5)]  # bars not stored yet
    store.add_predictions([_prediction("a", frame, 10), _prediction("b", frame, 17), *later])
    assert [p.id for p, _ in store.due("BTCUSDT")] == ["a"]  # b needs bar 21
    store.append_candles("BTCUSDT", frame.slice(20, 2))
    assert [p.id for p, _ in store.due("BTCUSDT")] == ["a", "b"]
    store.close()


def test_one_prediction_per_bar_the_first_is_kept(tmp_path) -> None:
    store = StateStore(tmp_path / "s.db")
    frame = _synthetic(10)
    first, again = _prediction("a" * 32, frame, 5), _prediction("b" * 32, frame, 5)
    assert store.add_predictions([first]) == ["a" * 32]
    assert store.add_predictions([again, _prediction("c" * 32, frame, 6)]) == ["c" * 32]
    assert store.prediction_at("BTCUSDT", first.as_of).id == "a" * 32
    assert store.prediction("b" * 32) is None
    store.close()


def test_the_version_3_migration_drops_pending_rows_not_made_on_the_stored_series(
    tmp_path,
) -> None:
    path = tmp_path / "v2.db"
    store = StateStore(path)
    frame = _synthetic(10)
    store.append_candles("BTCUSDT", frame)
    on_series = _prediction("s" * 32, frame, 3)
    chosen = _prediction("c" * 32, frame, 4)
    chosen = chosen.__class__(**{**chosen.__dict__, "entry_close": 1.0})  # a client's close
    future = _prediction("f" * 32, frame, 9)
    future = future.__class__(**{**future.__dict__, "as_of": future.as_of + 50 * STEP_US})
    store.add_predictions([on_series, chosen, future])
    store.resolve([("c" * 32, 0.01)])  # resolved rows are history: kept
    store.close()
    conn = sqlite3.connect(path)
    poisoned = ("ETHUSDT", 4_070_908_800_000_000, 1.0, 1.0, 1.0, 1.0, 1.0)  # 2099-01-01
    conn.execute("INSERT INTO candles VALUES (?, ?, ?, ?, ?, ?, ?)", poisoned)
    conn.execute("UPDATE predictions SET resolved_at = NULL WHERE id = ?", ("c" * 32,))
    conn.execute("INSERT INTO predictions SELECT 'r' || substr(id, 2), symbol, as_of + 1, "
                 "horizon_bars, entry_close, record, created_at, 5, 0.02, answer "
                 "FROM predictions WHERE id = ?", ("s" * 32,))  # fmt: skip
    conn.execute("PRAGMA user_version=2")
    conn.commit()
    conn.close()
    migrated = StateStore(path)
    assert migrated.prediction("s" * 32).pending
    assert migrated.prediction("c" * 32) is None and migrated.prediction("f" * 32) is None
    assert migrated.prediction("r" + "s" * 31) is not None
    assert "ETHUSDT" not in migrated.symbols()  # the future-dated bar no longer blocks ETH
    assert migrated.candles("BTCUSDT").height == 10
    migrated.close()
