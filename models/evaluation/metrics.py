"""Forecast-quality metrics on per-bar arrays: each one small enough to check by hand.

Conventions shared by every function here:

- ``direction`` is -1 / 0 / +1 (down / flat / up), the predicted class minus one;
- ``label`` is the realized class id 0 / 1 / 2 (down / flat / up, as
  :mod:`models.labels`), NaN where no label is defined (end of data, exchange gap);
- ``probabilities`` is (n, 3) in (down, flat, up) order.

Rows that are not usable (no prediction, no label) are dropped by the caller's mask before a
metric sees them; an empty input gives NaN, never an exception, so a thin regime slice is a
blank cell in the report rather than a crash.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

EPS = 1e-12
"""Floor of a probability inside a logarithm (log loss of a certain miss is finite)."""


def accuracy(direction: np.ndarray, label: np.ndarray) -> float:
    """Share of rows whose predicted class (``direction + 1``) equals the realized one."""
    direction, label = np.asarray(direction), np.asarray(label)
    if direction.size == 0:
        return math.nan
    return float(np.mean(direction + 1 == label))


def win_rate(direction: np.ndarray, label: np.ndarray) -> float:
    """Share of directional calls (``direction != 0``) whose realized class is that direction.

    A realized ``flat`` (the move stayed inside the flat band) is not a win: the signal said
    the price would move beyond the band and it did not.
    """
    direction, label = np.asarray(direction), np.asarray(label)
    calls = direction != 0
    if not calls.any():
        return math.nan
    return float(np.mean(direction[calls] + 1 == label[calls]))


def false_signal_rate(direction: np.ndarray, label: np.ndarray) -> float:
    """Share of directional calls whose realized class was the opposite direction or flat.

    Exactly ``1 - win_rate``; kept as its own name because the original system's claim is
    phrased in false signals. :func:`false_signal_count` is the absolute number.
    """
    rate = win_rate(direction, label)
    return math.nan if math.isnan(rate) else 1.0 - rate


def false_signal_count(direction: np.ndarray, label: np.ndarray) -> int:
    """Directional calls whose realized class was not their direction."""
    direction, label = np.asarray(direction), np.asarray(label)
    calls = direction != 0
    return int(np.sum(direction[calls] + 1 != label[calls]))


def pesaran_timmermann(predicted: np.ndarray, realized: np.ndarray) -> tuple[float, float]:
    """Pesaran-Timmermann (1992) test of directional predictability: (statistic, p-value).

    ``predicted`` and ``realized`` are signs (+1 / -1) of the forecast and of the realized
    return on the same rows. Under the null the two are independent, so the hit rate ``P``
    should equal ``P* = py * px + (1 - py) * (1 - px)`` (``px``, ``py``: shares of +1). The
    statistic ``(P - P*) / sqrt(var(P) - var(P*))`` is asymptotically standard normal; the
    p-value is one-sided (predictability means hitting more often than chance). NaN when
    the variance vanishes (all forecasts or all outcomes on one side).
    """
    x = np.asarray(predicted) > 0
    y = np.asarray(realized) > 0
    n = x.size
    if n == 0:
        return math.nan, math.nan
    p_hat = float(np.mean(x == y))
    px, py = float(np.mean(x)), float(np.mean(y))
    p_star = py * px + (1.0 - py) * (1.0 - px)
    var_p = p_star * (1.0 - p_star) / n
    var_star = (
        (2.0 * py - 1.0) ** 2 * px * (1.0 - px) / n
        + (2.0 * px - 1.0) ** 2 * py * (1.0 - py) / n
        + 4.0 * py * px * (1.0 - py) * (1.0 - px) / n**2
    )
    denom = var_p - var_star
    if denom <= 0.0:
        return math.nan, math.nan
    stat = (p_hat - p_star) / math.sqrt(denom)
    return stat, float(stats.norm.sf(stat))


def information_coefficient(score: np.ndarray, forward_return: np.ndarray) -> float:
    """Spearman rank correlation of a signed score with the realized forward return.

    Rank-based, so it asks only "do higher scores come before higher returns", unaffected by
    the fat tails of crypto returns. NaN with fewer than 3 rows or a constant input.
    """
    score, forward_return = np.asarray(score, float), np.asarray(forward_return, float)
    if score.size < 3 or np.all(score == score[0]) or np.all(forward_return == forward_return[0]):
        return math.nan
    return float(stats.spearmanr(score, forward_return).statistic)


def log_loss(probabilities: np.ndarray, label: np.ndarray) -> float:
    """Mean negative log probability given to the realized class (natural log)."""
    probs = np.asarray(probabilities, float)
    label = np.asarray(label).astype(np.int64)
    if label.size == 0:
        return math.nan
    p_true = np.clip(probs[np.arange(label.size), label], EPS, 1.0)
    return float(-np.mean(np.log(p_true)))


def brier_score(probabilities: np.ndarray, label: np.ndarray) -> float:
    """Multi-class Brier score: mean over rows of ``sum_k (p_k - 1[label == k])^2`` (0..2)."""
    probs = np.asarray(probabilities, float)
    label = np.asarray(label).astype(np.int64)
    if label.size == 0:
        return math.nan
    onehot = np.zeros_like(probs)
    onehot[np.arange(label.size), label] = 1.0
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))
