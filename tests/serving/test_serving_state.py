"""ServingState: auto-resolution from stored closes, outcomes, restart and rollback."""

from __future__ import annotations

import math

import polars as pl
import pytest

from models.ensemble import Ensemble, SignalRecord
from models.errors import ConflictError, DataValidationError, NotFoundError
from models.features.indicators import ensure_indicators
from models.labels import LabelConfig, flat_band, make_labels
from models.predictors.base import create_predictor
from models.regime.detector import RegimeDetector
from models.serving.pipeline import window_bar
from models.serving.state import ServingState
from models.store import StateStore, StoredPrediction

WINDOW = 300


def _stored(btc: pl.DataFrame, end: int, pid: str, ensemble: Ensemble) -> StoredPrediction:
    """A real pending prediction made on the window ending at row ``end``."""
    window = ensure_indicators(btc.slice(end + 1 - WINDOW, WINDOW))
    preds = {name: create_predictor(name).predict(window) for name in ("indicators", "smc")}
    signal = ensemble.combine(
        "BTCUSDT", preds, RegimeDetector().current(window), window_bar(window)
    )
    return StoredPrediction(
        id=pid,
        symbol="BTCUSDT",
        as_of=int(window["timestamp"].dt.epoch("us")[-1]),
        horizon_bars=LabelConfig().horizon,
        entry_close=float(window["close"][-1]),
        record=signal.to_record(flat_band(window, LabelConfig())).to_dict(),
    )


@pytest.fixture
def path(tmp_path):
    return tmp_path / "state.db"


def test_predictions_resolve_when_candles_reach_horizon(path, btc):
    state = ServingState(StateStore(path), Ensemble())
    end = 5000
    state.append_candles("BTCUSDT", btc.slice(end + 1 - WINDOW, WINDOW))
    items = [_stored(btc, end, "p0", Ensemble()), _stored(btc, end - 2, "p1", Ensemble())]
    state.add_predictions(items)
    done = state.append_candles("BTCUSDT", btc.slice(end + 1, 3))
    # p1 (as of end-2) is due at end+2; p0 needs the 4th bar after `end`
    assert done["appended"] == 3 and done["resolved"] == ["p1"]
    assert state.store.prediction_counts("BTCUSDT") == {"pending": 1, "resolved": 1}
    assert state.append_candles("BTCUSDT", btc.slice(end + 4, 1))["resolved"] == ["p0"]
    resolved = {p: state.store.prediction(p).realized_return for p in ("p0", "p1")}
    assert resolved["p0"] == pytest.approx(
        math.log(btc["close"][end + 4] / btc["close"][end]), abs=1e-15
    )
    assert resolved["p1"] == pytest.approx(
        math.log(btc["close"][end + 2] / btc["close"][end - 2]), abs=1e-15
    )
    # the same outcomes applied by hand give exactly the same learned state
    manual = Ensemble()
    history = btc.slice(end + 1 - WINDOW, WINDOW)
    manual.warm_start("BTCUSDT", make_labels(history, LabelConfig()).drop_nulls().to_list())
    for item in reversed(items):  # resolution order: p1, then p0
        realized = state.store.prediction(item.id).realized_return
        manual.record_outcome(SignalRecord.from_dict(item.record), realized)
    assert state.ensemble.state_dict() == manual.state_dict()
    assert state.version >= 1


def test_outcome_errors_and_restart_keeps_everything(path, btc):
    state = ServingState(StateStore(path), Ensemble())
    state.add_predictions([_stored(btc, 6000, "a", Ensemble())])
    with pytest.raises(NotFoundError, match="prediction_id"):
        state.record_outcome("nope", 0.01)
    change = state.record_outcome("a", 0.02)
    assert change["prediction_id"] == "a" and change["realized_return"] == 0.02
    with pytest.raises(ConflictError, match="already resolved"):
        state.record_outcome("a", 0.02)
    perf = state.performance("BTCUSDT")
    state.store.close()
    again = ServingState(StateStore(path), Ensemble())
    assert again.performance("BTCUSDT") == perf
    assert again.tracker_state() == state.tracker_state()


def test_due_while_down_resolves_on_open(path, btc):
    store = StateStore(path)
    state = ServingState(store, Ensemble())
    state.add_predictions([_stored(btc, 7000, "x", Ensemble())])
    store.append_candles("BTCUSDT", btc.slice(6990, 20))  # bypasses resolution ("crash")
    assert store.prediction("x").pending
    store.close()
    reopened = ServingState(StateStore(path), Ensemble())
    assert not reopened.store.prediction("x").pending
    assert reopened.performance("BTCUSDT")["predictions"] == {"pending": 0, "resolved": 1}


