"""Ridge regression of the forward return on the members' z-scores, shrunk towards equal
weights, with forgetting: the combined score's weights.

For the z-scores ``x`` of the members at a bar (0 for a member left out) and the target
``y`` (the forward return in units of the flat band, clipped), write the weights as
``w = a u + d`` with ``u`` the unit vector of the equal weights (the members in ``equal``; 0
for the others) and ``d`` orthogonal to it. The prior (Bayesian ridge, noise variance
``sigma_y^2``):

- the deviation ``d`` from equal weights has standard deviation ``sigma_y / sqrt(lambda)``
  (``shrinkage``: about 0.02 of the target's spread, the size by which members' ICs
  differ), so a member's weight leaves the common level only as far as the evidence
  outweighs ``lambda`` observations;
- the common level ``a`` is centred on the level at which the equal-weight score has an IC
  of ``prior_ic`` (members were trained to predict the return), with a standard deviation
  of the same size: without evidence the direction of ``w`` is the equal weights', even in
  a stretch where the members say nothing, instead of whichever deviation the noise favours.

With no equal member the prior is plain ridge towards 0. The posterior mean over the decayed
data (``g = 0.5 ** (1 / half_life)`` per outcome) is the weights.

Consecutive outcomes overlap (the return over ``h`` bars of bar ``t`` shares ``h - 1`` bars
with that of bar ``t + 1``, and members' outputs change slowly), so one outcome carries about
``1 / h`` of an independent observation's information: each enters with that weight, and
``lambda`` is in independent observations.

The data enter through decayed sufficient statistics (``X'X``, ``X'y``, ``y'y``, their
effective count), so a fit over many bars and symbols is the sum of its parts (:meth:`add`)
and does not depend on the order the parts are added in. A published fit becomes the prior of
a new state (:meth:`adopt_as_prior`): its posterior (centre and precision, its data weighed
as at most one symbol's memory) is the new prior, so what training learned never decays
away; the state's own outcomes add to it and are forgotten as above.

The combined score is ``w . x / sqrt(w' C w)`` with ``C`` the second moments of ``x`` (the
prior's data included, and the identity worth a few observations for every feature that has
data): the predicted return above its mean in units of its own spread, unit variance
whatever the scale of ``w``, so the calibration map reads one scale whatever the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import EnsembleInputError

EPS = 1e-3
"""Ridge on the intercept: keeps the system solvable."""

PSEUDO_COUNT = 10.0
"""Independent observations of unit-variance, uncorrelated ``x`` (and of a target variance
of :data:`PRIOR_TARGET_VARIANCE`) the moments start from (a few outcomes of members that
happen to agree cannot blow the score's scale up)."""

PRIOR_TARGET_VARIANCE = 4.0
"""Variance of the target (the return in flat-band units) before any data: a 4-bar move's
spread is about 2 flat bands."""

_ARRAYS = ("xtx", "xty", "prior_data", "prior_precision", "prior_centre")
_SCALARS = ("count", "yy", "prior_count", "prior_yy")


class ShrunkRegression:
    """Decayed Bayesian ridge of a target on named features, shrunk towards ``equal``."""

    def __init__(
        self,
        names: Sequence[str],
        equal: Sequence[str],
        shrinkage: float,
        half_life: float,
        prior_ic: float = 0.02,
    ) -> None:
        self.names = tuple(names)
        self.decay = 0.5 ** (1.0 / half_life)
        self.shrinkage, self.prior_ic = shrinkage, prior_ic
        k = len(self.names)
        u = np.array([1.0 if n in equal else 0.0 for n in self.names])
        self.equal = u / np.linalg.norm(u) if u.any() else u
        self.xtx = np.zeros((k + 1, k + 1))
        self.xty = np.zeros(k + 1)
        self.count = self.yy = 0.0
        # a published fit adopted as the prior (its data kept apart for the moments)
        self.prior_precision = np.zeros((k + 1, k + 1))
        self.prior_centre = np.zeros(k + 1)
        self.prior_data = np.zeros((k + 1, k + 1))
        self.prior_count = self.prior_yy = 0.0
        self._cache: dict[str, np.ndarray] = {}
        """Coefficients and moments of the current state (cleared by every change)."""

    @property
    def adopted(self) -> bool:
        """Whether the prior is a published fit's posterior."""
        return bool(self.prior_precision.any())

    def update(self, x: np.ndarray, y: float, weight: float = 1.0) -> None:
        """Forget by one step, then add the outcome ``y`` of features ``x`` with ``weight``
        (what one outcome is worth in independent observations)."""
        self._cache.clear()
        row = np.concatenate([[1.0], x])
        self.xtx = self.decay * self.xtx + weight * np.outer(row, row)
        self.xty = self.decay * self.xty + weight * row * y
        self.yy = self.decay * self.yy + weight * y * y
        self.count = self.decay * self.count + weight

    def coefficients(self) -> np.ndarray:
        """The fitted weights (without the intercept)."""
        if "weights" not in self._cache:
            self._cache["weights"] = self._beta()[1:]
        return self._cache["weights"]

    def _beta(self) -> np.ndarray:
        precision, centre = self.prior()
        rhs = precision @ centre + self.xty
        beta: np.ndarray = np.linalg.solve(precision + self.xtx, rhs)
        return beta

    def prior(self) -> tuple[np.ndarray, np.ndarray]:
        """Precision and centre of the prior (see the module docstring)."""
        if self.adopted:
            return self.prior_precision, self.prior_centre
        k = len(self.names)
        u = self._equal_seen()
        precision = np.zeros((k + 1, k + 1))
        precision[0, 0] = EPS
        centre = np.zeros(k + 1)
        if not u.any():
            precision[1:, 1:] = self.shrinkage * np.eye(k)
            return precision, centre
        spread = max(float(u @ self.second_moments(every=True) @ u), 1e-6)
        variance = (self.yy + self.prior_yy + PSEUDO_COUNT * PRIOR_TARGET_VARIANCE) / (
            self.count + self.prior_count + PSEUDO_COUNT
        )
        outer = np.outer(u, u)
        level = spread / self.prior_ic**2  # the common level's precision
        precision[1:, 1:] = self.shrinkage * (np.eye(k) - outer) + level * outer
        centre[1:] = self.prior_ic * np.sqrt(variance / spread) * u
        return precision, centre

    def _equal_seen(self) -> np.ndarray:
        """The equal weights over the equal members that have data (all of them before
        any data): a member that never answered changes nothing."""
        seen = np.diag(self.prior_data + self.xtx)[1:] > 0
        u = self.equal * seen if seen.any() else self.equal
        return u / np.linalg.norm(u) if u.any() else u

    def adopt_as_prior(self, count: float) -> None:
        """Make the current fit this regression's prior (centre: its coefficients;
        precision: the prior's plus the data's, the data weighed as at most ``count``
        observations) and start its own data from nothing."""
        self.cap(count)
        self._cache.clear()
        precision, _ = self.prior()
        centre = self._beta()
        self.prior_precision, self.prior_centre = precision + self.xtx, centre
        self.prior_data = self.prior_data + self.xtx
        self.prior_count += self.count
        self.prior_yy += self.yy
        self.xtx, self.xty = np.zeros_like(self.xtx), np.zeros_like(self.xty)
        self.count = self.yy = 0.0
        self._cache.clear()

    def second_moments(self, every: bool = False) -> np.ndarray:
        """``E[x x']`` of the data, the prior's data included, starting from the identity
        worth :data:`PSEUDO_COUNT` observations for every feature that has data (``every``:
        for every feature; else one that never had any, a member that never answered, has
        no spread and adds none)."""
        key = f"moments:{every}"
        if key in self._cache:
            return self._cache[key]
        data = (self.prior_data + self.xtx)[1:, 1:]
        count = self.count + self.prior_count + PSEUDO_COUNT
        seen = np.ones(len(self.names), bool) if every else np.diag(data) > 0
        moments: np.ndarray = (data + PSEUDO_COUNT * np.diag(seen.astype(float))) / count
        self._cache[key] = moments
        return moments

    def score(self, weights: np.ndarray, x: np.ndarray) -> float:
        """``w . x`` in units of its own standard deviation (0 when ``w`` is 0)."""
        spread = float(weights @ self.second_moments() @ weights)
        if spread <= 1e-12:
            return 0.0
        return float(weights @ x) / float(np.sqrt(spread))

    def forget_member(self, name: str) -> None:
        """Drop the data of feature ``name`` (its model changed): its weight goes back to
        what the prior and the other members' data say."""
        self._cache.clear()
        i = self.names.index(name) + 1
        self.xtx[i, :] = 0.0
        self.xtx[:, i] = 0.0
        self.xty[i] = 0.0

    def add(self, other: ShrunkRegression) -> None:
        """Add the data of a regression over the same features (pooling symbols)."""
        if other.names != self.names:
            raise EnsembleInputError(f"regression: cannot add {other.names} to {self.names}")
        self._cache.clear()
        self.xtx = self.xtx + other.xtx
        self.xty = self.xty + other.xty
        self.yy += other.yy
        self.count += other.count

    def cap(self, count: float) -> None:
        """Scale the data down to at most ``count`` observations, keeping the fit."""
        self._cache.clear()
        if self.count > count > 0:
            factor = count / self.count
            self.xtx, self.xty = self.xtx * factor, self.xty * factor
            self.yy, self.count = self.yy * factor, count

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"names": list(self.names)}
        state.update({key: getattr(self, key).tolist() for key in _ARRAYS})
        state.update({key: float(getattr(self, key)) for key in _SCALARS})
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore data saved over the same or other features: a kept feature keeps its
        data, a new one starts with none (as if it had been 0 at every bar so far; under an
        adopted prior its weight is centred on 0 with the deviations' precision)."""
        try:
            saved = [str(n) for n in state["names"]]
            k = len(saved)
            arrays = {key: np.asarray(state[key], dtype=float) for key in _ARRAYS}
            scalars = {key: float(state[key]) for key in _SCALARS}
        except (KeyError, TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state regression: malformed ({exc})") from None
        square, vector = (k + 1, k + 1), (k + 1,)
        shapes = {key: vector if key in ("xty", "prior_centre") else square for key in _ARRAYS}
        ok = all(arrays[key].shape == shapes[key] for key in _ARRAYS) and len(set(saved)) == k
        finite = all(np.all(np.isfinite(a)) for a in arrays.values())
        if not ok or not finite or any(v < 0 or v != v for v in scalars.values()):
            raise EnsembleInputError(
                f"ensemble state regression: need finite statistics over {k} distinct names"
            )
        index = [0] + [self.names.index(n) + 1 for n in saved if n in self.names]
        kept = [0] + [i + 1 for i, n in enumerate(saved) if n in self.names]
        self._cache.clear()
        for key in _ARRAYS:
            out = np.zeros_like(getattr(self, key))
            where = np.ix_(index, index) if shapes[key] == square else index
            taken = np.ix_(kept, kept) if shapes[key] == square else kept
            out[where] = arrays[key][taken]
            setattr(self, key, out)
        for key, value in scalars.items():
            setattr(self, key, value)
        if self.adopted:  # a member the published fit did not have: its weight starts at 0
            for j in set(range(1, len(self.names) + 1)) - set(index):
                self.prior_precision[j, j] = self.shrinkage
