"""Ranking metrics: does a higher score come before a higher return, steadily, and by how much?

What a trader ranks and sizes by is the signed score ``P(up) - P(down)``; log loss alone
can be good for a forecaster that leans on the base rate and ranks nothing. On the bars a
strategy covered and whose forward return is defined:

- ``ic``: Spearman rank correlation of the score with the forward log return
  (:func:`models.evaluation.metrics.information_coefficient`);
- ``icir``: the same correlation per calendar week (UTC, weeks with at least
  :data:`MIN_WEEK_BARS` such bars), their mean over their standard deviation: how steady
  the ranking is (``ic_weeks`` counts the weeks);
- ``score_pt_stat`` / ``score_pt_pvalue``: the Pesaran-Timmermann test of the score's
  sign against the return's sign (bars with both nonzero), on every covered bar rather
  than only on the directional calls;
- by decile of the score (:func:`score_deciles`): the 3-class accuracy and the mean
  forward return, with the Spearman correlation of decile with each.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from models.evaluation import metrics

MIN_WEEK_BARS = 20
"""Bars a week needs for its IC to count in the ICIR."""

WEEK_US = 7 * 24 * 3600 * 1_000_000


def weekly_ics(score: np.ndarray, forward_return: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """The IC of each calendar week with enough bars (UTC weeks from the epoch)."""
    stamps = np.asarray(timestamps).astype("datetime64[us]").astype(np.int64)
    weeks = stamps // WEEK_US
    out = []
    for week in np.unique(weeks):
        here = weeks == week
        if here.sum() >= MIN_WEEK_BARS:
            ic = metrics.information_coefficient(score[here], forward_return[here])
            if math.isfinite(ic):
                out.append(ic)
    return np.asarray(out)


def ranking_scores(
    score: np.ndarray | None, forward_return: np.ndarray, timestamps: np.ndarray
) -> dict[str, Any]:
    """``icir``, ``ic_weeks`` and the score-sign PT test (NaN without a score)."""
    blank: dict[str, Any] = {
        "icir": math.nan,
        "ic_weeks": 0,
        "score_pt_stat": math.nan,
        "score_pt_pvalue": math.nan,
    }
    if score is None or score.size == 0:
        return blank
    ics = weekly_ics(score, forward_return, timestamps)
    spread = float(np.std(ics, ddof=1)) if ics.size > 1 else math.nan
    signed = (score != 0) & (forward_return != 0)
    stat, pvalue = metrics.pesaran_timmermann(
        np.sign(score[signed]), np.sign(forward_return[signed])
    )
    return {
        "icir": float(np.mean(ics)) / spread if spread and math.isfinite(spread) else math.nan,
        "ic_weeks": int(ics.size),
        "score_pt_stat": stat,
        "score_pt_pvalue": pvalue,
    }


def score_deciles(
    score: np.ndarray, correct: np.ndarray, forward_return: np.ndarray, n_bins: int = 10
) -> tuple[list[dict[str, Any]], float, float]:
    """Per quantile bin of ``score``: count, mean score, accuracy (``correct``: the 3-class
    call was right) and mean forward return; and the Spearman correlations of the bin index
    with accuracy and with mean return (NaN with fewer than 3 bins)."""
    score = np.asarray(score, float)
    if score.size == 0:
        return [], math.nan, math.nan
    edges = np.quantile(score, np.linspace(0.0, 1.0, n_bins + 1))
    index = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        here = index == b
        if not here.any():
            continue
        rows.append(
            {
                "bin": b,
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": int(here.sum()),
                "mean_score": float(score[here].mean()),
                "accuracy": float(np.mean(correct[here])),
                "mean_return": float(forward_return[here].mean()),
            }
        )
    if len(rows) < 3:
        return rows, math.nan, math.nan
    bins = [r["bin"] for r in rows]
    rho_acc = stats.spearmanr(bins, [r["accuracy"] for r in rows]).statistic
    rho_ret = stats.spearmanr(bins, [r["mean_return"] for r in rows]).statistic
    return rows, float(rho_acc), float(rho_ret)
