"""The SQLite state store: exact round trips, continuity rules, durability, resolution."""

from __future__ import annotations

import math
import sqlite3

import polars as pl
import pytest

from models.errors import ConfigError, DataValidationError
from models.store import StateStore, StoredPrediction


def _synthetic(n: int, start: str = "2024-01-01") -> pl.DataFrame:
    ts = pl.datetime_range(
        pl.lit(start).str.to_datetime(time_zone="UTC"),
        pl.lit(start).str.to_datetime(time_zone="UTC") + pl.duration(hours=n - 1),
        interval="1h",
        eager=True,
    ).dt.cast_time_unit("us")
    close = [100.0 + i for i in range(n)]
    return pl.DataFrame(
        {
            "timestamp": ts,
            "open": close,
            "high": [c + 1 for c in close],
            "low": [c - 1 for c in close],
            "close": close,
            "volume": [10.0] * n,
        }
    )


@pytest.fixture
def store(tmp_path) -> StateStore:
    s = StateStore(tmp_path / "state.db")
    yield s
    s.close()


def _prediction(pid: str, frame: pl.DataFrame, at: int, horizon: int = 4) -> StoredPrediction:
    ts = frame["timestamp"].dt.epoch("us")[at]
    return StoredPrediction(
        id=pid,
        symbol="BTCUSDT",
        as_of=ts,
        horizon_bars=horizon,
        entry_close=float(frame["close"][at]),
        record={"signal": "BUY", "probabilities": [0.2, 0.3, 0.5]},
        created_at=1,
    )


def test_real_candles_round_trip_exactly(store, btc):
    window = btc.slice(1000, 500)
    assert store.append_candles("BTCUSDT", window) == 500
    back = store.candles("BTCUSDT")
    assert back.schema == window.schema
    assert back.equals(window)
    assert store.candles("BTCUSDT", limit=20).equals(window.tail(20))
    assert store.symbols() == {"BTCUSDT": 500}
    until = int(window["timestamp"].dt.epoch("us")[299])  # a past bar: what ends there
    assert store.candles("BTCUSDT", limit=20, until=until).equals(window.slice(280, 20))
    assert store.candles("BTCUSDT", until=until).equals(window.head(300))
    assert store.candles("BTCUSDT", limit=5, until=until - 10**14).height == 0


def test_append_must_continue_after_stored_history(store, btc):
    store.append_candles("BTCUSDT", btc.slice(0, 10))
    with pytest.raises(DataValidationError, match="continue after the last stored") as err:
        store.append_candles("BTCUSDT", btc.slice(9, 5))
    assert err.value.column == "timestamp"
    assert store.candles("BTCUSDT").height == 10  # the failed append left nothing behind
    store.append_candles("BTCUSDT", btc.slice(10, 5))
    assert store.candles("BTCUSDT").equals(btc.head(15))


@pytest.mark.parametrize(
    ("order", "word"), [([0, 1, 1, 2], "duplicate"), ([0, 2, 1, 3], "unsorted")]
)
def test_unsorted_or_duplicate_timestamps_rejected(store, order, word):
    frame = _synthetic(4)[order]
    with pytest.raises(DataValidationError, match=word):
        store.append_candles("ETHUSDT", frame)
    assert store.symbols() == {}


def test_missing_column_named(store):
    with pytest.raises(DataValidationError, match="volume"):
        store.append_candles("ETHUSDT", _synthetic(3).drop("volume"))


def test_retention_keeps_newest(tmp_path):
    s = StateStore(tmp_path / "s.db", retain_bars=5)
    frame = _synthetic(12)
    s.append_candles("BTCUSDT", frame.head(8))
    s.append_candles("BTCUSDT", frame.slice(8, 4))
    assert s.candles("BTCUSDT").equals(frame.tail(5))
    with pytest.raises(DataValidationError, match="retain_bars"):
        StateStore(tmp_path / "t.db", retain_bars=0)


def test_writes_are_committed_before_return_and_survive_reopen(tmp_path, btc):
    path = tmp_path / "state.db"
    first = StateStore(path)
    first.append_candles("BTCUSDT", btc.head(50))
    first.add_predictions([_prediction("p1", btc, 40)])
    version = first.save_state("ensemble", {"weights": {"smc": 0.5}})
    # a reader sees everything while the writer is still open: it is committed
    other = StateStore(path, read_only=True)
    assert other.candles("BTCUSDT").equals(btc.head(50))
    assert other.prediction("p1").pending
    assert other.load_state("ensemble") == ({"weights": {"smc": 0.5}}, version)
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    first.close()
    other.close()


def test_due_predictions_use_stored_closes(store, btc):
    store.append_candles("BTCUSDT", btc.head(104))
    store.add_predictions([_prediction("a", btc, 99), _prediction("b", btc, 100)])
    due = store.due("BTCUSDT")
    assert [p.id for p, _ in due] == ["a"]  # 'b' needs bar 104, not stored yet
    expected = math.log(btc["close"][103] / btc["close"][99])  # 4 bars after row 99
    assert due[0][1] == pytest.approx(expected, rel=0, abs=1e-15)
    store.append_candles("BTCUSDT", btc.slice(104, 1))
    assert [p.id for p, _ in store.due("BTCUSDT")] == ["a", "b"]


def test_resolve_is_atomic_with_state(store, btc):
    store.add_predictions([_prediction("a", btc, 10), _prediction("b", btc, 11)])
    assert store.resolve([("a", 0.01)], ("ensemble", {"n": 1})) == (["a"], 1)
    assert store.resolve([("a", 0.02)]) == ([], None)  # already resolved: left as it was
    assert store.prediction("a").realized_return == 0.01
    with pytest.raises(DataValidationError, match="realized_return"):
        store.resolve([("b", 0.01), ("a", float("nan"))], ("ensemble", {"n": 2}))
    assert store.prediction("b").pending  # rolled back together with the state
    assert store.load_state("ensemble")[0] == {"n": 1}
    assert store.prediction_counts("BTCUSDT") == {"pending": 1, "resolved": 1}
    assert store.pending_symbols() == ["BTCUSDT"]


def test_duplicate_prediction_id_rejected(store, btc):
    store.add_predictions([_prediction("a", btc, 10)])
    with pytest.raises(sqlite3.IntegrityError):
        store.add_predictions([_prediction("a", btc, 11)])


def test_bad_paths_and_newer_schema(tmp_path):
    with pytest.raises(ConfigError, match="state_db"):
        StateStore(tmp_path / "missing" / "x.db")
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        StateStore(path)


def test_feed_cursor_is_the_newest_bar_and_the_newest_prediction(store) -> None:
    frame = _synthetic(10)
    assert store.feed_cursor("BTCUSDT") == (None, None)
    store.append_candles("BTCUSDT", frame)
    stamps = frame["timestamp"].dt.epoch("us").to_list()
    assert store.feed_cursor("BTCUSDT") == (stamps[-1], None)
    store.add_predictions([_prediction("a" * 32, frame, 5), _prediction("b" * 32, frame, 3)])
    assert store.feed_cursor("BTCUSDT") == (stamps[-1], stamps[5])
    assert store.feed_cursor("ETHUSDT") == (None, None)
