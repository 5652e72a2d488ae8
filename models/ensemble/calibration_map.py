"""From the combined scores to calibrated probabilities: a tilt of the base rate learned
from resolved outcomes, which may weaken the score's ranking but never invert it.

With the base rate ``p`` of the symbol (decayed class frequencies), the combined direction
score ``S`` and move score ``M`` (unit variance each), the probabilities of (down, flat, up)
are

    q_down ~ p_down exp(-c S + u S + m M),   q_flat ~ p_flat,   q_up ~ p_up exp(c S + u S + m M).

At ``S = M = 0`` (no usable member, or members saying nothing unusual) they are the base
rate. ``c >= 0`` is how far the score tilts up against down: the map calibrates how much
the score means, while which way it points is the regression's job, so ``P(up) / P(down)``
never falls as ``S`` rises (a map that found the score useless leaves the base rate's
split, ``c = 0``, instead of turning the ranking upside down). ``u`` and ``m`` say how far
the scores move the odds of a move (either way) against flat; the move score tilts up and
down alike, so it cannot reorder them either.

Overlapping outcomes (``h``-bar returns of consecutive bars) enter with weight ``1 / h``
each, their share of an independent observation (see :mod:`models.ensemble.regression`).

The three parameters are a recursive Laplace approximation of the posterior under a
Gaussian prior (centre ``theta_0``, precision ``P_0``): each outcome adds its Fisher
information ``F_t`` and its linearised evidence ``F_t theta_t - g_t`` (``g_t`` the gradient of
its log loss at the current ``theta_t``) to decayed sums ``D`` and ``h`` (half-life
``half_life``), and ``theta`` maximises the quadratic ``-(1/2) theta' (P_0 + D) theta +
theta' (P_0 theta_0 + h)`` subject to ``c >= 0``: Newton's method on the decayed log loss
plus the prior. A fresh map's prior is the base rate (``theta_0 = 0``), worth ``prior``
outcomes; a published fit becomes the prior of the map it seeds
(:meth:`CalibrationMap.adopt_as_prior`), so what training learned stays while the symbol's
own outcomes add to it. Several symbols' maps pool into one (:meth:`pooled`): their
evidence adds up, as if fitted together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import EnsembleInputError

Vector = tuple[float, float, float]

PARAMETERS = ("contrast", "score_move", "move")
"""``c``, ``u`` and ``m`` of the module docstring."""

FISHER_SCALE = 0.2
"""Fisher information of one outcome per unit-variance feature near the base rate (about
``q (1 - q)`` for class shares of a third): the scale of the prior precision."""

PROB_FLOOR = 1e-12
_ARRAYS = ("theta", "information", "evidence", "prior_centre", "prior_precision")


def class_features(x: Sequence[float]) -> np.ndarray:
    """(3 classes x 3 parameters): how each parameter moves each class's logit."""
    s, m = float(x[0]), float(x[1])
    return np.array([[-s, s, m], [0.0, 0.0, 0.0], [s, s, m]])


class CalibrationMap:
    """The base-rate tilt of one symbol (see the module docstring)."""

    def __init__(self, prior: float, half_life: float) -> None:
        self.decay = 0.5 ** (1.0 / half_life)
        n = len(PARAMETERS)
        self.prior_precision = prior * FISHER_SCALE * np.eye(n)
        self.prior_centre = np.zeros(n)
        self.theta = np.zeros(n)
        self.information = np.zeros((n, n))
        self.evidence = np.zeros(n)
        self.updates = 0

    def probabilities(self, base: Vector, x: Sequence[float]) -> Vector:
        logits = np.log(np.maximum(np.asarray(base, dtype=float), PROB_FLOOR))
        logits = logits + class_features(x) @ self.theta
        q = np.exp(logits - logits.max())
        q /= q.sum()
        return (float(q[0]), float(q[1]), float(q[2]))

    def update(self, base: Vector, x: Sequence[float], outcome: int, weight: float = 1.0) -> None:
        """Add the outcome ``outcome`` (0 down, 1 flat, 2 up) with ``weight`` (what it is
        worth in independent observations) and re-solve."""
        phi = class_features(x)
        q = np.asarray(self.probabilities(base, x))
        target = np.zeros(3)
        target[outcome] = 1.0
        gradient = phi.T @ (q - target)
        mean = phi.T @ q
        fisher = weight * (phi.T @ (q[:, None] * phi) - np.outer(mean, mean))
        gradient = weight * gradient
        self.information = self.decay * self.information + fisher
        self.evidence = self.decay * self.evidence + fisher @ self.theta - gradient
        self.theta = self._solve()
        self.updates += 1

    def _solve(self) -> np.ndarray:
        """The constrained maximiser: the free one, or on ``c = 0`` when that is negative
        (the quadratic's maximum over the half-space lies on its boundary then)."""
        precision = self.prior_precision + self.information
        rhs = self.prior_precision @ self.prior_centre + self.evidence
        theta: np.ndarray = np.linalg.solve(precision, rhs)
        if theta[0] < 0:
            theta = np.zeros_like(theta)
            theta[1:] = np.linalg.solve(precision[1:, 1:], rhs[1:])
        return theta

    def adopt_as_prior(self, factor: float = 1.0) -> None:
        """Make the current fit the prior (its data weighed by ``factor``) and start the
        map's own data from nothing."""
        self.information, self.evidence = self.information * factor, self.evidence * factor
        self.theta = self._solve()
        self.prior_precision = self.prior_precision + self.information
        self.prior_centre = self.theta.copy()
        self.information = np.zeros_like(self.information)
        self.evidence = np.zeros_like(self.evidence)

    def coefficients(self) -> dict[str, float]:
        return dict(zip(PARAMETERS, self.theta.tolist(), strict=True))

    @classmethod
    def pooled(
        cls, maps: Sequence[CalibrationMap], prior: float, half_life: float
    ) -> CalibrationMap:
        """One map from several fresh ones: their evidence added, the prior counted once."""
        out = cls(prior, half_life)
        for m in maps:
            out.information = out.information + m.information
            out.evidence = out.evidence + m.evidence
            out.updates += m.updates
        out.theta = out._solve()
        return out

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: getattr(self, name).tolist() for name in _ARRAYS}
        return {**state, "updates": self.updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        try:
            arrays = {name: np.asarray(state[name], dtype=float) for name in _ARRAYS}
            updates = int(state["updates"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state calibration map: malformed ({exc})") from None
        for name, value in arrays.items():
            if value.shape != getattr(self, name).shape or not np.all(np.isfinite(value)):
                raise EnsembleInputError(
                    f"ensemble state calibration map.{name}: need finite values of shape "
                    f"{getattr(self, name).shape}"
                )
        for name, value in arrays.items():
            setattr(self, name, value)
        self.updates = updates
