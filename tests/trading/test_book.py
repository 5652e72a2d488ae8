"""Book accounting: fills at the bar's own close, fees once, equity = cash + marked positions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.errors import TradingError
from models.trading import Book, Costs, Desk, Quote, Target, TradingSettings
from models.trading.replay import follow_targets, replay, timeline
from tests.trading.simulate import HOUR_MS, market

COSTS = Costs(fee_bps=10.0, slippage_bps=5.0)


def target(symbol, action, weight=0.0):
    return Target(symbol, action, weight, 4, 10.0, action)


def test_a_round_trip_by_hand():
    book = Book("paper", COSTS, 10_000.0)
    [fill] = book.execute(0, {"A": 100.0}, {"A": target("A", "open", 0.5)})
    assert fill.quantity == pytest.approx(50.0)
    assert fill.price == pytest.approx(100.05)
    assert fill.fee == pytest.approx(50 * 100.05 * 1e-3)
    assert book.cash == pytest.approx(10_000 - 50 * 100.05 - fill.fee)
    book.update_marks({"A": 110.0})
    assert book.equity() == pytest.approx(book.cash + 50 * 110.0)
    [close] = book.execute(1, {"A": 110.0}, {"A": target("A", "close")})
    assert close.price == pytest.approx(110 * (1 - 5e-4))
    pnl = 50 * (close.price - 100.05) - fill.fee - close.fee
    assert close.pnl == pytest.approx(pnl)
    assert close.net_return_bps == pytest.approx(pnl / (50 * 100.05) * 1e4)
    assert book.equity() == pytest.approx(10_000 + pnl)
    assert book.positions == {}


def test_a_short_and_a_flip_by_hand():
    book = Book("paper", Costs(0.0), 1000.0)
    book.execute(0, {"A": 10.0}, {"A": target("A", "open", -0.5)})
    assert book.positions["A"].quantity == pytest.approx(-50.0)
    assert book.cash == pytest.approx(1500.0)
    fills = book.execute(1, {"A": 8.0}, {"A": target("A", "flip", 0.5)})
    assert [f.action for f in fills] == ["close", "open"]
    assert fills[0].pnl == pytest.approx(100.0)  # short 50 from 10 to 8
    assert fills[1].quantity == pytest.approx(0.5 * 1100.0 / 8.0)  # sized on equity 1100
    assert book.equity() == pytest.approx(1100.0)


def test_a_target_without_a_close_at_the_bar_is_refused():
    with pytest.raises(TradingError, match="no close"):
        Book("paper", COSTS, 1.0).execute(0, {"A": 1.0}, {"B": target("B", "open", 0.1)})
    with pytest.raises(TradingError, match="close of A"):
        Book("paper", COSTS, 1.0).execute(0, {"A": -1.0}, {})


def _run(series, settings):
    """Steps the desk and checks every invariant after every bar."""
    desk = Desk(settings, HOUR_MS)
    closes_at: dict[int, dict[str, float]] = {}
    results = []
    for bar_ms, quotes in timeline(series):
        closes_at[bar_ms] = {s: q.close for s, q in quotes.items()}
        result = desk.step(bar_ms, quotes)
        results.append(result)
        for name, book in desk.books.items():
            marked = sum(p.quantity * book.marks[s] for s, p in book.positions.items())
            assert result.equity[name].equity == pytest.approx(book.cash + marked, rel=1e-12)
            assert result.equity[name].cash == book.cash
    return desk, results, closes_at


@pytest.mark.parametrize("seed", [0, 1])
def test_invariants_over_a_random_market(seed):
    settings = TradingSettings(fee_bps=3.0, slippage_bps=2.0, uncertainty_z=0.0, min_outcomes=50)
    series = market(seed, symbols=3, bars=600, edge=0.1, degraded=0.1)
    desk, results, closes_at = _run(series, settings)
    fills = [f for r in results for f in r.fills]
    assert len(fills) > 50
    for f in fills:  # each fill at its own bar's close, moved by the slippage, never later
        close = closes_at[f.bar_ms][f.symbol]
        assert f.price == pytest.approx(close * (1 + np.sign(f.quantity) * 2e-4), rel=1e-12)
        assert f.fee == pytest.approx(abs(f.quantity) * f.price * 3e-4, rel=1e-12)
    for name, book in desk.books.items():
        own = [f for f in fills if f.book == name]
        # cash: the initial cash less what every fill paid, its fee once
        cash = settings.initial_cash - sum(f.quantity * f.price + f.fee for f in own)
        assert book.cash == pytest.approx(cash, rel=1e-9)
        # equity: closed round trips' P&L (both fees in) + the open positions' (entry fee in)
        open_pnl = sum(
            p.quantity * (book.marks[s] - p.entry_price) - p.entry_fee
            for s, p in book.positions.items()
        )
        closed = sum(f.pnl for f in own if f.pnl is not None)
        assert book.equity() == pytest.approx(settings.initial_cash + closed + open_pnl, rel=1e-9)


def test_the_first_k_bars_do_not_depend_on_later_ones():
    settings = TradingSettings(uncertainty_z=0.0, min_outcomes=50)
    series = market(3, symbols=2, bars=500, edge=0.1)
    k = 300
    cut = [type(s)(s.symbol, s.bar_ms[:k], s.close[:k], s.score[:k], s.sigma[:k]) for s in series]
    changed = [
        type(s)(s.symbol, s.bar_ms, np.r_[s.close[:k], s.close[k:] * 3], s.score, s.sigma)
        for s in series
    ]
    short, full, other = (replay(settings, HOUR_MS, x) for x in (cut, series, changed))
    assert short.fills == [f for f in full.fills if f.bar_ms < series[0].bar_ms[k]]
    assert short.fills == [f for f in other.fills if f.bar_ms < series[0].bar_ms[k]]
    assert short.equity["paper"] == full.equity["paper"][:k]


def test_a_bar_is_stepped_once():
    desk = Desk(TradingSettings(), HOUR_MS)
    desk.step(HOUR_MS, {"A": Quote(1.0, 0.1, 0.01)})
    with pytest.raises(TradingError, match="already at bar"):
        desk.step(HOUR_MS, {"A": Quote(1.0, 0.1, 0.01)})


def test_a_restored_desk_continues_bit_for_bit():
    settings = TradingSettings(uncertainty_z=0.0, min_outcomes=50)
    series = market(4, symbols=3, bars=400, edge=0.1, degraded=0.05)
    bars = list(timeline(series))
    whole, restored = Desk(settings, HOUR_MS), Desk(settings, HOUR_MS)
    expected = [whole.step(b, q) for b, q in bars]
    got = [restored.step(b, q) for b, q in bars[:250]]
    saved = json.loads(json.dumps(restored.state_dict()))
    restored = Desk(settings, HOUR_MS)
    restored.load_state_dict(saved)
    got += [restored.step(b, q) for b, q in bars[250:]]
    assert [r.fills for r in got] == [r.fills for r in expected]
    assert [r.equity for r in got] == [r.equity for r in expected]
    assert restored.state_dict() == whole.state_dict()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"format": 9}, "format"),
        ({"step_ms": 60_000}, "bars of"),
        ({"pending": [[1]]}, "malformed"),
    ],
)
def test_a_foreign_state_is_refused(change, match):
    state = {**Desk(TradingSettings(), HOUR_MS).state_dict(), **change}
    with pytest.raises(TradingError, match=match):
        Desk(TradingSettings(), HOUR_MS).load_state_dict(state)


def test_buy_and_hold_through_the_book():
    settings = TradingSettings(fee_bps=5.0, slippage_bps=0.0)
    series = market(5, symbols=2, bars=100)
    weights = {s.symbol: np.full(100, 0.5) for s in series}
    run = follow_targets("buy_and_hold", settings, series, weights, "buy and hold")
    assert len(run.fills) == 2  # bought once each, never rebalanced
    growth = np.mean([s.close[-1] / s.close[0] for s in series])
    expected = settings.initial_cash * (growth - 5e-4)  # fees paid from cash at entry
    assert run.equity["buy_and_hold"][-1].equity == pytest.approx(expected, rel=1e-12)
    assert run.equity["buy_and_hold"][-1].benchmark == pytest.approx(
        settings.initial_cash * growth, rel=1e-12
    )


def test_market_neutral_trades_nothing_when_every_symbol_expects_the_same():
    settings = TradingSettings(market_neutral=True, uncertainty_z=0.0, min_outcomes=20)
    [a] = market(6, symbols=1, bars=300, edge=0.3)
    twins = [a, type(a)("TWINUSDT", a.bar_ms, a.close, a.score, a.sigma)]
    run = replay(settings, HOUR_MS, twins)
    assert run.fills == []
    assert all(e is None or abs(e.mu_bps) < 1e-9 for e in run.estimates[a.symbol].values())
