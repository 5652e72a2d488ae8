"""Label, confidence and transition probability from hand-made scores and label sequences."""

from __future__ import annotations

import numpy as np
import pytest

from models.regime.config import RegimeConfig
from models.regime.transition import label_and_confidence, switch_rate, transition_probability


def test_label_is_argmax_and_confidence_is_the_margin() -> None:
    scores = np.array(
        [
            [np.nan] * 7,
            [0.1, 0.9, 0.2, 0.0, 0.0, 0.0, 0.3],
            [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0] * 7,
        ]
    )
    label, margin, ratio = label_and_confidence(scores)
    assert label.tolist() == [-1, 1, 0, 0]  # ties go to the first regime
    assert np.isnan(margin[0]) and np.isnan(ratio[0])
    np.testing.assert_allclose(margin[1:], [0.6, 0.0, 0.0])
    np.testing.assert_allclose(ratio[1:], [0.3 / 0.9, 1.0, 1.0])


def test_switch_rate_counts_changes_in_the_trailing_window() -> None:
    labels = np.array([-1, -1, 0, 0, 1, 1, 1, 2, 2, 2])
    rate = switch_rate(labels, window=4, prior=1.0)
    assert np.isnan(rate[:2]).all()
    # bar 2: no defined step yet -> prior 1/2; bar 4: 1 switch in 2 steps -> (1+1)/(2+2)
    assert rate[2] == 0.5
    assert rate[4] == pytest.approx(2 / 4)
    # bar 9: steps 6..9 hold one switch (at 7) -> (1 + 1) / (4 + 2)
    assert rate[9] == pytest.approx(2 / 6)
    steady = switch_rate(np.zeros(200, dtype=int), window=100, prior=1.0)
    assert steady[-1] == pytest.approx(1 / 102)


def test_transition_probability_is_a_noisy_or() -> None:
    cfg = RegimeConfig(transition_window=4, switch_prior=1.0, runner_up_weight=0.5)
    labels = np.array([0, 0, 0, 0, 0, 0])
    rate = switch_rate(labels, 4, 1.0)
    clear = transition_probability(labels, np.zeros(6), cfg)
    tied = transition_probability(labels, np.ones(6), cfg)
    np.testing.assert_allclose(clear, rate)
    np.testing.assert_allclose(tied, 1 - (1 - rate) * 0.5)
    assert np.all((tied > clear) & (tied <= 1.0))
