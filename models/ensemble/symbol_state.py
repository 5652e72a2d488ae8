"""What the learned combiner knows about one symbol, and the one forecast it makes from it.

A bar's forecast (:meth:`SymbolState.forecast`): every usable member's output becomes two
z-scores against its own trailing distribution (:mod:`models.ensemble.standardize`); the
direction z-scores make the combined score ``S`` and the move z-scores the move score ``M``,
each with regression weights learned for the forward return's sign and size (direction)
and size alone (move), shrunk towards equal weights (:mod:`models.ensemble.regression`);
``(S, M)`` tilt the base rate into calibrated probabilities
(:mod:`models.ensemble.calibration_map`). Beside it, ``members_mean`` (the equal-weight
average of the same z-scores, scaled the same way) is kept for comparison.

What the forecast used (:class:`Inputs`) travels in the signal's record; its outcome
(:meth:`SymbolState.learn`) then updates the standardizer with the members' outputs, both
regressions, the calibration map and the running correlation of ``S`` and of
``members_mean`` with the realized return.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from models.ensemble.calibration_map import CalibrationMap
from models.ensemble.learning_config import CombinerConfig
from models.ensemble.regression import ShrunkRegression
from models.ensemble.standardize import Standardizer
from models.errors import EnsembleInputError

Vector = tuple[float, float, float]


@dataclass(frozen=True)
class Inputs:
    """What one forecast used: each used member's z-scores, the scores, the base rate."""

    z: Mapping[str, float]
    move_z: Mapping[str, float]
    score: float
    move: float
    mean_score: float | None
    base_rate: Vector
    versions: Mapping[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "z": dict(self.z),
            "move_z": dict(self.move_z),
            "score": self.score,
            "move": self.move,
            "mean_score": self.mean_score,
            "base_rate": list(self.base_rate),
            "versions": dict(self.versions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Inputs:
        try:
            base = tuple(float(v) for v in data["base_rate"])
            mean = data.get("mean_score")
            inputs = cls(
                z={str(k): float(v) for k, v in dict(data["z"]).items()},
                move_z={str(k): float(v) for k, v in dict(data["move_z"]).items()},
                score=float(data["score"]),
                move=float(data["move"]),
                mean_score=None if mean is None else float(mean),
                base_rate=(base[0], base[1], base[2]),
                versions={str(k): v for k, v in dict(data.get("versions", {})).items()},
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise EnsembleInputError(f"record combiner inputs: malformed ({exc})") from None
        numbers = [inputs.score, inputs.move, *inputs.z.values(), *inputs.move_z.values()]
        if len(base) != 3 or not all(math.isfinite(v) for v in [*numbers, *base]):
            raise EnsembleInputError("record combiner inputs: need finite scores and 3 rates")
        return inputs


class Correlation:
    """Running Pearson correlation of a score with the target (every outcome counts)."""

    def __init__(self) -> None:
        self.sums = [0.0] * 6  # n, sx, sy, sxx, syy, sxy

    def add(self, x: float, y: float) -> None:
        for i, v in enumerate((1.0, x, y, x * x, y * y, x * y)):
            self.sums[i] += v

    def value(self) -> float | None:
        n, sx, sy, sxx, syy, sxy = self.sums
        if n < 3:
            return None
        vx, vy = n * sxx - sx * sx, n * syy - sy * sy
        if vx <= 0 or vy <= 0:
            return None
        return (n * sxy - sx * sy) / math.sqrt(vx * vy)

    @property
    def count(self) -> int:
        return int(self.sums[0])


@dataclass(frozen=True)
class Forecast:
    """One bar's forecast of a symbol."""

    probabilities: Vector
    inputs: Inputs
    weights: dict[str, float]
    """Each member's normalised weight in the score (signed; 0 when left out)."""
    notes: dict[str, str]
    """Members with a prediction that were left out, and why."""


class SymbolState:
    """Standardizer, regressions, calibration map and running correlations of a symbol."""

    def __init__(
        self,
        members: Sequence[str],
        equal: Sequence[str],
        cfg: CombinerConfig,
        overlap: int = 1,
    ) -> None:
        """``overlap``: bars of outcome each forecast's return spans (the horizon): one
        outcome weighs ``1 / overlap`` of an independent observation."""
        self.members = tuple(members)
        self.cfg = cfg
        self.weight = 1.0 / overlap
        self.standardizer = Standardizer(
            cfg.standardize_half_life, cfg.standardize_min_weight, cfg.z_clip
        )
        args = (self.members, equal, cfg.shrinkage, cfg.half_life, cfg.prior_ic)
        self.direction = ShrunkRegression(*args)
        self.move = ShrunkRegression(*args)
        self.calibration = CalibrationMap(cfg.map_prior, cfg.half_life)
        self.correlations = {"ensemble": Correlation(), "members_mean": Correlation()}
        self.fitted: dict[str, Any] | None = None
        """Where this state was fitted (a published combiner's provenance), None: prior."""
        self.selected: Literal["learned", "equal"] | None = None
        """The weights a published fit chose by its walk-forward test (None: no fit chose;
        ``cfg.weights`` rules). Equal when the learned weights did not rank the held-out
        bars better than equal ones: what the regressions learn then stays in the shadow."""

    # forecasting -----------------------------------------------------------------------
    @property
    def mode(self) -> Literal["learned", "equal"]:
        """The weights in use: equal when configured so or when the fit chose them."""
        return "equal" if self.cfg.weights == "equal" else self.selected or "learned"

    def weights(self, regression: ShrunkRegression) -> np.ndarray:
        """The weights of ``regression``'s features (the equal ones in ``equal`` mode)."""
        if self.mode == "equal":
            return regression.equal
        return regression.coefficients()

    def forecast(
        self, vectors: Mapping[str, Vector], versions: Mapping[str, str | None], base: Vector
    ) -> Forecast:
        """Probabilities of the members' ``vectors`` (usable members only) on the base rate."""
        z, move_z, notes = {}, {}, {}
        for name in self.members:
            if name not in vectors:
                continue
            got = self.standardizer.z(name, vectors[name], versions.get(name))
            if isinstance(got, str):
                notes[name] = got
                continue
            z[name], move_z[name] = got
        x, xm = self._features(z), self._features(move_z)
        w = self.weights(self.direction)
        score = self._clip(self.direction.score(w, x))
        move = self._clip(self.move.score(self.weights(self.move), xm))
        equal = self.direction.equal
        used_equal = any(equal[i] > 0 for i in self._used(z))
        mean = self._clip(self.direction.score(equal, x)) if used_equal else None
        probs = self.calibration.probabilities(base, (score, move))
        used = self._used(z)
        total = float(sum(abs(w[i]) for i in used))
        shares = {self.members[i]: float(w[i]) / total if total > 0 else 0.0 for i in used}
        inputs = Inputs(z, move_z, score, move, mean, base, dict(versions))
        return Forecast(probs, inputs, shares, notes)

    def _clip(self, value: float) -> float:
        """A combined score within the members' own clip (unit variance by construction)."""
        return max(-self.cfg.z_clip, min(self.cfg.z_clip, value))

    def _features(self, values: Mapping[str, float]) -> np.ndarray:
        return np.array([values.get(name, 0.0) for name in self.members])

    def _used(self, z: Mapping[str, float]) -> list[int]:
        return [i for i, name in enumerate(self.members) if name in z]

    # learning --------------------------------------------------------------------------
    def learn(
        self,
        inputs: Inputs,
        vectors: Mapping[str, Vector],
        target: float | None,
        outcome: int,
    ) -> list[str]:
        """Learn one outcome of a forecast made from ``inputs`` (``target``: the clipped
        return in flat-band units, None when the band was 0); returns the members whose
        model version changed (their standardization and data restarted)."""
        if target is not None:
            self.direction.update(self._features(inputs.z), target, self.weight)
            self.move.update(self._features(inputs.move_z), abs(target), self.weight)
            self.correlations["ensemble"].add(inputs.score, target)
            if inputs.mean_score is not None:
                self.correlations["members_mean"].add(inputs.mean_score, target)
        x = (inputs.score, inputs.move)
        self.calibration.update(inputs.base_rate, x, outcome, self.weight)
        restarted = []
        for name, vector in vectors.items():
            if name in self.members and self.standardizer.update(
                name, vector, inputs.versions.get(name)
            ):
                self.direction.forget_member(name)
                self.move.forget_member(name)
                restarted.append(name)
        return restarted

    # reading ---------------------------------------------------------------------------
    def normalised_weights(self) -> dict[str, float]:
        """Each member's signed direction weight over the sum of their absolute values."""
        w = self.weights(self.direction)
        total = float(np.abs(w).sum())
        shares = w / total if total > 0 else np.zeros_like(w)
        return dict(zip(self.members, shares.tolist(), strict=True))

    def summary(self) -> dict[str, Any]:
        """Weights, their provenance, running ICs, the map and the standardization."""
        w, wm = self.weights(self.direction), self.weights(self.move)
        ic = {name: c.value() for name, c in self.correlations.items()}
        return {
            "method": f"{self.mode} weights on causally standardized member scores",
            "selected_by_fit": self.selected,
            "weights": self.normalised_weights(),
            "coefficients": dict(zip(self.members, w.tolist(), strict=True)),
            "move_coefficients": dict(zip(self.members, wm.tolist(), strict=True)),
            "learned_coefficients": dict(
                zip(self.members, self.direction.coefficients().tolist(), strict=True)
            ),
            "fitted": self.fitted,
            "ic": {**ic, "outcomes": self.correlations["ensemble"].count},
            "calibration_map": self.calibration.coefficients(),
            "standardization": self.standardizer.summary(),
            "outcomes_in_memory": self.direction.count,
        }

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "standardizer": self.standardizer.state_dict(),
            "direction": self.direction.state_dict(),
            "move": self.move.state_dict(),
            "calibration": self.calibration.state_dict(),
            "correlations": {n: list(c.sums) for n, c in self.correlations.items()},
            "fitted": self.fitted,
            "weights": self.selected,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping):
            raise EnsembleInputError(f"ensemble state symbol: expected a mapping, got {state!r}")
        missing = [
            k for k in ("standardizer", "direction", "move", "calibration") if k not in state
        ]
        if missing:
            raise EnsembleInputError(f"ensemble state symbol.{missing[0]}: missing")
        self.standardizer.load_state_dict(state["standardizer"])
        self.direction.load_state_dict(state["direction"])
        self.move.load_state_dict(state["move"])
        self.calibration.load_state_dict(state["calibration"])
        try:
            for name, sums in dict(state.get("correlations", {})).items():
                if name in self.correlations:
                    values = [float(v) for v in sums]
                    if len(values) != 6:
                        raise ValueError("need 6 sums")
                    self.correlations[name].sums = values
        except (TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state correlations: malformed ({exc})") from None
        fitted = state.get("fitted")
        self.fitted = dict(fitted) if isinstance(fitted, Mapping) else None
        selected = state.get("weights")
        if selected not in (None, "learned", "equal"):
            raise EnsembleInputError(
                f"ensemble state weights: expected 'learned', 'equal' or null, got {selected!r}"
            )
        self.selected = selected
