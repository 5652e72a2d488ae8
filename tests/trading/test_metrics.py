"""Book figures by hand: return from the initial cash, drawdown, turnover, trades, p-value."""

from __future__ import annotations

import math

import pytest

from models.trading import EquityPoint, Fill
from models.trading.metrics import MIN_TRADES_P, book_summary, periods_per_year

HOUR_MS = 3_600_000


def point(i, equity, gross=0.5, traded=0.0):
    return EquityPoint(i * HOUR_MS, equity, equity, gross, gross, traded)


def closing(net):
    return Fill("paper", 0, "A", "close", -1.0, 1.0, 0.0, "close", net / 1e4, net, 0)


def test_figures_by_hand():
    points = [point(1, 110.0, traded=0.5), point(2, 88.0), point(3, 96.8, gross=0.0)]
    out = book_summary(points, [closing(10.0), closing(-5.0)], 100.0, HOUR_MS)
    assert out["net_return"] == pytest.approx(-0.032)
    assert out["max_drawdown"] == pytest.approx(0.2)  # 110 -> 88
    assert out["turnover"] == pytest.approx(0.5 / 3)
    assert out["exposure"] == pytest.approx(2 / 3)
    assert out["trades"] == 2 and out["mean_trade_bps"] == pytest.approx(2.5)
    assert math.isnan(out["p_value"])  # too few trades for a p-value
    assert periods_per_year(HOUR_MS) == 8760


def test_a_p_value_from_enough_trades_and_no_sharpe_without_a_position():
    fills = [closing(5.0 + i % 3) for i in range(MIN_TRADES_P)]
    out = book_summary([point(1, 101.0), point(2, 102.0)], fills, 100.0, HOUR_MS, draws=500)
    assert 0 < out["p_value"] < 0.01
    flat = book_summary([point(1, 100.0, gross=0.0)] * 3, [], 100.0, HOUR_MS)
    assert math.isnan(flat["sharpe"]) and flat["trades"] == 0 and flat["net_return"] == 0.0
