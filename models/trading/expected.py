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
  ``s * sqrt(h * s2 * x' A^-1 x)`` with ``s2`` the (shrunk) residual variance and ``A`` the
  regularised normal matrix. Outcomes are learned at every bar, so consecutive ones share
  ``h - 1`` bars: the factor ``h`` accounts for that overlap (the variance of a mean of
  overlapping ``h``-bar sums is about ``h`` times that of independent ones). Weights at
  most 1 make ``s2 A^-1`` an upper bound of the weighted estimator's variance.

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

BPS = 1e4
RIDGE = 1e-9
"""Relative ridge on the normal matrix: a constant score leaves the slope at 0, not NaN."""


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


@dataclass
class _Sums:
    """Decayed weighted sums of 1, x, x^2, y, x y, y^2, as of ``bar``."""

    w: float = 0.0
    sx: float = 0.0
    sxx: float = 0.0
    sy: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0
    bar: int | None = None

    def scaled(self, bar: int, half_life: float) -> _Sums:
        """These sums aged to ``bar`` (never rejuvenated by an older bar)."""
        if self.bar is None or bar <= self.bar:
            return _Sums(self.w, self.sx, self.sxx, self.sy, self.sxy, self.syy, self.bar)
        f = 2.0 ** (-(bar - self.bar) / half_life)
        return _Sums(
            self.w * f, self.sx * f, self.sxx * f, self.sy * f, self.sxy * f, self.syy * f, bar
        )

    def add(self, x: float, y: float) -> None:
        self.w += 1.0
        self.sx += x
        self.sxx += x * x
        self.sy += y
        self.sxy += x * y
        self.syy += y * y

    def to_list(self) -> list[Any]:
        return [self.w, self.sx, self.sxx, self.sy, self.sxy, self.syy, self.bar]

    @classmethod
    def from_list(cls, values: Any, where: str) -> _Sums:
        ok = isinstance(values, list) and len(values) == 7
        if ok:
            *sums, bar = values
            ok = all(isinstance(v, int | float) and math.isfinite(v) for v in sums)
            ok = ok and (bar is None or isinstance(bar, int))
        if not ok:
            raise TradingError(f"{where}: need 6 finite sums and a bar, got {values!r}")
        w, sx, sxx, sy, sxy, syy = (float(v) for v in values[:6])
        return cls(w, sx, sxx, sy, sxy, syy, values[6])


def _solve(a11: float, a12: float, a22: float, b1: float, b2: float) -> tuple[float, float]:
    det = a11 * a22 - a12 * a12
    return (a22 * b1 - a12 * b2) / det, (a11 * b2 - a12 * b1) / det


def _quad_inv(a11: float, a12: float, a22: float, x1: float, x2: float) -> float:
    """``x' A^-1 x`` of a 2x2 symmetric positive definite ``A``."""
    det = a11 * a22 - a12 * a12
    return (a22 * x1 * x1 - 2.0 * a12 * x1 * x2 + a11 * x2 * x2) / det


def _rss(s: _Sums, a: float, b: float) -> float:
    """Weighted residual sum of squares of the line ``a + b x`` (clamped at 0)."""
    value = s.syy - 2.0 * (a * s.sy + b * s.sxy) + a * a * s.w + 2 * a * b * s.sx + b * b * s.sxx
    return max(value, 0.0)


def _regularised(s: _Sums) -> tuple[float, float, float]:
    """The normal matrix of ``s`` with a small ridge (positive definite when ``w > 0``)."""
    ridge = RIDGE * (s.w + s.sxx)
    return s.w + ridge, s.sx, s.sxx + ridge


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
        self._pooled = _Sums()
        self._symbols: dict[str, _Sums] = {}

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
        self._pooled = self._pooled.scaled(bar, self.half_life)
        self._pooled.bar = bar
        self._pooled.add(score, y)
        own = self._symbols.get(symbol, _Sums()).scaled(bar, self.half_life)
        own.bar = bar
        own.add(score, y)
        self._symbols[symbol] = own

    def outcomes(self, bar: int) -> float:
        """Effective outcomes of the pooled fit as of ``bar``."""
        return self._pooled.scaled(bar, self.half_life).w

    def estimate(self, symbol: str, bar: int, score: float, sigma: float) -> Estimate | None:
        """Expected return of a signal with ``score`` at ``bar`` (1-bar volatility
        ``sigma``); None before ``min_outcomes`` outcomes or without a usable ``sigma``."""
        if not (math.isfinite(sigma) and sigma > 0 and math.isfinite(score)):
            return None
        pooled = self._pooled.scaled(bar, self.half_life)
        if pooled.w < self.min_outcomes:
            return None
        p11, p12, p22 = _regularised(pooled)
        pa, pb = _solve(p11, p12, p22, pooled.sy, pooled.sxy)
        pooled_var = _rss(pooled, pa, pb) / pooled.w
        own = self._symbols.get(symbol, _Sums()).scaled(bar, self.half_life)
        if own.w <= 0 and self.prior <= 0:
            return None  # no outcome of this symbol, and no pooling asked for
        k = self.prior / pooled.w  # pseudo-outcomes spread like the pooled design
        o11, o12, o22 = _regularised(own)
        a11, a12, a22 = o11 + k * p11, o12 + k * p12, o22 + k * p22
        b1 = own.sy + k * (p11 * pa + p12 * pb)
        b2 = own.sxy + k * (p12 * pa + p22 * pb)
        a, b = _solve(a11, a12, a22, b1, b2)
        var = (_rss(own, a, b) + self.prior * pooled_var) / (own.w + self.prior)
        scale = self.scale(sigma) * BPS
        spread = self.horizon * var * _quad_inv(a11, a12, a22, 1.0, score)
        return Estimate(
            mu_bps=scale * (a + b * score),
            se_bps=scale * math.sqrt(max(spread, 0.0)),
            sd_bps=scale * math.sqrt(var),
            outcomes=own.w,
        )

    # state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "pooled": self._pooled.to_list(),
            "symbols": {s: v.to_list() for s, v in sorted(self._symbols.items())},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or not isinstance(state.get("symbols"), Mapping):
            raise TradingError("expected-return state: need 'pooled' and 'symbols'")
        pooled = _Sums.from_list(state.get("pooled"), "expected-return state pooled")
        symbols = {
            str(s): _Sums.from_list(v, f"expected-return state symbols.{s}")
            for s, v in state["symbols"].items()
        }
        self._pooled, self._symbols = pooled, symbols
