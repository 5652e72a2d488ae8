"""The feed-driven desk: a bar is stepped once, when every followed symbol is ready, with
quotes read from the stored bars and signals; the replay of the same series agrees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.trading import Desk, TradingSettings
from models.trading.live import advance, next_ready, quote
from models.trading.replay import Series, replay
from tests.trading.simulate import HOUR_MS, market


class Stored:
    """An in-memory store: bars and signals appended as a feed would."""

    def __init__(self) -> None:
        self.bars: dict[str, list[tuple[int, float]]] = {}
        self.signals: dict[tuple[str, int], dict] = {}

    def add(self, symbol, bar_ms, close, score=None, degraded=False):
        self.bars.setdefault(symbol, []).append((bar_ms, close))
        if score is not None or degraded:
            up = 0.5 + (score or 0.0) / 2
            probs = {"down": 1 - up, "flat": 0.0, "up": up}
            self.signals[symbol, bar_ms] = {"probabilities": probs, "degraded": degraded}

    def next_bar(self, symbol, after_ms):
        for t, _ in self.bars.get(symbol, []):
            if after_ms is None or t > after_ms:
                return t
        return None

    def first_signal(self, symbol):
        times = [t for (s, t) in self.signals if s == symbol]
        return min(times) if times else None

    def signal(self, symbol, bar_ms):
        return self.signals.get((symbol, bar_ms))

    def closes(self, symbol, bar_ms, count):
        closes = [c for t, c in self.bars.get(symbol, []) if t <= bar_ms]
        return np.asarray(closes[-count:])


def test_a_bar_waits_for_every_symbol_then_steps_once():
    store = Stored()
    desk = Desk(TradingSettings(), HOUR_MS)
    for t in range(3):  # history without signals: nothing to do
        store.add("A", t * HOUR_MS, 100.0 + t)
        store.add("B", t * HOUR_MS, 50.0 + t)
    assert advance(desk, store, ["A", "B"]) == []
    store.add("A", 3 * HOUR_MS, 104.0, score=0.2)
    assert next_ready(desk, store, ["A", "B"]) is None  # B's bar 3 is not stored
    store.add("B", 3 * HOUR_MS, 54.0)
    assert next_ready(desk, store, ["A", "B"]) is None  # B's signal may still come
    store.add("B", 4 * HOUR_MS, 55.0, score=-0.1)  # B moved on: its bar 3 has none
    [step] = advance(desk, store, ["A", "B"])
    assert step.bar_ms == 3 * HOUR_MS and desk.last_bar_ms == 3 * HOUR_MS
    assert advance(desk, store, ["A", "B"]) == []  # bar 4 waits for A
    store.add("A", 4 * HOUR_MS, 105.0, degraded=True)
    [step] = advance(desk, store, ["A", "B"])
    assert step.bar_ms == 4 * HOUR_MS
    assert "degraded answer" in step.targets["paper"]["A"].reason


def test_a_gap_in_one_symbol_leaves_it_unquoted():
    store = Stored()
    desk = Desk(TradingSettings(), HOUR_MS)
    store.add("A", 0, 100.0, score=0.1)
    store.add("B", 0, 50.0, score=0.1)
    store.add("A", HOUR_MS, 101.0, score=0.1)
    store.add("B", 2 * HOUR_MS, 51.0, score=0.1)  # B has no bar 1
    store.add("A", 2 * HOUR_MS, 102.0, score=0.1)
    steps = advance(desk, store, ["A", "B"])
    assert [s.bar_ms for s in steps] == [0, HOUR_MS, 2 * HOUR_MS]
    assert set(steps[1].estimates) == {"A"}


def test_quotes_read_from_the_store_equal_the_replays():
    [s] = market(3, symbols=1, bars=120)
    store = Stored()
    for i in range(120):
        store.add(s.symbol, int(s.bar_ms[i]), float(s.close[i]), score=0.3)
    q = quote(store, s.symbol, int(s.bar_ms[100]), 48)
    assert q.close == s.close[100] and q.sigma == s.sigma[100]  # to the bit
    assert q.score == pytest.approx(0.3)
    assert math.isnan(quote(store, s.symbol, int(s.bar_ms[10]), 48).sigma)


def test_the_feed_driven_desk_equals_the_replay_trade_by_trade():
    settings = TradingSettings(uncertainty_z=0.0, min_outcomes=50)
    series = market(5, symbols=3, bars=500, edge=0.2, degraded=0.05)
    store = Stored()
    live = Desk(settings, HOUR_MS)
    steps = []
    for i in range(500):  # bars arrive symbol by symbol; the desk is poked after each
        for s in series:
            score = float(s.score[i])
            finite = math.isfinite(score)
            store.add(s.symbol, int(s.bar_ms[i]), float(s.close[i]),
                      score=2 * score / 8 if finite else None, degraded=not finite)  # fmt: skip
            steps += advance(live, store, [x.symbol for x in series])
    # the store's score is P(up) - P(down) of the probabilities written above
    scored = [Series(s.symbol, s.bar_ms, s.close, s.score / 4, s.sigma) for s in series]
    replayed = replay(settings, HOUR_MS, scored)
    fills = [f for step in steps for f in step.fills]
    assert len(fills) > 50
    assert [(f.bar_ms, f.symbol, f.book, f.action) for f in fills] == [
        (f.bar_ms, f.symbol, f.book, f.action) for f in replayed.fills
    ]
    np.testing.assert_allclose(
        [f.price for f in fills], [f.price for f in replayed.fills], rtol=1e-12
    )
