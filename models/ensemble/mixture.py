"""A fixed-share mixture of experts under log loss, with one copy per outcome delay.

Each expert gives a probability vector over (down, flat, up); some may sleep at a bar (a
member that timed out or has no model). For a symbol at bar ``t`` the mixture uses copy
``c = t mod h`` (``h`` = bars until an outcome is known) and forecasts

    p = sum_{i awake} w_i p_i / sum_{i awake} w_i.

When the outcome ``y`` of bar ``t`` is known (at ``t + h``, before copy ``c`` forecasts
again) that copy is updated, with learning rate 1 (the Bayes mixture) and fixed share:

    v_i = w_i p_i(y) / p(y)                     for awake i (their total mass is kept),
    w_i = (1 - alpha) v_i + alpha * V * pi_i    for awake i (V: awake mass; pi: the prior
                                                 renormalised over the awake experts);

sleeping experts keep their weight, so an expert that always sleeps changes nothing (the
specialists rule of Freund, Schapire, Singer and Warmuth, 1997). Weights start at the
prior ``pi`` (relative prior weights, normalised over whoever is awake).

**Regret bound** (Herbster and Warmuth, 1998; Cesa-Bianchi and Lugosi, 2006, ch. 5 and
9). With learning rate 1, the mixture is the Bayesian predictive distribution of a hidden
Markov model over experts that starts at ``pi``, keeps its expert with probability at
least ``1 - alpha`` and moves to expert ``j`` with probability at least ``alpha pi_j``. Its
cumulative log loss is minus the log of a marginal likelihood, so for every outcome
sequence and every comparator sequence of experts ``i_1 .. i_T`` with ``m`` switches over
``T`` bars of one copy (all experts awake)

    L_mixture <= L_comparator + ln(1 / pi_{i_1}) + sum_switches ln(1 / (alpha pi_{i_next}))
                 + (T - 1 - m) ln(1 / (1 - alpha)),

and with ``alpha = 0``: ``L_mixture <= L_i + ln(1 / pi_i)`` for every expert ``i`` (``ln N``
for a uniform prior). Outcomes arrive ``h`` bars late; copy ``c`` sees bars ``c, c + h,
c + 2h, ...`` and each outcome before its next forecast, so it runs without delay. Summed
over the ``h`` copies, against any fixed expert ``i``:

    L_mixture <= L_i + h ln(1 / pi_i) + T ln(1 / (1 - alpha))     (T bars in all).

``tests/ensemble/test_mixture.py`` checks this inequality on arbitrary sequences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import EnsembleInputError

Vector = tuple[float, float, float]


class FixedShareMixture:
    """Per-symbol, per-copy weights over a fixed, named set of experts."""

    def __init__(
        self,
        experts: Sequence[str],
        alpha: float,
        copies: int,
        prior: Mapping[str, float] | None = None,
    ) -> None:
        if not experts or len(set(experts)) != len(experts):
            raise EnsembleInputError(f"mixture experts: need distinct names, got {experts!r}")
        self.experts = tuple(experts)
        self.alpha = float(alpha)
        self.copies = int(copies)
        self._index = {name: i for i, name in enumerate(self.experts)}
        raw = np.asarray([(prior or {}).get(name, 1.0) for name in self.experts], dtype=float)
        if not np.all(np.isfinite(raw)) or np.any(raw <= 0):
            raise EnsembleInputError(f"mixture prior: need positive weights, got {prior!r}")
        self.prior = raw / raw.sum()
        self._weights: dict[str, list[np.ndarray]] = {}

    def copy_of(self, bar: int) -> int:
        """The copy that forecasts (and later learns) bar ``bar``."""
        return bar % self.copies

    def weights(self, symbol: str, copy: int) -> dict[str, float]:
        """Normalised weights of every expert in ``copy`` (the prior before any outcome)."""
        w = self._copy(symbol, copy)
        return dict(zip(self.experts, (w / w.sum()).tolist(), strict=True))

    def mean_weights(self, symbol: str) -> dict[str, float]:
        """Normalised weights averaged over the copies (what a dashboard shows)."""
        stacked = np.stack([w / w.sum() for w in self._all(symbol)])
        return dict(zip(self.experts, stacked.mean(axis=0).tolist(), strict=True))

    def forecast(
        self, symbol: str, copy: int, probs: Mapping[str, Vector]
    ) -> tuple[Vector, dict[str, float]]:
        """The mixed vector of the awake experts in ``probs`` and their normalised weights."""
        idx, matrix = self._awake(probs)
        w = self._copy(symbol, copy)[idx]
        if w.sum() <= 0:  # only with alpha = 0: the awake experts' mass underflowed
            w = self.prior[idx]
        share = w / w.sum()
        mixed = share @ matrix
        vector: Vector = (float(mixed[0]), float(mixed[1]), float(mixed[2]))
        return vector, {self.experts[i]: float(s) for i, s in zip(idx, share, strict=True)}

    def update(self, symbol: str, copy: int, probs: Mapping[str, Vector], outcome: int) -> float:
        """Learn outcome class ``outcome`` (0 down, 1 flat, 2 up) of a bar forecast from
        ``probs``; returns the mixture's log loss on it."""
        idx, matrix = self._awake(probs)
        weights = self._all(symbol)[copy]
        w = weights[idx]
        likelihood = matrix[:, outcome]
        mixed = float(w @ likelihood / w.sum()) if w.sum() > 0 else 0.0
        if mixed <= 0.0:  # every awake expert ruled the outcome out: nothing to learn from
            return math.inf
        v = w * likelihood / mixed
        share = self.prior[idx] / self.prior[idx].sum()
        v = (1.0 - self.alpha) * v + self.alpha * v.sum() * share
        weights[idx] = v
        weights /= weights.sum()  # only rounding changes here: awake mass was kept
        return -math.log(mixed)

    def _awake(self, probs: Mapping[str, Vector]) -> tuple[list[int], np.ndarray]:
        unknown = [name for name in probs if name not in self._index]
        if unknown or not probs:
            raise EnsembleInputError(
                f"mixture: need probabilities of known experts {self.experts}, got {sorted(probs)}"
            )
        idx = [self._index[name] for name in probs]
        return idx, np.asarray([probs[self.experts[i]] for i in idx], dtype=float)

    def _all(self, symbol: str) -> list[np.ndarray]:
        found = self._weights.get(symbol)
        if found is None:
            found = [self.prior.copy() for _ in range(self.copies)]
            self._weights[symbol] = found
        return found

    def _copy(self, symbol: str, copy: int) -> np.ndarray:
        found = self._weights.get(symbol)
        return self.prior if found is None else found[copy]

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "experts": list(self.experts),
            "weights": {s: [w.tolist() for w in ws] for s, ws in self._weights.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore weights saved with the same number of copies.

        Saved with other experts (a member added to or removed from the configuration), the
        weights are carried over as if each new expert had slept through every bar so far:
        it gets its prior share and the kept experts share the rest in their saved ratios
        (a sleeping expert keeps its weight, so this is exactly the state the mixture would
        have reached); a removed expert's weight is dropped.
        """
        saved = list(state.get("experts", ())) if isinstance(state, Mapping) else None
        if not saved or len(set(saved)) != len(saved):
            raise EnsembleInputError(
                f"ensemble state mixture.experts: need distinct names, got {saved!r}"
            )
        loaded: dict[str, list[np.ndarray]] = {}
        for symbol, copies in dict(state.get("weights", {})).items():
            arrays = [np.asarray(w, dtype=float) for w in copies]
            ok = len(arrays) == self.copies and all(
                a.shape == (len(saved),) and np.all(a >= 0) and a.sum() > 0 for a in arrays
            )
            if not ok:
                raise EnsembleInputError(
                    f"ensemble state mixture.weights.{symbol}: need {self.copies} copies of "
                    f"{len(saved)} non-negative weights"
                )
            loaded[symbol] = [self._carried(saved, a) for a in arrays]
        self._weights = loaded

    def _carried(self, saved: Sequence[str], weights: np.ndarray) -> np.ndarray:
        """``weights`` over ``saved`` as weights over this mixture's experts."""
        if list(saved) == list(self.experts):
            return weights
        old = [i for i, name in enumerate(saved) if name in self._index]
        new = [self._index[saved[i]] for i in old]
        out: np.ndarray = self.prior.copy()
        kept = weights[old]
        if kept.sum() > 0:
            out[new] = kept / kept.sum() * self.prior[new].sum()
        return out
