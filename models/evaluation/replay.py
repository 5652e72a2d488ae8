"""Replay the live ensemble loop bar by bar over a past period, learning only what it could.

At each evaluated bar ``t``, in order, exactly as the service does:

1. every stored signal whose outcome became known by bar ``t`` is resolved:
   ``Ensemble.record_outcome(record, realized_return)`` (outcome timing from
   :mod:`models.evaluation.outcomes`: the signal of bar ``s`` resolves at the first bar at
   least ``h`` intervals later, never earlier);
2. ``Ensemble.combine(symbol, predictions_t, regime_t, bar_t)`` makes the signal of bar
   ``t`` (``bar_t``: its open time in bar intervals, as the service computes it);
3. its ``SignalRecord`` (with the flat band known at ``t``) is stored until it resolves.

Per-bar predictions are computed once (:mod:`models.evaluation.predict`) and shared by every
variant; variants differ only in the ensemble configuration (the learned default, its
equal-weight baseline ``members_mean``, or the original system's preset), in whether they
start from the combiner published with the models (``seeded``: what the service does for
a symbol it has learned nothing about) and in whether the detected regime is passed
(``use_regime=False`` passes ``None``, as a service without a regime detector).

Filtering needs no second replay: the ensembles learn from every resolved signal whatever
the filter does, so the same run yields both the filtered signals (``actionable``) and the
unfiltered ones (``eligible``: a direction and enough models, without the threshold).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from models.data.intervals import bar_index, bar_step_us
from models.ensemble import Ensemble, EnsembleConfig, EnsembleSignal, SignalRecord
from models.errors import ConfigError
from models.evaluation.outcomes import Outcomes
from models.evaluation.signals import Signals
from models.predictors.base import Prediction
from models.regime.state import RegimeState


@dataclass(frozen=True)
class Variant:
    """One ensemble configuration to replay: a preset, optional setting changes, and
    whether the detected regime is passed to it."""

    name: str
    preset: str = "configured"
    use_regime: bool = True
    changes: tuple[tuple[str, Any], ...] = ()
    """Dotted config paths and values laid over the preset (``learning.combiner.weights``)."""
    seeded: bool = True
    """Symbols start from the combiner published in the registry, when there is one."""
    kind: str = "ensemble"
    """``ensemble``: filtered and unfiltered signals; ``baseline``: one strategy named as
    the variant, trading every eligible directional call."""

    def config(self, base: EnsembleConfig) -> EnsembleConfig:
        """The preset (``configured``: ``base`` itself, the service's configuration, the
        learned ensemble by default; ``original``: the original system's, its own four
        members) with the changes."""
        data = base.to_dict()
        if self.preset == "original":
            data = EnsembleConfig.preset("original").to_dict()
        elif self.preset != "configured":
            raise ConfigError(f"variant {self.name}: unknown preset {self.preset!r}")
        for path, value in self.changes:
            *parents, leaf = path.split(".")
            node = data
            for key in parents:
                node = node[key]
            node[leaf] = value
        return EnsembleConfig.from_dict(data)


SERVICE = Variant("ens_learned")
"""The service's own ensemble (the configured one; by default the learned preset), started
from the published combiner."""
COLD = Variant("ens_learned_cold", seeded=False)
"""The service's ensemble started from its prior instead of the published combiner."""
MEMBERS_MEAN = Variant(
    "members_mean", changes=(("learning.combiner.weights", "equal"),), kind="baseline"
)
"""Each trained member's score standardized causally, averaged with equal weights, through
the same (published, then learned) calibration map: what the learned weights must beat."""
ORIGINAL = Variant("ens_original", preset="original", seeded=False)
"""The system this replaces: its weights, voting, regime multipliers and 0.70 threshold."""

ALL_VARIANTS: tuple[Variant, ...] = (SERVICE, COLD, MEMBERS_MEAN, ORIGINAL)


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
    weights: dict[str, np.ndarray]
    """Per expert (learned) or model (original): its normalised weight at each bar (0 while
    it sleeps or has no say)."""

    def signals(self, filtered: bool) -> Signals:
        """The run as :class:`Signals`: traded when actionable (filtered) or eligible."""
        suffix = "filtered" if filtered else "unfiltered"
        return Signals(
            name=f"{self.variant.name}_{suffix}",
            kind=self.variant.kind,
            direction=self.direction,
            covered=~self.degraded,
            actionable=self.actionable if filtered else self.eligible,
            probabilities=np.where(self.degraded[:, None], np.nan, self.probabilities),
            confidence=np.where(self.degraded, np.nan, self.confidence),
            threshold=self.threshold,
        )

    def strategies(self) -> list[Signals]:
        """What the report scores: filtered and unfiltered signals of an ensemble, or the
        one (unfiltered) strategy of a baseline variant."""
        if self.variant.kind == "baseline":
            unfiltered = self.signals(filtered=False)
            return [replace(unfiltered, name=self.variant.name)]
        return [self.signals(filtered=True), self.signals(filtered=False)]


def replay(
    ensemble: Ensemble,
    symbol: str,
    predictions: Mapping[str, Sequence[Prediction | None]],
    regimes: Sequence[RegimeState | None],
    outcomes: Outcomes,
    variant: Variant,
    flush: bool = False,
) -> EnsembleRun:
    """Run the live loop of ``ensemble`` over the rows of ``outcomes`` (see module docstring).

    ``flush``: after the last row, also learn the outcomes that resolve later (within the
    data): what a fit over these rows needs; the signals are the same either way."""
    n = len(outcomes)
    out = _Arrays(n)
    stamps = np.asarray(outcomes.timestamps).astype("datetime64[us]").astype(np.int64)
    step = bar_step_us(stamps) if n > 1 else 1
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
        signal = ensemble.combine(symbol, preds, regime, bar_index(int(stamps[i]), step))
        out.store(i, signal)
        band, resolve = outcomes.band[i], int(outcomes.resolve_row[i])
        if resolve >= 0 and math.isfinite(band):
            pending.append((resolve, signal.to_record(float(band)), outcomes.realized_return[i]))
    while flush and pending:
        _, record, realized = pending.popleft()
        ensemble.record_outcome(record, realized)
        fed += 1
    return out.run(variant, fed)


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
        self.weights: dict[str, np.ndarray] = {}

    def store(self, i: int, s: EnsembleSignal) -> None:
        self.direction[i] = s.direction
        self.probabilities[i] = s.probabilities
        self.confidence[i] = s.confidence
        self.actionable[i] = s.actionable
        self.eligible[i] = s.eligible
        # A degraded signal (too few voters, no usable member score) gives no model a say.
        self.degraded[i] = not any(c.weight != 0 for c in s.contributions.values())
        self.threshold[i] = s.threshold
        self.dynamic[i] = s.weight_mode == "dynamic"
        shares = s.expert_weights or {m: c.weight for m, c in s.contributions.items()}
        for name, weight in shares.items():
            column = self.weights.setdefault(name, np.zeros(self.direction.size))
            column[i] = weight

    def run(self, variant: Variant, outcomes_fed: int) -> EnsembleRun:
        return EnsembleRun(
            variant,
            self.direction,
            self.probabilities,
            self.confidence,
            self.actionable,
            self.eligible,
            self.degraded,
            self.threshold,
            self.dynamic,
            outcomes_fed=outcomes_fed,
            weights=self.weights,
        )
