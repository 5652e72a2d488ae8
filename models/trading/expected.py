"""Expected return over the horizon, with its standard error, learned causally from outcomes.

Each resolved signal gives a pair (score ``x``, realized simple return ``r`` over the
horizon). Returns are first put on one scale across symbols and time: ``y = r / s`` with
``s = sigma * sqrt(h)``, ``sigma`` the trailing std of 1-bar log returns at the signal's
bar. The model is the least-squares line ``y = a + b x``:

- **pooled** over every symbol, and **per symbol** shrunk toward the pooled line: the
  symbol's normal equations get ``prior_outcomes`` pseudo-outcomes spread like the pooled
  design and centred on the pooled coefficients (ridge toward the pool), so a symbol with
  few outcomes follows the pool and one with many follows its own;
- outcomes are weighted ``2 ** (-age / half_life_bars)`` (the market drifts);
- the expected return at score ``x`` is ``mu = s * (a + b x)`` in bps, its standard error
  ``s * sqrt(x' V x)`` with ``V = A^-1 M A^-1`` (:mod:`models.trading.regression`): ``A``
  the symbol's normal matrix with the pooled pseudo-outcomes, ``M`` its clustered meat
  plus the pooled meat at the same weight. Outcomes are learned at every bar, so
  consecutive ones share ``h - 1`` bars, and symbols move together: clustering by blocks
  of ``h`` bars counts both. ``V`` is never taken below ``s2 A^-1``, the variance of
  independent outcomes (``s2``: the shrunk residual variance), so a few early clusters
  cannot make an estimate look sure.

The ``sd`` of an estimate is ``s * sqrt(s2)``: how far outcomes scatter around ``mu``,
the risk that Kelly sizing divides by. No estimate is stated before ``min_outcomes``
(effective, all symbols) have been learned. Nothing here reads the future: the caller
learns an outcome only once its bar has closed (:class:`models.trading.desk.Desk`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.errors import TradingError
from models.trading.regression import Fit, Mat, Sums, Vec, add, inverse, quad, sandwich, solve

BPS = 1e4


@dataclass(frozen=True)
class Estimate:
    """What the model expects of one signal, in bps of the position's notional."""

    mu_bps: float
    """Expected simple return over the horizon."""
    se_bps: float
    """Standard error of ``mu_bps``."""
    sd_bps: float
    """Standard deviation of the outcome around ``mu_bps`` (the position's risk)."""
    outcomes: float
    """Effective (decayed) outcomes of the symbol behind it (0: the pool alone)."""

    def with_mu(self, mu_bps: float) -> Estimate:
        return Estimate(mu_bps, self.se_bps, self.sd_bps, self.outcomes)

    def to_dict(self) -> dict[str, float]:
        return {
            "mu_bps": self.mu_bps,
            "se_bps": self.se_bps,
            "sd_bps": self.sd_bps,
            "outcomes": self.outcomes,
        }


def _finite(value: float, name: str) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise TradingError(f"{name}: must be a finite number, got {value!r}")
    return float(value)


