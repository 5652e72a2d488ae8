"""book.csv: the trading layer's desk replayed for every scorer, members_mean, buy-and-hold
and the old per-bar rule, per symbol and pooled, at every cost."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from models.evaluation.books import BookJob, book_table, run_job
from models.evaluation.outcomes import Outcomes
from models.evaluation.period import Period
from models.evaluation.signals import Signals
from models.evaluation.symbol_eval import SymbolResult
from models.trading import TradingSettings
from models.trading.metrics import book_summary
from models.trading.replay import replay
from tests.evaluation.answer_keys import answer_key
from tests.trading.simulate import HOUR_MS, market

SETTINGS = TradingSettings(min_outcomes=50, uncertainty_z=0.0)
COSTS = (0.0, 4.0, 10.0)


def _outcomes(series) -> Outcomes:
    return answer_key(series.bar_ms.astype("datetime64[ms]"))


def _signals(name, kind, score, scale=1.0, bias=0.0):
    """Probabilities whose up - down is ``scale * score + bias`` (NaN: not covered)."""
    covered = np.isfinite(score)
    s = np.clip(np.where(covered, scale * score + bias, 0.0), -0.9, 0.9)
    probs = np.column_stack([(1 - s) / 2 - 0.05, np.full(s.size, 0.1), (1 + s) / 2 - 0.05])
    probs[~covered] = np.nan
    direction = np.where(covered, np.sign(s), 0).astype(np.int8)
    return Signals(name, kind, direction, covered, covered & (direction != 0), probs)


def _results(series):
    out = []
    for k, s in enumerate(series):
        score = s.score / 4  # a score in [-1, 1]-ish
        signals = [
            _signals("indicators", "predictor", -score),
            _signals("lgbm", "predictor", score, scale=0.05, bias=0.1),
            _signals("ens_learned_unfiltered", "ensemble", score),
            _signals("members_mean", "baseline", score, scale=0.5),
            _signals("buy_and_hold", "baseline", np.ones(score.size)),
        ]
        if k:  # no trained transformer for the first symbol
            signals.insert(2, _signals("transformer", "predictor", score))
        start = datetime.fromtimestamp(s.bar_ms[0] / 1000, tz=timezone.utc)
        period = Period(s.symbol, start, start, np.arange(len(s.bar_ms)), "test")
        prices = {"close": s.close, "sigma": s.sigma}
        out.append(SymbolResult(s.symbol, period, _outcomes(s), signals, {}, prices=prices))
    return out


@pytest.fixture(scope="module")
def table():
    series = market(7, symbols=2, bars=700, edge=0.2, degraded=0.05)
    results = _results(series)
    df = book_table(
        results, "ens_learned", ["indicators", "lgbm", "transformer"], SETTINGS, COSTS, draws=200,
    )  # fmt: skip
    return series, results, df


def test_every_strategy_symbol_book_and_cost_has_a_row(table):
    series, _, df = table
    needed = {"strategy", "symbol", "cost_bps", "net_return", "sharpe", "max_drawdown",
              "turnover", "trades", "p_value"}  # fmt: skip
    assert needed <= set(df.columns)
    keys = set(df.select("strategy", "book").unique().iter_rows())
    scorers = ("ens_learned", "indicators", "lgbm", "transformer", "members_mean")
    assert keys == {
        *((s, b) for s in scorers for b in ("paper", "shadow")),
        ("buy_and_hold", "hold"),
        ("ens_learned_per_bar", "per_bar"),
    }
    for strategy, book in keys:
        rows = df.filter((df["strategy"] == strategy) & (df["book"] == book))
        symbols = {s.symbol for s in series} if strategy != "transformer" else {series[1].symbol}
        assert set(rows["symbol"]) == {"POOLED", *symbols}, strategy
        assert sorted(set(rows["cost_bps"])) == list(COSTS)


def test_the_pooled_row_is_the_live_desk_over_every_symbol(table):
    series, _, df = table
    run = replay(SETTINGS.with_round_trip(4.0), HOUR_MS, [
        type(s)(s.symbol, s.bar_ms, s.close, s.score / 4, s.sigma) for s in series
    ])  # fmt: skip
    expected = book_summary(run.equity["shadow"], run.book_fills("shadow"), 1e4, HOUR_MS, 200)
    row = df.filter(
        (df["strategy"] == "ens_learned") & (df["book"] == "shadow") & (df["symbol"] == "POOLED")
        & (df["cost_bps"] == 4.0)
    ).row(0, named=True)  # fmt: skip
    assert row["trades"] == expected["trades"] > 0
    assert row["net_return"] == pytest.approx(expected["net_return"], rel=1e-12)


def test_members_mean_trades_the_replays_equal_weight_baseline(table):
    _, results, df = table
    assert all(any(s.name == "members_mean" for s in r.signals) for r in results)
    rows = df.filter(df["strategy"] == "members_mean")
    assert set(rows["symbol"]) == {"POOLED", *(r.symbol for r in results)}
    assert rows["trades"].sum() > 0


def test_a_higher_cost_trades_no_more_on_these_bars_and_costs_are_paid(table):
    _, _, df = table
    shadow = df.filter((df["book"] == "shadow") & (df["symbol"] == "POOLED"))
    for strategy in set(shadow["strategy"]):
        trades = shadow.filter(shadow["strategy"] == strategy).sort("cost_bps")["trades"]
        assert list(trades) == sorted(trades, reverse=True), strategy
    hold = df.filter((df["strategy"] == "buy_and_hold") & (df["symbol"] == "POOLED"))
    returns = hold.sort("cost_bps")["net_return"].to_list()
    assert returns[0] > returns[1] > returns[2]  # one entry fee, larger with the cost


def test_the_old_rule_flips_through_the_same_book(table):
    series, results, _ = table
    job = BookJob("ens_learned_per_bar", "per_bar", (series[0],), SETTINGS, (10.0,), HOUR_MS,
                  200, 0, weights=(results[0].signals[2].position.astype(float),))  # fmt: skip
    rows = run_job(job)
    assert {r["symbol"] for r in rows} == {"POOLED", series[0].symbol}
    assert rows[0]["trades"] > 100  # re-decided every bar
    assert rows[0]["turnover"] > 0.2
