"""Decayed per-(symbol, model) accuracy from realized outcomes, and the weights it implies.

Each resolved outcome first decays the old counts by ``lam = 0.5 ** (1 / half_life)`` and
then adds itself: ``correct = lam * correct + hit``, ``total = lam * total + 1``. After
``half_life`` further outcomes an old outcome therefore weighs exactly 1/2, so the
accuracy ``correct / total`` follows a model whose skill drifts, and ``total`` is its
effective sample count (it saturates at ``1 / (1 - lam)``).

Dynamic weights (used only when every present model has at least ``min_outcomes`` raw
outcomes, otherwise the static weights are kept, all or nothing so the two scales never
mix)::

    skill_i = max(accuracy_i - 1/3, 0) / (2/3)     # accuracy above 3-class chance, in [0, 1]
    raw_i   = static_i * skill_i
    w       = floor(normalise(raw), weight_floor)  # see voting.apply_floor

If no present model beats chance (all ``raw_i`` are 0) the static weights are kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.ensemble.original_config import TrackingConfig
from models.ensemble.voting import apply_floor, normalise
from models.errors import EnsembleInputError
from models.vocabulary import CLASSES

CHANCE = 1.0 / len(CLASSES)
"""Accuracy of guessing among (down, flat, up)."""


@dataclass
class ModelStats:
    """Decayed counts of one (symbol, model)."""

    correct: float = 0.0
    total: float = 0.0
    outcomes: int = 0

    @property
    def accuracy(self) -> float | None:
        """Decayed accuracy, or None before the first outcome."""
        return self.correct / self.total if self.total > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "total": self.total, "outcomes": self.outcomes}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> ModelStats:
        try:
            stats = cls(float(data["correct"]), float(data["total"]), int(data["outcomes"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state {where}: bad model stats ({exc})") from None
        ok = math.isfinite(stats.total) and 0 <= stats.correct <= stats.total + 1e-9
        if not ok or stats.outcomes < 0:
            raise EnsembleInputError(
                f"ensemble state {where}: need 0 <= correct <= total and outcomes >= 0, "
                f"got {stats.to_dict()}"
            )
        return stats


class AccuracyTracker:
    """Per (symbol, model) decayed accuracy and the dynamic weights derived from it."""

    def __init__(self, config: TrackingConfig) -> None:
        self.config = config
        self._decay = 0.5 ** (1.0 / config.half_life)
        self._stats: dict[str, dict[str, ModelStats]] = {}

    def stats(self, symbol: str, model: str) -> ModelStats:
        """A copy of the counts of (symbol, model) (zeros when never seen)."""
        s = self._stats.get(symbol, {}).get(model)
        return ModelStats(s.correct, s.total, s.outcomes) if s else ModelStats()

    def models(self, symbol: str) -> tuple[str, ...]:
        """Models with at least one outcome for ``symbol``."""
        return tuple(self._stats.get(symbol, {}))

    def update(self, symbol: str, model: str, correct: bool) -> ModelStats:
        """Decay the old counts of (symbol, model), add one outcome, return the new counts."""
        s = self._stats.setdefault(symbol, {}).setdefault(model, ModelStats())
        s.correct = self._decay * s.correct + (1.0 if correct else 0.0)
        s.total = self._decay * s.total + 1.0
        s.outcomes += 1
        return ModelStats(s.correct, s.total, s.outcomes)

    def is_dynamic(self, symbol: str, models: Sequence[str]) -> bool:
        """Whether dynamic weights apply: enabled and every model has enough outcomes."""
        if not self.config.dynamic_weights or not models:
            return False
        need = self.config.min_outcomes
        return all(self.stats(symbol, m).outcomes >= need for m in models)

    def weights(self, symbol: str, static: Mapping[str, float]) -> tuple[dict[str, float], bool]:
        """Normalised weights over the models in ``static`` and whether they are dynamic.

        Models with a static weight of 0 keep 0 (the operator switched them off).
        """
        weights = dict.fromkeys(static, 0.0)
        active = [m for m in static if static[m] > 0]  # a zero static weight stays off
        base = normalise([static[m] for m in active])
        dynamic = self.is_dynamic(symbol, active)
        if dynamic:
            skills = [_skill(self.stats(symbol, m).accuracy) for m in active]
            raw = [b * k for b, k in zip(base, skills, strict=True)]
            dynamic = sum(raw) > 0
        chosen = apply_floor(raw, self.config.weight_floor) if dynamic else base
        weights.update(zip(active, chosen, strict=True))
        return weights, dynamic

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable counts (floats round-trip exactly through ``json``)."""
        return {
            symbol: {model: s.to_dict() for model, s in per_model.items()}
            for symbol, per_model in self._stats.items()
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace all counts with ``state`` (from :meth:`state_dict`)."""
        if not isinstance(state, Mapping):
            raise EnsembleInputError(f"ensemble state trackers: expected a mapping, got {state!r}")
        loaded: dict[str, dict[str, ModelStats]] = {}
        for symbol, per_model in state.items():
            if not isinstance(per_model, Mapping):
                raise EnsembleInputError(f"ensemble state trackers.{symbol}: expected a mapping")
            loaded[symbol] = {
                model: ModelStats.from_dict(d, f"trackers.{symbol}.{model}")
                for model, d in per_model.items()
            }
        self._stats = loaded


def _skill(accuracy: float | None) -> float:
    """Accuracy above chance scaled to [0, 1] (0 for no data or at/below chance)."""
    if accuracy is None:
        return 0.0
    return max(accuracy - CHANCE, 0.0) / (1.0 - CHANCE)
