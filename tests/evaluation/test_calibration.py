"""Reliability curve, ECE and accuracy by confidence decile on hand-checked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation.calibration import (
    accuracy_by_quantile,
    expected_calibration_error,
    reliability_curve,
)


def test_ece_by_hand():
    prob = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = np.array([1, 1, 1, 0, 1, 0], bool)
    # bin [0.9, 1]: 4 rows, accuracy 0.75 vs 0.95 -> gap 0.2; bin [0.5, 0.6): 2 rows, 0.5 vs 0.55
    assert expected_calibration_error(prob, correct) == pytest.approx((4 * 0.2 + 2 * 0.05) / 6)


def test_perfectly_calibrated_forecasts_have_zero_ece():
    prob = np.repeat([0.25, 0.75], 4)
    correct = np.array([1, 0, 0, 0, 1, 1, 1, 0], bool)
    assert expected_calibration_error(prob, correct) == pytest.approx(0.0)


def test_reliability_bins_put_one_in_the_last_bin_and_leave_empty_bins_nan():
    bins = reliability_curve(np.array([0.0, 0.1, 1.0]), np.array([0, 1, 1], bool), n_bins=10)
    assert bins.count.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert bins.accuracy[9] == 1.0 and math.isnan(bins.accuracy[5])
    assert math.isnan(expected_calibration_error(np.array([]), np.array([], bool)))


def test_accuracy_by_decile_rises_when_confidence_is_informative():
    conf = np.linspace(0.0, 1.0, 1000)
    correct = conf > 0.5
    bins = accuracy_by_quantile(conf, correct)
    assert len(bins.count) == 10 and bins.count.sum() == 1000
    assert bins.accuracy[:5].tolist() == [0.0] * 5 and bins.accuracy[5:].tolist() == [1.0] * 5
    assert np.all(np.diff(bins.mean_value) > 0)


def test_accuracy_by_decile_merges_tied_confidences():
    conf = np.array([0.0] * 80 + [0.5] * 20)
    bins = accuracy_by_quantile(conf, np.ones(100, bool))
    assert bins.count.sum() == 100 and len(bins.count) == 2
