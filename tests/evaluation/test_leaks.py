"""Leak checks: with the outcomes shuffled, no predictor may look better than chance.

If any step of the scoring aligned a prediction with its own future (an off-by-one, a label
taken at the wrong row), real predictions scored against shuffled outcomes would still show
skill. Shuffling breaks every link between a bar and its outcome, so accuracy must fall to
the base rate ``sum_k P(pred = k) * P(label = k)`` and the IC to zero, within sampling error.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from models.evaluation.outcomes import compute_outcomes
from models.evaluation.predict import PredictorSpec, predict_period
from models.evaluation.scoring import classification_scores
from models.evaluation.signals import Signals, from_predictions
from models.predictors.technical import TechnicalPredictor


@pytest.fixture(scope="module")
def scored(btc):
    frame = btc.slice(10_000, 4_200)
    rows = np.arange(200, frame.height)
    preds = predict_period(frame, rows, {"indicators": PredictorSpec(TechnicalPredictor())})
    return from_predictions("indicators", preds["indicators"]), compute_outcomes(frame, rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shuffled_outcomes_give_base_rate_accuracy_and_zero_ic(scored, seed):
    signals, outcomes = scored
    order = np.random.default_rng(seed).permutation(len(outcomes))
    shuffled = replace(
        outcomes, label=outcomes.label[order], forward_return=outcomes.forward_return[order]
    )
    mask = np.ones(len(outcomes), bool)
    out = classification_scores(signals, shuffled, mask)
    use = signals.covered & shuffled.labelled
    n = int(use.sum())
    pred = np.bincount(signals.direction[use] + 1, minlength=3) / n
    real = np.bincount(shuffled.label[use].astype(int), minlength=3) / n
    base = float(pred @ real)
    assert abs(out["accuracy"] - base) < 4 * math.sqrt(base * (1 - base) / n)
    assert abs(out["ic"]) < 4 / math.sqrt(n)
    assert out["pt_pvalue"] > 1e-4  # no "significant" direction skill from noise


def test_a_leaking_signal_is_caught_by_the_same_check(scored):
    """A 'predictor' that reads the future scores far above chance until outcomes are shuffled.

    This is what the check above would see if the pipeline leaked, so it shows the check has
    teeth; it also shows the metrics reward real information when there is some.
    """
    _, outcomes = scored
    fwd = np.nan_to_num(outcomes.forward_return)
    probs = np.where(fwd[:, None] > 0, [0.1, 0.2, 0.7], [0.7, 0.2, 0.1])
    direction = np.where(fwd > 0, 1, -1).astype(np.int8)
    covered = np.ones(len(outcomes), bool)
    cheat = Signals("cheat", "predictor", direction, covered, covered, probs, probs.max(axis=1))
    mask = np.ones(len(outcomes), bool)
    honest = classification_scores(cheat, outcomes, mask)
    assert honest["ic"] > 0.5 and honest["hit_rate"] > 0.99 and honest["pt_pvalue"] < 1e-12
    order = np.random.default_rng(0).permutation(len(outcomes))
    shuffled = replace(
        outcomes, label=outcomes.label[order], forward_return=outcomes.forward_return[order]
    )
    assert abs(classification_scores(cheat, shuffled, mask)["ic"]) < 0.07
