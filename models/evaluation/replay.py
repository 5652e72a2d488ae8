"""Replay the live ensemble loop bar by bar over a past period, learning only what it could.

At each evaluated bar ``t``, in order, exactly as the service does:

1. every stored signal whose outcome became known by bar ``t`` is resolved:
   ``Ensemble.record_outcome(record, realized_return)`` (outcome timing from
   :mod:`models.evaluation.outcomes`: the signal of bar ``s`` resolves at the first bar at
   least ``h`` intervals later, never earlier);
2. ``Ensemble.combine(symbol, predictions_t, regime_t)`` makes the signal of bar ``t``;
3. its ``SignalRecord`` (with the flat band known at ``t``) is stored until it resolves.

Per-bar predictions are computed once (:mod:`models.evaluation.predict`) and shared by every
variant; variants differ only in the ensemble configuration (voting method, dynamic weights)
and in whether the detected regime is passed (``use_regime=False`` passes ``None``: no
regime multipliers and no regime veto, as a service without a regime detector).

Confidence filtering needs no second replay: the adaptive threshold learns from *eligible*
signals whatever the filter does, so the same run yields both the filtered signals
(``actionable``) and the unfiltered ones (``eligible``: direction, allowed regime and enough
models, without the confidence threshold).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from models.ensemble import Ensemble, EnsembleConfig, EnsembleSignal, SignalRecord
from models.evaluation.outcomes import Outcomes
from models.evaluation.signals import Signals
from models.predictors.base import Prediction
from models.regime.state import RegimeState

VOTING_METHODS: tuple[str, ...] = ("weighted", "confidence_weighted", "majority")


@dataclass(frozen=True)
class Variant:
    """One ensemble configuration to replay."""

    voting_method: str
    use_regime: bool
    dynamic_weights: bool

    @property
    def name(self) -> str:
        regime = "regime" if self.use_regime else "no_regime"
        weights = "dynamic" if self.dynamic_weights else "static"
        return f"ens_{self.voting_method}_{regime}_{weights}"

    def config(self, base: EnsembleConfig) -> EnsembleConfig:
        """``base`` with this variant's voting method and weight mode."""
        data = base.to_dict()
        data["voting_method"] = self.voting_method
        data["tracking"] = {**data["tracking"], "dynamic_weights": self.dynamic_weights}
        return EnsembleConfig.from_dict(data)


ALL_VARIANTS: tuple[Variant, ...] = tuple(
    Variant(v, r, d) for v in VOTING_METHODS for r in (True, False) for d in (True, False)
)


@dataclass(frozen=True)
class EnsembleRun:
    """Per-bar output of one replay (arrays aligned with the evaluated rows)."""

    variant: Variant
    direction: np.ndarray
    probabilities: np.ndarray
    confidence: np.ndarray
    actionable: np.ndarray
    eligible: np.ndarray
    degraded: np.ndarray
    threshold: np.ndarray
    dynamic: np.ndarray
    outcomes_fed: int

    def signals(self, filtered: bool) -> Signals:
        """The run as :class:`Signals`: traded when actionable (filtered) or eligible."""
        suffix = "filtered" if filtered else "unfiltered"
        return Signals(
            name=f"{self.variant.name}_{suffix}",
            kind="ensemble",
            direction=self.direction,
            covered=~self.degraded,
            actionable=self.actionable if filtered else self.eligible,
            probabilities=np.where(self.degraded[:, None], np.nan, self.probabilities),
            confidence=np.where(self.degraded, np.nan, self.confidence),
            threshold=self.threshold,
        )


def replay(
    ensemble: Ensemble,
    symbol: str,
    predictions: Mapping[str, Sequence[Prediction | None]],
    regimes: Sequence[RegimeState | None],
    outcomes: Outcomes,
    variant: Variant,
) -> EnsembleRun:
    """Run the live loop of ``ensemble`` over the rows of ``outcomes`` (see module docstring)."""
    n = len(outcomes)
    out = _Arrays(n)
    pending: deque[tuple[int, SignalRecord, float]] = deque()
    fed = 0
    for i in range(n):
        t = int(outcomes.rows[i])
        while pending and pending[0][0] <= t:
            _, record, realized = pending.popleft()
            ensemble.record_outcome(record, realized)
            fed += 1
        preds = {m: p[i] for m, p in predictions.items()}
        regime = regimes[i] if variant.use_regime else None
        signal = ensemble.combine(symbol, preds, regime)
        out.store(i, signal)
        band, resolve = outcomes.band[i], int(outcomes.resolve_row[i])
        if resolve >= 0 and math.isfinite(band):
            pending.append((resolve, signal.to_record(float(band)), outcomes.realized_return[i]))
    return EnsembleRun(variant, *out.arrays(), outcomes_fed=fed)


class _Arrays:
    """Column buffers filled one signal at a time."""

    def __init__(self, n: int) -> None:
        self.direction = np.zeros(n, np.int8)
        self.probabilities = np.zeros((n, 3))
        self.confidence = np.zeros(n)
        self.actionable = np.zeros(n, bool)
        self.eligible = np.zeros(n, bool)
        self.degraded = np.zeros(n, bool)
        self.threshold = np.zeros(n)
        self.dynamic = np.zeros(n, bool)

    def store(self, i: int, s: EnsembleSignal) -> None:
        self.direction[i] = s.direction
        self.probabilities[i] = s.probabilities
        self.confidence[i] = s.confidence
        self.actionable[i] = s.actionable
        self.eligible[i] = s.eligible
        # A degraded signal (too few voters) gives no model a weight.
        self.degraded[i] = not any(c.weight > 0 for c in s.contributions.values())
        self.threshold[i] = s.threshold
        self.dynamic[i] = s.weight_mode == "dynamic"

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (
            self.direction,
            self.probabilities,
            self.confidence,
            self.actionable,
            self.eligible,
            self.degraded,
            self.threshold,
            self.dynamic,
        )
