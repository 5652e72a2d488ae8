"""The desk between and across bars: scores, proposals for an answer, one symbol alone."""

from __future__ import annotations

import math

import pytest

from models.errors import TradingError
from models.trading import PAPER, Desk, Quote, TradingSettings
from models.trading.replay import Series, replay, replay_with, timeline
from models.trading.score import answer_score, probability_score, signal_score
from tests.trading.simulate import HOUR_MS, market


def test_the_score_is_p_up_minus_p_down_unless_the_signal_states_its_own():
    assert probability_score((0.2, 0.3, 0.5)) == pytest.approx(0.3)
    assert probability_score({"down": 0.5, "flat": 0.3, "up": 0.2}) == pytest.approx(-0.3)

    class Signal:
        probabilities = (0.2, 0.3, 0.5)

    class Scored(Signal):
        score = 1.7

    assert signal_score(Signal()) == pytest.approx(0.3)
    assert signal_score(Scored()) == 1.7
    answer = {"probabilities": {"down": 0.1, "flat": 0.4, "up": 0.5}, "degraded": False}
    assert answer_score(answer) == pytest.approx(0.4)
    assert answer_score({**answer, "score": -0.2}) == -0.2
    assert answer_score({**answer, "degraded": True}) is None
    with pytest.raises(TradingError, match="score"):
        answer_score({**answer, "score": "high"})
    with pytest.raises(TradingError, match="probabilities"):
        probability_score((0.5, 0.5))


@pytest.mark.parametrize(
    ("close", "score", "sigma", "field"),
    [(0.0, 0.1, 0.01, "close"), (1.0, math.nan, 0.01, "score"), (1.0, 0.1, -1.0, "sigma")],
)
def test_a_bad_quote_names_its_field(close, score, sigma, field):
    with pytest.raises(TradingError, match=field):
        Quote(close, score, sigma)


def test_series_must_be_aligned_and_increasing():
    [s] = market(0, symbols=1, bars=10)
    with pytest.raises(TradingError, match="score"):
        Series(s.symbol, s.bar_ms, s.close, s.score[:5], s.sigma)
    with pytest.raises(TradingError, match="increase"):
        Series(s.symbol, s.bar_ms[::-1], s.close, s.score, s.sigma)


def test_a_proposal_between_steps_is_what_the_next_step_decides():
    certificate = {"min_trades": 5, "draws": 1000}
    settings = TradingSettings(uncertainty_z=0.0, min_outcomes=50, certificate=certificate)
    [s] = market(1, symbols=1, bars=600, edge=0.3)
    desk = Desk(settings, HOUR_MS)
    agree = 0
    for bar_ms, quotes in timeline([s]):
        estimate, decision = desk.proposal(s.symbol, bar_ms, quotes[s.symbol])
        step = desk.step(bar_ms, quotes)
        assert step.estimates[s.symbol] == estimate
        target = step.targets[PAPER][s.symbol]
        assert (target.action, target.reason) == (decision.action, decision.reason)
        agree += decision.action == "open"
    assert agree > 0
    _, dear = desk.proposal(s.symbol, bar_ms + HOUR_MS, quotes[s.symbol], cost_bps=10_000.0)
    assert dear.action in ("flat", "hold", "renew", "close")


def test_degraded_quotes_and_missing_volatility_say_why():
    desk = Desk(TradingSettings(min_outcomes=2), HOUR_MS)
    step = desk.step(0, {"A": Quote(1.0, None, 0.01), "B": Quote(1.0, 0.3, math.nan)})
    assert "degraded answer" in step.targets[PAPER]["A"].reason
    assert "volatility" in step.targets[PAPER]["B"].reason
    step = desk.step(HOUR_MS, {"A": Quote(1.0, 0.3, 0.01)})
    assert "not estimated yet (0 of 2 outcomes)" in step.targets[PAPER]["A"].reason


def test_one_symbol_alone_with_the_pooled_estimates():
    settings = TradingSettings(uncertainty_z=0.0, min_outcomes=50)
    series = market(2, symbols=3, bars=400, edge=0.2)
    pooled = replay(settings, HOUR_MS, series)
    alone = replay_with(settings, HOUR_MS, series[:1], pooled)
    mine = [f for f in pooled.book_fills("shadow") if f.symbol == series[0].symbol]
    assert alone.book_fills("shadow")
    # under no binding gross cap the symbol trades alone exactly as in the pooled book
    assert [(f.bar_ms, f.action) for f in alone.book_fills("shadow")] == [
        (f.bar_ms, f.action) for f in mine
    ]


def test_estimates_do_not_depend_on_the_cost_so_a_replay_can_reuse_them():
    settings = TradingSettings(uncertainty_z=0.0, min_outcomes=50, market_neutral=True)
    series = market(3, symbols=3, bars=300, edge=0.2, degraded=0.1)
    cheap = replay(settings.with_round_trip(0.0), HOUR_MS, series)
    dear = replay(settings.with_round_trip(10.0), HOUR_MS, series)
    reused = replay_with(settings.with_round_trip(10.0), HOUR_MS, series, cheap)
    assert dear.estimates == cheap.estimates
    assert reused.fills == dear.fills and reused.equity == dear.equity
