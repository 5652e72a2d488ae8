"""Calibration: does a stated probability (or confidence) match how often the call is right?

Two different questions, both asked of every predictor:

- the **reliability curve** and **expected calibration error** are about the probability
  of the predicted class (``max(p_down, p_flat, p_up)``, "top-label" calibration): of the
  calls made at 60 %, were 60 % right? Bins are ``n_bins`` equal-width intervals of [0, 1]
  (the last one closed); ``ECE = sum_b (n_b / n) * |accuracy_b - mean probability_b|``.
- **accuracy by confidence decile** is about the predictor's own ``confidence`` score,
  which is what the ensemble's confidence filter thresholds: if the filter is to help,
  accuracy must rise with it. Deciles are quantile bins of the confidence of the rows
  evaluated (ties may leave a decile empty; it is then omitted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bins:
    """Per-bin counts, mean stated value and observed accuracy (NaN for an empty bin)."""

    lower: np.ndarray
    upper: np.ndarray
    count: np.ndarray
    mean_value: np.ndarray
    accuracy: np.ndarray


def _bin_stats(
    index: np.ndarray, value: np.ndarray, correct: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = np.bincount(index, minlength=n)[:n]
    sums = np.bincount(index, weights=value, minlength=n)[:n]
    hits = np.bincount(index, weights=correct.astype(float), minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            count,
            np.where(count > 0, sums / count, np.nan),
            np.where(count > 0, hits / count, np.nan),
        )


def reliability_curve(probability: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> Bins:
    """Equal-width bins of the stated ``probability`` and the share ``correct`` in each."""
    probability = np.clip(np.asarray(probability, float), 0.0, 1.0)
    correct = np.asarray(correct, bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.minimum(np.searchsorted(edges, probability, side="right") - 1, n_bins - 1)
    count, mean, acc = _bin_stats(index, probability, correct, n_bins)
    return Bins(edges[:-1], edges[1:], count, mean, acc)


def expected_calibration_error(
    probability: np.ndarray, correct: np.ndarray, n_bins: int = 10
) -> float:
    """Count-weighted mean gap between stated probability and accuracy over the bins."""
    bins = reliability_curve(probability, correct, n_bins)
    total = int(bins.count.sum())
    if total == 0:
        return math.nan
    used = bins.count > 0
    gaps = np.abs(bins.accuracy[used] - bins.mean_value[used])
    return float(np.sum(bins.count[used] * gaps) / total)


def accuracy_by_quantile(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> Bins:
    """Accuracy within quantile bins (deciles by default) of ``confidence``; empty bins dropped."""
    confidence = np.asarray(confidence, float)
    correct = np.asarray(correct, bool)
    if confidence.size == 0:
        empty = np.zeros(0)
        return Bins(empty, empty, np.zeros(0, int), empty, empty)
    edges = np.quantile(confidence, np.linspace(0.0, 1.0, n_bins + 1))
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    count, mean, acc = _bin_stats(index, confidence, correct, n_bins)
    used = count > 0
    return Bins(edges[:-1][used], edges[1:][used], count[used], mean[used], acc[used])
