"""Online, decayed least squares of ``y`` on ``(1, x)`` with a variance that respects
overlapping and simultaneous outcomes.

The sums of the normal equations decay with age (:meth:`Fit.aged`). The variance of the
coefficients is a sandwich ``A^-1 M A^-1``: ``A`` the normal matrix, ``M`` the sum over
*clusters* of ``g g'`` with ``g = sum x_i (y_i - x_i' theta)`` over the outcomes resolved
in one block of ``h`` bars (every symbol's together in the pooled fit), plus the cross
terms of adjacent blocks. Outcomes of ``h``-bar returns learned every bar overlap by
``h - 1`` bars, and symbols move together at the same bar; both dependencies live within a
block and its neighbour (for ``h``-bar sums of independent steps, a block and its cross
terms add up to exactly the long-run variance), so the sandwich counts them, where treating
every outcome as independent would not. A cluster's ``g`` is taken with the coefficients at the
time it closes (the block after it starts), the open one's with the current ones.

2x2 symmetric matrices are ``(a11, a12, a22)`` tuples: a few floats, no arrays, so the
arithmetic (and a replay from a saved state) is exact and cheap per bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from models.errors import TradingError

Vec = tuple[float, float]
Mat = tuple[float, float, float]
RIDGE = 1e-9
"""Relative ridge on a normal matrix: a constant ``x`` leaves the slope at 0, not NaN."""


def inverse(m: Mat) -> Mat:
    a, b, d = m
    det = a * d - b * b
    return d / det, -b / det, a / det


def solve(m: Mat, v: Vec) -> Vec:
    i = inverse(m)
    return i[0] * v[0] + i[1] * v[1], i[1] * v[0] + i[2] * v[1]


def quad(m: Mat, x: Vec) -> float:
    """``x' m x``."""
    return m[0] * x[0] * x[0] + 2.0 * m[1] * x[0] * x[1] + m[2] * x[1] * x[1]


def sandwich(inv: Mat, meat: Mat) -> Mat:
    """``inv meat inv`` of symmetric 2x2 matrices."""
    a, b, d = inv
    p, q, r = meat
    # inv @ meat, then @ inv
    m11, m12 = a * p + b * q, a * q + b * r
    m21, m22 = b * p + d * q, b * q + d * r
    return m11 * a + m12 * b, m11 * b + m12 * d, m21 * b + m22 * d


def add(m: Mat, other: Mat, k: float = 1.0) -> Mat:
    return m[0] + k * other[0], m[1] + k * other[1], m[2] + k * other[2]


@dataclass
class Sums:
    """Weighted sums of 1, x, x^2, y, x y, y^2."""

    w: float = 0.0
    sx: float = 0.0
    sxx: float = 0.0
    sy: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0

    def add(self, x: float, y: float) -> None:
        self.w += 1.0
        self.sx += x
        self.sxx += x * x
        self.sy += y
        self.sxy += x * y
        self.syy += y * y

    def scaled(self, f: float) -> Sums:
        return Sums(*(f * v for v in self.values()))

    def values(self) -> tuple[float, ...]:
        return self.w, self.sx, self.sxx, self.sy, self.sxy, self.syy

    def normal(self) -> Mat:
        """The normal matrix with a small ridge (positive definite when ``w > 0``)."""
        ridge = RIDGE * (self.w + self.sxx)
        return self.w + ridge, self.sx, self.sxx + ridge

    def rhs(self) -> Vec:
        return self.sy, self.sxy

    def gradient(self, theta: Vec) -> Vec:
        """``sum x_i (y_i - x_i' theta)``."""
        a, b = theta
        return self.sy - a * self.w - b * self.sx, self.sxy - a * self.sx - b * self.sxx

    def rss(self, theta: Vec) -> float:
        """Residual sum of squares of the line ``theta`` (clamped at 0)."""
        a, b = theta
        value = self.syy - 2.0 * (a * self.sy + b * self.sxy)
        value += a * a * self.w + 2.0 * a * b * self.sx + b * b * self.sxx
        return max(value, 0.0)


def _outer(g: Vec, h: Vec) -> Mat:
    """The symmetric part of ``g h'``."""
    return g[0] * h[0], 0.5 * (g[0] * h[1] + g[1] * h[0]), g[1] * h[1]


@dataclass
class Fit:
    """One fit's decayed sums, its closed clusters' meat and its open cluster."""

    sums: Sums = field(default_factory=Sums)
    meat: Mat = (0.0, 0.0, 0.0)
    open: Sums = field(default_factory=Sums)
    block: int | None = None
    """Block of the open cluster."""
    last: Vec = (0.0, 0.0)
    """The newest closed cluster's ``g`` (for the cross term with the next)."""
    last_block: int | None = None
    bar: int | None = None

    def aged(self, bar: int, half_life: float) -> Fit:
        """A copy aged to ``bar`` (never rejuvenated by an older bar)."""
        f = 1.0
        if self.bar is not None and bar > self.bar:
            f = 2.0 ** (-(bar - self.bar) / half_life)
        return Fit(
            self.sums.scaled(f),
            (self.meat[0] * f, self.meat[1] * f, self.meat[2] * f),
            self.open.scaled(f),
            self.block,
            (self.last[0] * f, self.last[1] * f),
            self.last_block,
            max(bar, self.bar) if self.bar is not None else bar,
        )

    def add(self, block: int, x: float, y: float, theta: Callable[[], Vec]) -> None:
        """One outcome resolved in ``block``; a block after the open one closes it with
        the coefficients ``theta()`` gives then."""
        if self.block is not None and block != self.block:
            g = self.open.gradient(theta())
            self.meat = self._with(self.meat, g, self.block)
            self.last, self.last_block = g, self.block
            self.open = Sums()
        self.block = block
        self.open.add(x, y)
        self.sums.add(x, y)

    def _with(self, meat: Mat, g: Vec, block: int) -> Mat:
        meat = add(meat, _outer(g, g))
        if self.last_block is not None and block == self.last_block + 1:
            meat = add(meat, _outer(g, self.last), 2.0)  # g l' + l g'
        return meat

    def full_meat(self, theta: Vec) -> Mat:
        """The meat with the open cluster counted at ``theta``."""
        if self.block is None or self.open.w == 0:
            return self.meat
        return self._with(self.meat, self.open.gradient(theta), self.block)

    # state ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "sums": list(self.sums.values()),
            "meat": list(self.meat),
            "open": list(self.open.values()),
            "block": self.block,
            "last": list(self.last),
            "last_block": self.last_block,
            "bar": self.bar,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> Fit:
        try:
            fit = cls(
                Sums(*_floats(data["sums"], 6)),
                _floats(data["meat"], 3),  # type: ignore[arg-type]
                Sums(*_floats(data["open"], 6)),
                _int(data["block"]),
                _floats(data["last"], 2),  # type: ignore[arg-type]
                _int(data["last_block"]),
                _int(data["bar"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TradingError(f"{where}: malformed ({exc})") from None
        return fit


def _floats(values: Any, n: int) -> tuple[float, ...]:
    if not isinstance(values, list) or len(values) != n:
        raise ValueError(f"need {n} numbers, got {values!r}")
    out = tuple(float(v) for v in values)
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"need finite numbers, got {values!r}")
    return out


def _int(value: Any) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"need an integer or null, got {value!r}")
    return value
