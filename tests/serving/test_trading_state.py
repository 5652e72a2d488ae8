"""The service's books over the state file: stepped as signals are stored, committed per
bar, exactly once across failed commits and restarts, equal to the evaluation's replay."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError
from models.serving.trading_state import STATE_KEY, TradingState
from models.store import StateStore, StoredPrediction
from models.trading import TradingSettings
from models.trading.replay import Series, replay
from models.trading.score import answer_score
from tests.trading.simulate import HOUR_MS, market

SETTINGS = TradingSettings(
    uncertainty_z=0.0, min_outcomes=40, certificate={"min_trades": 10, "draws": 1000}
)
BARS = 260


def _candle(s: Series, i: int) -> pl.DataFrame:
    close = float(s.close[i])
    stamp = pl.Series("timestamp", [int(s.bar_ms[i]) * 1000]).cast(pl.Datetime("us", "UTC"))
    return pl.DataFrame(
        {"timestamp": stamp, "open": [close], "high": [close], "low": [close],
         "close": [close], "volume": [1.0]}
    )  # fmt: skip


def _answer(score: float) -> dict:
    degraded = not math.isfinite(score)
    up = 0.5 + (0.0 if degraded else score / 8)  # P(up) - P(down) is about score / 4
    return {"probabilities": {"down": 1 - up, "flat": 0.0, "up": up}, "degraded": degraded}


def _signal(s: Series, i: int) -> StoredPrediction:
    answer = _answer(float(s.score[i]))
    return StoredPrediction(
        id=f"{s.symbol}-{i}", symbol=s.symbol, as_of=int(s.bar_ms[i]) * 1000, horizon_bars=4,
        entry_close=float(s.close[i]), record={}, answer=answer,
    )  # fmt: skip


def _expected(series):
    """The evaluation's replay of the same bars, scored as the stored answers say."""
    scored = []
    for s in series:
        stated = [answer_score(_answer(float(x))) for x in s.score]
        score = np.array([np.nan if v is None else v for v in stated])
        scored.append(Series(s.symbol, s.bar_ms, s.close, score, s.sigma))
    return replay(SETTINGS, HOUR_MS, scored)


def _feed(store, trading, series, bars, history=60):
    """Bars arrive symbol by symbol; after the history every bar gets a signal and the
    books are poked after each, as the feed does."""
    for i in range(bars):
        for s in series:
            store.append_candles(s.symbol, _candle(s, i), HOUR_MS * 1000)
            if i >= history:
                store.add_predictions([_signal(s, i)])
            trading.advance()


@pytest.fixture
def series():
    return market(11, symbols=2, bars=BARS, edge=0.5, degraded=0.05)  # certified: paper trades


def _open(path, series, settings=SETTINGS, step_ms=HOUR_MS):
    store = StateStore(path)
    return store, TradingState(store, settings, [s.symbol for s in series], step_ms)


def test_the_books_equal_the_replay_from_the_first_signal(tmp_path, series):
    store, trading = _open(tmp_path / "state.db", series)
    _feed(store, trading, series, BARS)
    expected = _expected(_after(series, 60))
    for book in ("paper", "shadow"):
        stored = store.trading_fills(book, None, 10_000)[::-1]
        mine = [f for f in expected.fills if f.book == book]
        assert len(mine) > 10, book
        assert [
            (r["bar_ms"], r["symbol"], r["action"], r["quantity"], r["price"]) for r in stored
        ] == [(f.bar_ms, f.symbol, f.action, f.quantity, f.price) for f in mine]
    assert store.trading_history("paper")[-1] == expected.equity["paper"][-1]
    store.close()


def test_a_failed_commit_steps_the_bar_again_and_a_restart_continues(tmp_path, series, monkeypatch):
    path = tmp_path / "state.db"
    store, trading = _open(path, series)
    _feed(store, trading, series, 150)
    real = store.save_step
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "save_step", flaky)
    failed = _feed_range(store, trading, series, 150, 200)
    assert failed == ["disk full"]  # one commit failed; its bar was stepped by the next call
    store.close()  # a restart: the desk comes back from the file
    store, trading = _open(path, series)
    assert _feed_range(store, trading, series, 200, BARS) == []
    expected = _expected(_after(series, 60))
    for book in ("paper", "shadow"):
        stored = store.trading_fills(book, None, 10_000)[::-1]
        mine = [f for f in expected.fills if f.book == book]
        assert [(r["bar_ms"], r["symbol"], r["quantity"]) for r in stored] == [
            (f.bar_ms, f.symbol, f.quantity) for f in mine
        ]
    points = store.trading_history("shadow")
    assert [p.bar_ms for p in points] == sorted({p.bar_ms for p in points})  # once each
    assert points[-1] == expected.equity["shadow"][-1]
    store.close()


