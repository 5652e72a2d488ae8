"""From per-bar scores to the label, its confidence and the chance it changes next bar.

The transition probability combines two causal reasons to expect a switch, as a noisy-OR:
the regime sequence's own recent switch rate (how restless this market has been), and how
close the runner-up regime is (how easily the next bar tips the argmax). Neither needs
future bars, so the ensemble can use it live.
"""

from __future__ import annotations

import numpy as np

from models.regime.config import RegimeConfig


def label_and_confidence(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bar: best regime index (-1 in warm-up), margin best - runner-up, runner-up/best.

    The margin is the confidence: 1 when one regime is fully on and all others off, 0 on a
    tie. The ratio feeds the transition probability (1 on a tie or when nothing scores).
    """
    valid = ~np.isnan(scores).any(axis=1)
    filled = np.where(valid[:, None], scores, 0.0)
    order = np.argsort(-filled, axis=1, kind="stable")
    best = np.take_along_axis(filled, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(filled, order[:, 1:2], axis=1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(best > 0, second / best, 1.0)
    label = np.where(valid, order[:, 0], -1)
    margin = np.where(valid, best - second, np.nan)
    ratio = np.where(valid, ratio, np.nan)
    return label, margin, ratio


def switch_rate(labels: np.ndarray, window: int, prior: float) -> np.ndarray:
    """Smoothed share of regime changes among the last ``window`` bar-to-bar steps.

    ``(switches + prior) / (steps + 2 * prior)``: starts at 1/2 right after warm-up and
    tends to the empirical rate as history accrues. Integer counts keep it prefix-exact.
    """
    n = labels.size
    defined = np.zeros(n, dtype=np.int64)
    switched = np.zeros(n, dtype=np.int64)
    if n > 1:
        both = (labels[1:] >= 0) & (labels[:-1] >= 0)
        defined[1:] = both
        switched[1:] = both & (labels[1:] != labels[:-1])
    steps = _trailing_sum(defined, window)
    changes = _trailing_sum(switched, window)
    rate = (changes + prior) / (steps + 2.0 * prior)
    return np.where(labels >= 0, rate, np.nan)


def transition_probability(
    labels: np.ndarray, runner_up_ratio: np.ndarray, config: RegimeConfig
) -> np.ndarray:
    """Noisy-OR ``1 - (1 - rate) * (1 - w * runner_up / best)`` per bar, in [0, 1].

    ``rate`` is :func:`switch_rate`; ``w`` (``config.runner_up_weight``) is the chance of a
    switch attributed to a dead heat between the two best regimes.
    """
    rate = switch_rate(labels, config.transition_window, config.switch_prior)
    return 1.0 - (1.0 - rate) * (1.0 - config.runner_up_weight * runner_up_ratio)


def _trailing_sum(counts: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` entries (fewer at the start), exact on integers."""
    total = np.cumsum(counts)
    out: np.ndarray = total.copy()
    out[window:] -= total[:-window]
    return out
