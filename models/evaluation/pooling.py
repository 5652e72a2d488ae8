"""Pooling symbols: concatenated bars for forecast metrics, an equal-weight book for trading.

- Forecast metrics (accuracy, win rate, IC, ...) pool by concatenating the bars of every
  symbol: each symbol-bar is one forecast.
- Trading metrics pool as an equal-weight portfolio: at each timestamp, the mean of the net
  returns of the symbols that have a bar in the slice then (a regime slice keeps, at each
  timestamp, only the symbols in that regime). Timestamps with no such symbol are skipped.
  This is the return of splitting capital equally across the symbols traded, so its Sharpe
  is a portfolio Sharpe, not an average of per-symbol Sharpes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.evaluation.outcomes import Outcomes
from models.evaluation.signals import Signals


def concat_outcomes(parts: Sequence[Outcomes]) -> Outcomes:
    """One :class:`Outcomes` holding every part's bars one after another."""
    fields = Outcomes.__dataclass_fields__
    return Outcomes(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def concat_signals(parts: Sequence[Signals]) -> Signals:
    """One :class:`Signals` over every part's bars (optional arrays kept if all have them)."""
    probs = [p.probabilities for p in parts]
    conf = [p.confidence for p in parts]
    thresholds = [p.threshold for p in parts]
    return Signals(
        name=parts[0].name,
        kind=parts[0].kind,
        direction=np.concatenate([p.direction for p in parts]),
        covered=np.concatenate([p.covered for p in parts]),
        actionable=np.concatenate([p.actionable for p in parts]),
        probabilities=_concat_if_all(probs),
        confidence=_concat_if_all(conf),
        threshold=_concat_if_all(thresholds),
    )


def _concat_if_all(arrays: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """The parts joined, or None when any part lacks the array."""
    present = [a for a in arrays if a is not None]
    return np.concatenate(present) if len(present) == len(arrays) else None


@dataclass(frozen=True)
class Book:
    """Where each symbol's bars sit on the union timeline of all symbols."""

    timeline: np.ndarray
    index: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, timestamps: Sequence[np.ndarray]) -> Book:
        stamps = [np.asarray(t).astype("datetime64[us]").astype(np.int64) for t in timestamps]
        timeline = np.unique(np.concatenate(stamps)) if stamps else np.zeros(0, np.int64)
        return cls(timeline, tuple(np.searchsorted(timeline, s) for s in stamps))

    def mean_returns(
        self, returns: Sequence[np.ndarray], masks: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Equal-weight portfolio return per timestamp with at least one symbol in the slice.

        ``returns`` may be (n_i,) per symbol or (draws, n_i) (null draws); the result is
        (n_used,) or (draws, n_used) accordingly.
        """
        lead = np.asarray(returns[0]).shape[:-1]
        # Timeline first, so each symbol adds whole rows (contiguous draws) at its bars.
        total = np.zeros((self.timeline.size, *lead))
        count = np.zeros(self.timeline.size)
        for i, r in enumerate(returns):
            keep = np.ones(len(self.index[i]), bool) if masks is None else np.asarray(masks[i])
            idx = self.index[i][keep]  # a symbol's timestamps are unique: no repeated index
            total[idx] += np.asarray(r).T[keep]
            count[idx] += 1.0
        used = count > 0
        return (total[used].T / count[used]) if lead else total[used] / count[used]
