"""Score one strategy on one slice of bars: every classification figure of the report.

Which bars each figure uses (``mask`` selects the slice: a symbol, a regime, pooled):

- ``coverage``: share of the slice's bars where the strategy gave a usable answer;
- ``accuracy`` (3-class): covered bars with a label; predicted class vs realized class;
- ``signals``: actionable signals (position != 0); ``signal_rate`` = signals / bars;
- ``hit_rate`` and the Pesaran-Timmermann test: actionable signals whose forward return is
  defined and not exactly 0; the signal's side vs the sign of the forward return;
- ``win_rate`` / ``false_signal_rate`` / ``false_signals``: actionable signals with a label;
  a win is a realized class equal to the signal's direction, a false signal is anything
  else (the opposite move or a move inside the flat band); ``false_per_1000`` counts false
  signals per 1,000 bars of the slice (what a trader actually receives);
- ``ic``: covered bars with a label and probabilities; Spearman of ``p_up - p_down`` with
  the forward log return;
- ``log_loss``, ``brier``, ``ece``: covered, labelled bars with probabilities (ECE over
  the probability of the predicted class, 10 equal-width bins);
- ``icir``, ``ic_weeks``, ``score_pt_stat``, ``score_pt_pvalue``: the IC's steadiness per
  week and the sign test of the score on the IC's bars (:mod:`models.evaluation.ranking`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from models.evaluation import metrics
from models.evaluation.calibration import expected_calibration_error
from models.evaluation.outcomes import Outcomes
from models.evaluation.ranking import ranking_scores
from models.evaluation.signals import Signals


def classification_scores(signals: Signals, outcomes: Outcomes, mask: np.ndarray) -> dict[str, Any]:
    """Every figure of the module docstring for ``signals`` on the bars of ``mask``."""
    mask = np.asarray(mask, bool)
    bars = int(mask.sum())
    labelled = mask & signals.covered & outcomes.labelled
    label = outcomes.label
    position = signals.position
    calls = mask & (position != 0)
    called = calls & outcomes.labelled
    fwd = outcomes.forward_return
    signed = calls & np.isfinite(fwd) & (fwd != 0)
    pt_stat, pt_p = metrics.pesaran_timmermann(position[signed], np.sign(fwd[signed]))
    false_n = metrics.false_signal_count(position[called], label[called])
    out: dict[str, Any] = {
        "bars": bars,
        "coverage": float(signals.covered[mask].mean()) if bars else math.nan,
        "accuracy": metrics.accuracy(signals.direction[labelled], label[labelled]),
        "signals": int(calls.sum()),
        "signal_rate": float(calls.sum() / bars) if bars else math.nan,
        "hit_rate": float(np.mean(position[signed] == np.sign(fwd[signed])))
        if signed.any()
        else math.nan,
        "pt_stat": pt_stat,
        "pt_pvalue": pt_p,
        "win_rate": metrics.win_rate(position[called], label[called]),
        "false_signal_rate": metrics.false_signal_rate(position[called], label[called]),
        "false_signals": false_n,
        "false_per_1000": 1000.0 * false_n / bars if bars else math.nan,
    }
    out.update(_probability_scores(signals, outcomes, labelled))
    return out


def _probability_scores(signals: Signals, outcomes: Outcomes, rows: np.ndarray) -> dict[str, Any]:
    """IC (with ICIR and the score's sign test), log loss, Brier and ECE (NaN for strategies
    that state no probabilities)."""
    score = signals.score
    if signals.probabilities is None or score is None:
        blank = {"ic": math.nan, "log_loss": math.nan, "brier": math.nan, "ece": math.nan}
        return {**blank, **ranking_scores(None, outcomes.forward_return, outcomes.timestamps)}
    probs = signals.probabilities[rows]
    label = outcomes.label[rows].astype(np.int64)
    top = probs.max(axis=1)
    correct = probs.argmax(axis=1) == label
    fwd = outcomes.forward_return[rows]
    return {
        "ic": metrics.information_coefficient(score[rows], fwd),
        "log_loss": metrics.log_loss(probs, label),
        "brier": metrics.brier_score(probs, label),
        "ece": expected_calibration_error(top, correct),
        **ranking_scores(score[rows], fwd, outcomes.timestamps[rows]),
    }