def test_failed_commit_rolls_back_learning(path, btc, monkeypatch):
    state = ServingState(StateStore(path), Ensemble())
    state.add_predictions([_stored(btc, 8000, "r", Ensemble())])
    before = state.ensemble.state_dict()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(state.store, "resolve", broken)
    with pytest.raises(OSError, match="disk full"):
        state.record_outcome("r", 0.05)
    assert state.ensemble.state_dict() == before
    monkeypatch.undo()
    assert state.store.prediction("r").pending


def test_append_bar_defaults_timestamp_and_validates(path, btc):
    state = ServingState(StateStore(path), Ensemble())
    with pytest.raises(ConflictError, match="POST /v1/candles/ETHUSDT"):
        state.append_bar("ETHUSDT", {"open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}, 10)
    state.append_candles("BTCUSDT", btc.head(5))
    bar = btc.row(5, named=True)
    window, done = state.append_bar("BTCUSDT", {**bar, "timestamp": None}, 4)
    assert window.equals(btc.slice(2, 4)) and done["appended"] == 1
    with pytest.raises(DataValidationError, match="high"):
        state.append_bar("BTCUSDT", {**btc.row(6, named=True), "high": 1.0}, 4)
    with pytest.raises(NotFoundError, match="POST /v1/candles/SOLUSDT"):
        state.candles("SOLUSDT", 10)


def test_first_candles_warm_start_the_base_rate_with_resolved_labels_only(path, btc):
    state = ServingState(StateStore(path), Ensemble())
    assert state.ensemble.needs_history("BTCUSDT")
    history = btc.slice(3000, 400)
    version = state.version
    state.append_candles("BTCUSDT", history)
    labels = make_labels(history, LabelConfig()).drop_nulls().to_list()
    # the last h bars have no known outcome yet: they are not in the seed
    assert len(labels) <= 400 - LabelConfig().horizon
    expected = Ensemble()
    expected.warm_start("BTCUSDT", labels)
    assert state.ensemble.state_dict() == expected.state_dict()
    assert state.version > version and not state.ensemble.needs_history("BTCUSDT")
    # later candles do not seed again; the state survives a restart
    state.append_candles("BTCUSDT", btc.slice(3400, 10))
    assert state.ensemble.state_dict() == expected.state_dict()
    state.store.close()
    again = ServingState(StateStore(path), Ensemble())
    assert again.ensemble.state_dict() == expected.state_dict()


def test_newest_signal_is_the_stored_answer_of_the_newest_bar_or_its_window(path, btc):
    state = ServingState(StateStore(path), Ensemble())
    with pytest.raises(NotFoundError, match="symbol: no candles stored for BTCUSDT"):
        state.newest_signal("BTCUSDT", 100)
    end = 6000
    state.append_candles("BTCUSDT", btc.slice(end + 1 - WINDOW, WINDOW))
    found = state.newest_signal("BTCUSDT", 100)
    assert found["window"].height == 100 and found["learned_version"] == state.version
    assert found["window"]["timestamp"][-1] == btc["timestamp"][end]
    made = _stored(btc, end, "a" * 32, Ensemble())
    answer = {"prediction_id": "a" * 32, "signal": "HOLD", "source": "stored"}
    state.add_predictions([StoredPrediction(**{**made.__dict__, "answer": answer})])
    assert state.newest_signal("BTCUSDT", 100) == {"answer": answer}
    assert state.stored_answer("BTCUSDT", made.as_of) == answer


def test_a_bar_that_has_not_closed_is_not_stored(path, btc):
    state = ServingState(StateStore(path), Ensemble())
    state.append_candles("BTCUSDT", btc.slice(100, 10))
    step = 3_600_000_000
    newest = int(btc["timestamp"].dt.epoch("us")[109])
    bar = {k: float(btc[k][110]) for k in ("open", "high", "low", "close", "volume")}
    with pytest.raises(DataValidationError, match="has not closed yet"):
        state.append_bar("BTCUSDT", bar, 5, step, closed_by_us=newest + step + 60_000_000)
    assert state.store.symbols()["BTCUSDT"] == 10
    window, done = state.append_bar("BTCUSDT", bar, 5, step, closed_by_us=newest + 2 * step)
    assert done["appended"] == 1 and window["timestamp"][-1] == btc["timestamp"][110]
