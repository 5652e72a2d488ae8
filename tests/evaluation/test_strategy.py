"""Signal-following strategy: costs, Sharpe, drawdown and turnover by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation import strategy


def test_net_returns_charge_each_unit_of_position_change():
    position = np.array([1, 1, -1, 0])
    nxt = np.array([0.01, -0.02, 0.03, 0.05])
    # changes 1 (enter), 0, 2 (flip), 1 (exit); 10 bps each unit
    expected = np.array([0.01 - 0.001, -0.02, -0.03 - 0.002, 0.0 - 0.001])
    np.testing.assert_allclose(strategy.net_returns(position, nxt, 10.0), expected)
    assert strategy.turnover(position) == pytest.approx(1.0)
    assert strategy.exposure(position) == pytest.approx(0.75)


def test_missing_next_return_earns_nothing_but_still_pays():
    out = strategy.net_returns(np.array([0, 1]), np.array([0.01, np.nan]), 5.0)
    np.testing.assert_allclose(out, [0.0, -0.0005])


def test_sharpe_by_hand():
    assert strategy.sharpe_ratio(np.array([0.02, 0.0])) == pytest.approx(math.sqrt(8760))
    assert strategy.sharpe_ratio(np.array([0.01, -0.01])) == pytest.approx(0.0)
    assert math.isnan(strategy.sharpe_ratio(np.zeros(10)))  # never traded: no Sharpe
    assert strategy.sharpe_ratio(np.array([0.02, 0.0]), periods_per_year=4) == pytest.approx(2.0)


def test_max_drawdown_by_hand():
    # equity 1 -> 1.1 -> 0.88 -> 0.968: peak 1.1, trough 0.88 -> 20 %
    assert strategy.max_drawdown(np.array([0.1, -0.2, 0.1])) == pytest.approx(0.2)
    assert strategy.max_drawdown(np.array([-0.5])) == pytest.approx(0.5)  # from the start
    assert strategy.max_drawdown(np.array([0.1, 0.1])) == 0.0


def test_total_and_annualised_return():
    r = np.array([0.1, -0.2, 0.1])
    assert strategy.total_return(r) == pytest.approx(1.1 * 0.8 * 1.1 - 1)
    assert strategy.annualised_return(np.full(8760, 0.0001)) == pytest.approx(1.0001**8760 - 1)


def test_summary_of_a_slice_keeps_the_cost_on_the_bar_that_changed():
    position = np.array([1, 1, -1, -1])
    nxt = np.array([0.0, 0.0, 0.0, 0.0])
    mask = np.array([False, False, True, True])
    out = strategy.strategy_summary(position, nxt, 10.0, mask)
    # the flip (2 units) happens on bar 2, inside the slice
    assert out["total_return"] == pytest.approx(-0.002)
    assert out["turnover"] == pytest.approx(1.0)
    assert out["exposure"] == 1.0


def test_a_slice_without_any_position_has_no_sharpe_even_if_an_exit_cost_lands_there():
    position = np.array([1, 1, 0, 0])
    nxt = np.array([0.01, 0.02, -0.01, 0.03])
    out = strategy.strategy_summary(position, nxt, 10.0, np.array([False, False, True, True]))
    assert out["exposure"] == 0.0 and math.isnan(out["sharpe"])
    assert out["total_return"] == pytest.approx(-0.001)  # the exit still cost 10 bps