class ExpectedReturnModel:
    """Pooled and per-symbol lines of scaled realized return on score (module docstring)."""

    def __init__(
        self,
        horizon: int,
        half_life_bars: float = 2000.0,
        prior_outcomes: float = 200.0,
        min_outcomes: int = 100,
    ) -> None:
        self.horizon = horizon
        self.half_life = half_life_bars
        self.prior = prior_outcomes
        self.min_outcomes = min_outcomes
        self._pooled = Fit()
        self._symbols: dict[str, Fit] = {}

    def scale(self, sigma: float) -> float:
        """``sigma * sqrt(h)``: the horizon's volatility that returns are measured in."""
        return sigma * math.sqrt(self.horizon)

    def learn(self, symbol: str, bar: int, score: float, realized: float, sigma: float) -> None:
        """One resolved outcome, known at ``bar``: ``realized`` simple return of the signal
        with ``score``, whose bar's 1-bar volatility was ``sigma``."""
        score, realized = _finite(score, "score"), _finite(realized, "realized return")
        if not _finite(sigma, "sigma") > 0:
            raise TradingError(f"sigma: must be > 0, got {sigma!r}")
        y = realized / self.scale(sigma)
        block = bar // self.horizon
        self._pooled = self._pooled.aged(bar, self.half_life)
        own = self._symbols.get(symbol, Fit()).aged(bar, self.half_life)
        pooled = self._pooled.sums
        self._pooled.add(block, score, y, lambda: solve(pooled.normal(), pooled.rhs()))
        own.add(block, score, y, lambda: self._shrunk(own.sums, self._pooled.sums)[0])
        self._symbols[symbol] = own

    def outcomes(self, bar: int) -> float:
        """Effective outcomes of the pooled fit as of ``bar``."""
        return self._pooled.aged(bar, self.half_life).sums.w

    def _shrunk(self, own: Sums, pooled: Sums) -> tuple[Vec, Mat, float]:
        """The symbol's coefficients, its regularised normal matrix and the weight ``k`` of
        the pooled design in it (``prior_outcomes`` pseudo-outcomes)."""
        p = pooled.normal()
        k = self.prior / pooled.w if pooled.w > 0 else 0.0
        theta_p = solve(p, pooled.rhs()) if pooled.w > 0 else (0.0, 0.0)
        normal = add(own.normal(), p, k)
        pulled = (p[0] * theta_p[0] + p[1] * theta_p[1], p[1] * theta_p[0] + p[2] * theta_p[1])
        rhs = (own.sy + k * pulled[0], own.sxy + k * pulled[1])
        return solve(normal, rhs), normal, k

    def estimate(self, symbol: str, bar: int, score: float, sigma: float) -> Estimate | None:
        """Expected return of a signal with ``score`` at ``bar`` (1-bar volatility
        ``sigma``); None before ``min_outcomes`` outcomes or without a usable ``sigma``."""
        if not (math.isfinite(sigma) and sigma > 0 and math.isfinite(score)):
            return None
        pooled = self._pooled.aged(bar, self.half_life)
        if pooled.sums.w < self.min_outcomes:
            return None
        own = self._symbols.get(symbol, Fit()).aged(bar, self.half_life)
        if own.sums.w <= 0 and self.prior <= 0:
            return None  # no outcome of this symbol, and no pooling asked for
        theta_p = solve(pooled.sums.normal(), pooled.sums.rhs())
        pooled_var = pooled.sums.rss(theta_p) / pooled.sums.w
        theta, normal, k = self._shrunk(own.sums, pooled.sums)
        var = (own.sums.rss(theta) + self.prior * pooled_var) / (own.sums.w + self.prior)
        inv = inverse(normal)
        meat = add(own.full_meat(theta), pooled.full_meat(theta_p), k)
        x = (1.0, score)
        # the sandwich, never below the variance of independent outcomes
        spread = max(quad(sandwich(inv, meat), x), var * quad(inv, x))
        scale = self.scale(sigma) * BPS
        a, b = theta
        return Estimate(
            mu_bps=scale * (a + b * score),
            se_bps=scale * math.sqrt(spread),
            sd_bps=scale * math.sqrt(var),
            outcomes=own.sums.w,
        )

    # state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "pooled": self._pooled.to_dict(),
            "symbols": {s: v.to_dict() for s, v in sorted(self._symbols.items())},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or not isinstance(state.get("symbols"), Mapping):
            raise TradingError("expected-return state: need 'pooled' and 'symbols'")
        if not isinstance(state.get("pooled"), Mapping):
            raise TradingError("expected-return state: need 'pooled'")
        pooled = Fit.from_dict(state["pooled"], "expected-return state pooled")
        symbols = {
            str(s): Fit.from_dict(v, f"expected-return state symbols.{s}")
            for s, v in state["symbols"].items()
        }
        self._pooled, self._symbols = pooled, symbols
