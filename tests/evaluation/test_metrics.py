"""Forecast metrics on cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation import metrics


def test_accuracy_win_rate_and_false_signals_by_hand():
    direction = np.array([1, -1, 1, 0, -1])
    label = np.array([2, 0, 1, 2, 1])  # up, down, flat, up, flat
    # classes predicted: up, down, up, flat, down -> right on rows 0 and 1 only.
    assert metrics.accuracy(direction, label) == pytest.approx(2 / 5)
    # calls: rows 0, 1, 2, 4; wins: 0 (up->up), 1 (down->down); row 2 ended flat: false.
    assert metrics.win_rate(direction, label) == pytest.approx(0.5)
    assert metrics.false_signal_rate(direction, label) == pytest.approx(0.5)
    assert metrics.false_signal_count(direction, label) == 2


def test_metrics_of_nothing_are_nan_not_errors():
    empty = np.array([], dtype=float)
    assert math.isnan(metrics.accuracy(empty, empty))
    assert math.isnan(metrics.win_rate(np.zeros(3), np.ones(3)))  # no calls
    assert math.isnan(metrics.false_signal_rate(np.zeros(3), np.ones(3)))
    assert math.isnan(metrics.log_loss(np.zeros((0, 3)), empty))
    assert math.isnan(metrics.information_coefficient(np.ones(5), np.arange(5.0)))


def test_pesaran_timmermann_by_hand():
    predicted = np.array([1, 1, 1, -1, -1, 1, -1, 1])
    realized = np.array([1, 1, -1, -1, -1, 1, 1, 1])
    # px = py = 5/8, P = 6/8, P* = 25/64 + 9/64 = 34/64.
    # var(P) = P*(1-P*)/8; var(P*) = 2 * (1/4)^2 * (15/64) / 8 + 4 * (15/64)^2 / 64.
    p_star = 34 / 64
    var_p = p_star * (1 - p_star) / 8
    var_star = 2 * 0.0625 * (15 / 64) / 8 + 4 * (15 / 64) ** 2 / 64
    expected = (0.75 - p_star) / math.sqrt(var_p - var_star)
    stat, p = metrics.pesaran_timmermann(predicted, realized)
    assert stat == pytest.approx(expected, rel=1e-12)
    assert stat == pytest.approx(1.4111, abs=1e-4)
    assert p == pytest.approx(0.5 * math.erfc(expected / math.sqrt(2)), rel=1e-9)


def test_pesaran_timmermann_is_undefined_when_one_side_never_happens():
    stat, p = metrics.pesaran_timmermann(np.ones(10), np.array([1, -1] * 5))
    assert math.isnan(stat) and math.isnan(p)


def test_pesaran_timmermann_is_near_zero_for_independent_signs():
    rng = np.random.default_rng(7)
    x, y = rng.choice([-1, 1], 20_000), rng.choice([-1, 1], 20_000)
    stat, p = metrics.pesaran_timmermann(x, y)
    assert abs(stat) < 4.0 and 0.0 < p < 1.0
    stat, _ = metrics.pesaran_timmermann(x, x)
    assert stat > 100  # perfect foresight


def test_information_coefficient_by_hand():
    score = np.array([1.0, 2.0, 3.0, 4.0])
    assert metrics.information_coefficient(score, score * 10) == pytest.approx(1.0)
    assert metrics.information_coefficient(score, -score) == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (1,3,2,4): d^2 sums to 2, rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert metrics.information_coefficient(score, np.array([1.0, 3.0, 2.0, 4.0])) == pytest.approx(
        0.8
    )


def test_log_loss_and_brier_by_hand():
    probs = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    label = np.array([2, 0])
    assert metrics.log_loss(probs, label) == pytest.approx(-(math.log(0.5) + math.log(0.7)) / 2)
    # (0.04 + 0.09 + 0.25 + 0.09 + 0.04 + 0.01) / 2
    assert metrics.brier_score(probs, label) == pytest.approx(0.26)
    certain_miss = np.array([[1.0, 0.0, 0.0]])
    assert math.isfinite(metrics.log_loss(certain_miss, np.array([2])))
    assert metrics.brier_score(certain_miss, np.array([2])) == pytest.approx(2.0)
