"""Ridge regression of the forward return on the members' z-scores, shrunk towards equal
weights, with forgetting: the combined score's weights.

For the z-scores ``x`` of the members at a bar (0 for a member left out) and the target
``y`` (the forward return in units of the flat band, clipped), the weights ``w`` and an
intercept ``b`` minimise

    sum_t g^(T - t) (y_t - b - w . x_t)^2  +  lambda |P (w)|^2  +  eps (b^2 + |w . u|^2)

where ``g = 0.5 ** (1 / half_life)`` forgets old outcomes, ``u`` is the unit vector of the
equal weights (the members in ``equal``; 0 for the others) and ``P`` removes the component
along ``u``: the common level of the equal weights is fitted freely, and a member's weight
moves away from it only as far as the evidence outweighs ``lambda`` outcomes (the Bayesian
reading: the deviation has prior standard deviation ``sigma_y / sqrt(lambda)``). With no
equal member ``P`` is the identity (ordinary ridge). ``eps`` only keeps the system solvable.

The data enter through decayed sufficient statistics (``X'X``, ``X'y``, their effective
count), so a fit over many bars and symbols is the sum of its parts (:meth:`add`) and does
not depend on the order the parts are added in. A published fit becomes the prior of a new
state (:meth:`adopt_as_prior`): its coefficients are the prior centre and its precision
(penalty plus data) the prior precision, so what training learned never decays away; the
state's own outcomes add to it and are forgotten as above.

The combined score is ``w . x / sqrt(w' C w)`` with ``C`` the second moments of ``x`` (the
prior's data included, and the identity worth a few outcomes for every feature that has
data): unit variance whatever the scale of ``w``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import EnsembleInputError

EPS = 1e-3
"""Ridge on the intercept and the equal-weight level: keeps the system solvable."""

PSEUDO_COUNT = 10.0
"""Outcomes of unit-variance, uncorrelated ``x`` the second moments start from (a few
outcomes of members that happen to agree cannot blow the score's scale up)."""

_ARRAYS = ("xtx", "xty", "prior_data", "prior_centre")


class ShrunkRegression:
    """Decayed least squares of a target on named features, shrunk towards ``equal``."""

    def __init__(
        self, names: Sequence[str], equal: Sequence[str], shrinkage: float, half_life: float
    ) -> None:
        self.names = tuple(names)
        self.decay = 0.5 ** (1.0 / half_life)
        k = len(self.names)
        u = np.array([1.0 if n in equal else 0.0 for n in self.names])
        self.equal = u / np.linalg.norm(u) if u.any() else u
        outer = np.outer(self.equal, self.equal)
        penalty = np.zeros((k + 1, k + 1))
        penalty[0, 0] = EPS
        penalty[1:, 1:] = shrinkage * (np.eye(k) - outer) + EPS * outer
        self.penalty = penalty
        self.prior_precision = penalty
        self.prior_centre = np.zeros(k + 1)
        self.xtx = np.zeros((k + 1, k + 1))
        self.xty = np.zeros(k + 1)
        self.count = 0.0

    def update(self, x: np.ndarray, y: float) -> None:
        """Forget by one step, then add the outcome ``y`` of features ``x``."""
        row = np.concatenate([[1.0], x])
        self.xtx = self.decay * self.xtx + np.outer(row, row)
        self.xty = self.decay * self.xty + row * y
        self.count = self.decay * self.count + 1.0

    def coefficients(self) -> np.ndarray:
        """The fitted weights (without the intercept)."""
        weights: np.ndarray = self._beta()[1:]
        return weights

    def _beta(self) -> np.ndarray:
        prior = self.prior_precision @ self.prior_centre
        beta: np.ndarray = np.linalg.solve(self.prior_precision + self.xtx, prior + self.xty)
        return beta

    def adopt_as_prior(self, count: float) -> None:
        """Make the current fit this regression's prior (centre: its coefficients;
        precision: the prior's plus the data's, the data weighed as at most ``count``
        outcomes) and start its own data from nothing."""
        self.cap(count)
        centre = self._beta()
        self.prior_precision = self.prior_precision + self.xtx
        self.prior_centre = centre
        self.xtx = np.zeros_like(self.xtx)
        self.xty = np.zeros_like(self.xty)
        self.count = 0.0

    def second_moments(self) -> np.ndarray:
        """``E[x x']`` of the data, the prior's data included, starting from the identity
        worth :data:`PSEUDO_COUNT` outcomes for every feature that has data (one that never
        had any, a member that never answered, has no spread and adds none to the score's)."""
        data = (self.prior_precision - self.penalty + self.xtx)[1:, 1:]
        count = self.count + self.prior_count + PSEUDO_COUNT
        seen = np.diag(data) > 0
        moments: np.ndarray = (data + PSEUDO_COUNT * np.diag(seen.astype(float))) / count
        return moments

    @property
    def prior_count(self) -> float:
        """Outcomes the prior's data stands for (0 for the penalty alone)."""
        extra = self.prior_precision - self.penalty
        return float(extra[0, 0])

    def score(self, weights: np.ndarray, x: np.ndarray) -> float:
        """``w . x`` in units of its own standard deviation (0 when ``w`` is 0)."""
        spread = float(weights @ self.second_moments() @ weights)
        if spread <= 1e-12:
            return 0.0
        return float(weights @ x) / float(np.sqrt(spread))

    def forget_member(self, name: str) -> None:
        """Drop the data of feature ``name`` (its model changed): its weight goes back to
        what the prior and the other members' data say."""
        i = self.names.index(name) + 1
        self.xtx[i, :] = 0.0
        self.xtx[:, i] = 0.0
        self.xty[i] = 0.0

    def add(self, other: ShrunkRegression) -> None:
        """Add the data of a regression over the same features (pooling symbols)."""
        if other.names != self.names:
            raise EnsembleInputError(f"regression: cannot add {other.names} to {self.names}")
        self.xtx = self.xtx + other.xtx
        self.xty = self.xty + other.xty
        self.count += other.count

    def cap(self, count: float) -> None:
        """Scale the data down to at most ``count`` effective outcomes (what a symbol's own
        memory holds), keeping the fit."""
        if self.count > count > 0:
            factor = count / self.count
            self.xtx, self.xty, self.count = self.xtx * factor, self.xty * factor, count

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "xtx": self.xtx.tolist(),
            "xty": self.xty.tolist(),
            "count": self.count,
            "prior_data": (self.prior_precision - self.penalty).tolist(),
            "prior_centre": self.prior_centre.tolist(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore data saved over the same or other features: a kept feature keeps its
        data, a new one starts with none (as if it had been 0 at every bar so far)."""
        try:
            saved = [str(n) for n in state["names"]]
            k = len(saved)
            arrays = [np.asarray(state[key], dtype=float) for key in _ARRAYS]
            count = float(state["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state regression: malformed ({exc})") from None
        shapes = [(k + 1, k + 1), (k + 1,), (k + 1, k + 1), (k + 1,)]
        ok = [a.shape for a in arrays] == shapes and len(set(saved)) == k
        if not ok or not all(np.all(np.isfinite(a)) for a in arrays) or count < 0:
            raise EnsembleInputError(
                f"ensemble state regression: need finite statistics over {k} distinct names"
            )
        index = [0] + [self.names.index(n) + 1 for n in saved if n in self.names]
        kept = [0] + [i + 1 for i, n in enumerate(saved) if n in self.names]
        xtx, prior_data = np.zeros_like(self.xtx), np.zeros_like(self.xtx)
        xty, centre = np.zeros_like(self.xty), np.zeros_like(self.xty)
        xtx[np.ix_(index, index)] = arrays[0][np.ix_(kept, kept)]
        xty[index] = arrays[1][kept]
        prior_data[np.ix_(index, index)] = arrays[2][np.ix_(kept, kept)]
        centre[index] = arrays[3][kept]
        self.xtx, self.xty, self.count = xtx, xty, count
        self.prior_precision, self.prior_centre = self.penalty + prior_data, centre
