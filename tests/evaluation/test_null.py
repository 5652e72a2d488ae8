"""Exposure-matched random null: run shuffles and percentiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation import null
from models.evaluation.strategy import net_returns


def runs(values: np.ndarray) -> list[tuple[int, int]]:
    out, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            out.append((int(values[start]), i - start))
            start = i
    return out


def test_run_shuffles_keep_exposure_and_runs_but_move_them():
    values = np.array([1, 1, 0, 0, 0, -1, 1, 1, 1, 0, -1, -1])
    idx = null.run_shuffles(values, 50, np.random.default_rng(3))
    assert idx.shape == (50, values.size)
    moved = 0
    for row in idx:
        drawn = values[row]
        assert sorted(row.tolist()) == list(range(values.size))  # a permutation of bars
        assert sorted(drawn.tolist()) == sorted(values.tolist())  # same exposure
        assert sum(n for _, n in runs(drawn)) == values.size
        moved += not np.array_equal(drawn, values)
    assert moved > 40


def test_run_shuffles_are_reproducible_from_the_seed():
    values = np.array([0, 1, 1, -1, 0, 0, 1])
    a = null.run_shuffles(values, 5, null.draw_rng(0, "BTCUSDT", "smc"))
    b = null.run_shuffles(values, 5, null.draw_rng(0, "BTCUSDT", "smc"))
    c = null.run_shuffles(values, 5, null.draw_rng(0, "ETHUSDT", "smc"))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_shuffled_returns_follow_the_strategy_rule():
    position = np.array([1, 0, -1])
    nxt = np.array([0.01, 0.02, -0.03])
    identity = np.arange(3)[None, :]
    np.testing.assert_allclose(
        null.shuffled_returns(position, nxt, 7.0, identity)[0], net_returns(position, nxt, 7.0)
    )


def test_percentile_counts_ties_half_and_ignores_nan():
    draws = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert null.percentile(2.5, draws) == pytest.approx(50.0)
    assert null.percentile(2.0, draws) == pytest.approx(37.5)  # 1 below, 1 tie of 4
    assert null.percentile(9.0, draws) == 100.0
    assert math.isnan(null.percentile(math.nan, draws))
    assert null.percentile(1.0 + 1e-13, np.array([1.0])) == 50.0  # rounding is a tie


def test_sharpe_rows_match_the_one_dimensional_sharpe():
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.01, size=(4, 100))
    expected = r.mean(axis=1) / r.std(axis=1) * math.sqrt(8760)
    np.testing.assert_allclose(null.sharpe_rows(r), expected)