def _feed_range(store, trading, series, lo, hi):
    """Bars ``lo..hi`` with signals, the books poked after each; the errors they raised."""
    errors = []
    for i in range(lo, hi):
        for s in series:
            store.append_candles(s.symbol, _candle(s, i), HOUR_MS * 1000)
            store.add_predictions([_signal(s, i)])
            try:
                trading.advance()
            except OSError as exc:
                errors.append(str(exc))
    return errors


def _after(series, history):
    return [
        Series(
            s.symbol, s.bar_ms[history:], s.close[history:], s.score[history:], s.sigma[history:]
        )
        for s in series
    ]


def test_answer_fields_say_what_the_next_step_does(tmp_path, series):
    store, trading = _open(tmp_path / "state.db", series)
    _feed(store, trading, series, 200)
    s = series[0]
    as_of = int(s.bar_ms[200]) * 1000
    for other in series:
        store.append_candles(other.symbol, _candle(other, 200), HOUR_MS * 1000)
    fields = trading.answer_fields(s.symbol, as_of, float(s.score[200]) / 4)
    assert fields["expected_return_bps"] is not None and fields["expected_return_se_bps"] > 0
    for other in series:
        store.add_predictions([_signal(other, 200)])
    [step] = trading.advance()
    target = step.targets["paper"][s.symbol]
    assert fields["position"]["action"] == target.action
    assert fields["position"]["reason"] == target.reason
    client = trading.answer_fields(s.symbol, as_of, 0.1, closes=list(s.close[150:201]))
    assert client["position"]["cost_bps"] == 10.0
    dear = trading.answer_fields(s.symbol, as_of, 0.1, cost_bps=1000.0)
    assert dear["position"]["action"] in ("flat", "hold", "renew", "close")
    store.close()


def test_reset_starts_one_book_again(tmp_path, series):
    store, trading = _open(tmp_path / "state.db", series)
    _feed(store, trading, series, 200)
    assert store.trading_history("paper") and store.trading_fills("shadow", None, 1)
    trading.reset("shadow")
    view = trading.portfolio()["books"]
    assert view["shadow"]["equity"] == SETTINGS.initial_cash and view["shadow"]["bars"] == 0
    assert store.trading_fills("shadow", None, 1) == [] and store.trading_history("paper")
    with pytest.raises(ConfigError, match="book"):
        trading.reset("mine")
    store.close()


def test_a_desk_saved_for_another_interval_is_not_continued(tmp_path, series):
    path = tmp_path / "state.db"
    store, trading = _open(path, series)
    _feed(store, trading, series, 120)
    store.close()
    store, trading = _open(path, series, step_ms=4 * HOUR_MS)
    assert not trading.enabled and "bars of" in trading.portfolio()["problem"]
    assert trading.advance() == []
    saved, _ = store.load_state(STATE_KEY)
    assert saved["desk"]["step_ms"] == HOUR_MS  # left as stored
    trading.reset("all")
    assert trading.enabled and trading.portfolio()["problem"] is None
    store.close()


def test_trades_are_paged_newest_first(tmp_path, series):
    store, trading = _open(tmp_path / "state.db", series)
    _feed(store, trading, series, BARS)
    first = trading.trades("shadow", None, 3)
    assert len(first["trades"]) == 3 and first["next_before"] == first["trades"][-1]["seq"]
    second = trading.trades("shadow", first["next_before"], 3)
    assert second["trades"][0]["seq"] == first["trades"][-1]["seq"] - 1
    assert {"time", "symbol", "action", "quantity", "price", "fee", "reason"} <= set(
        first["trades"][0]
    )
    everything = trading.trades("shadow", None, 10_000)
    assert everything["next_before"] is None
    assert np.all(np.diff([t["seq"] for t in everything["trades"]]) == -1)
    store.close()
