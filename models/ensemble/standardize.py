"""Each member's output standardized against its own trailing distribution, per symbol.

Members differ in their mean level of ``P(up) - P(down)`` (each has its own bias) and in
how much that score moves; averaging raw probabilities lets those biases move the combined
score more than the members' small per-bar information does. So every member's output is
first turned into two scores and each score into a z-score against that member's own
trailing distribution on the same symbol:

- direction score ``d = P(up) - P(down)`` (sign and size of the expected move);
- move score ``m = log((P(up) + P(down)) / P(flat))`` (how likely a move beyond the flat
  band is).

The trailing distribution is an exponentially weighted mean and variance (weight ``1/2``
after ``half_life`` bars) of the outputs learned so far: only outputs whose outcome has been
resolved are added (they arrive through ``learn``, never through ``combine``), so the
z-score of bar ``t`` uses outputs of bars ``<= t - h``: causal by construction. A member's
z-score is used once its trailing weight reaches ``min_weight`` bars, and is clipped to
``+-clip`` standard deviations.

Moments remember the model version they were learned from: an output of another version
(a retrained model) restarts them, and until then :meth:`Standardizer.z` says why the
member is left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.errors import EnsembleInputError

Vector = tuple[float, float, float]

PROB_FLOOR = 1e-4
"""Smallest probability taken into a logarithm (a rule's hard 0 stays a finite score)."""

VAR_FLOOR = 1e-12
"""A trailing variance at or below this is a constant output: its z-score is 0."""


def member_scores(vector: Vector) -> tuple[float, float]:
    """``(P(up) - P(down), log((P(up) + P(down)) / P(flat)))`` of a (down, flat, up) vector."""
    down, flat, up = vector
    move = math.log(max(up + down, PROB_FLOOR)) - math.log(max(flat, PROB_FLOOR))
    return up - down, move


@dataclass
class Moments:
    """Decayed weight, sums and sums of squares of one member's two scores."""

    version: str | None = None
    weight: float = 0.0
    sums: list[float] = field(default_factory=lambda: [0.0, 0.0])
    squares: list[float] = field(default_factory=lambda: [0.0, 0.0])

    def mean_std(self, k: int) -> tuple[float, float]:
        """Trailing mean and standard deviation of score ``k`` (0 direction, 1 move)."""
        if self.weight <= 0:
            return 0.0, 0.0
        mean = self.sums[k] / self.weight
        var = max(self.squares[k] / self.weight - mean * mean, 0.0)
        return mean, math.sqrt(var)

    def to_list(self) -> list[Any]:
        return [self.version, self.weight, *self.sums, *self.squares]

    @classmethod
    def from_list(cls, values: Any) -> Moments:
        version, weight, s0, s1, q0, q1 = values
        numbers = [float(v) for v in (weight, s0, s1, q0, q1)]
        if not all(math.isfinite(v) for v in numbers) or numbers[0] < 0:
            raise ValueError(f"need finite moments with a weight >= 0, got {values!r}")
        if version is not None and not isinstance(version, str):
            raise ValueError(f"version must be a string or null, got {version!r}")
        return cls(version, numbers[0], numbers[1:3], numbers[3:5])


def other_version(stored: str | None, given: str | None) -> bool:
    """Whether ``given`` is a known version different from the ``stored`` one."""
    return stored is not None and given is not None and stored != given


class Standardizer:
    """Trailing moments of every (member, score) of one symbol."""

    def __init__(self, half_life: float, min_weight: float, clip: float) -> None:
        self.decay = 0.5 ** (1.0 / half_life)
        self.min_weight = min_weight
        self.clip = clip
        self.moments: dict[str, Moments] = {}

    def z(self, member: str, vector: Vector, version: str | None) -> tuple[float, float] | str:
        """The member's two z-scores, or why it is left out."""
        m = self.moments.get(member)
        if m is not None and other_version(m.version, version):
            return (
                f"version {version} differs from {m.version}, the one its scores were "
                "standardized on; it is left out until its own outputs are learned"
            )
        if m is None or m.weight < self.min_weight:
            have = 0.0 if m is None else m.weight
            return f"warming up: {have:.0f} of {self.min_weight:.0f} bars of its outputs learned"
        out = []
        for k, value in enumerate(member_scores(vector)):
            mean, std = m.mean_std(k)
            z = 0.0 if std * std <= VAR_FLOOR else (value - mean) / std
            out.append(max(-self.clip, min(self.clip, z)))
        return out[0], out[1]

    def update(self, member: str, vector: Vector, version: str | None) -> bool:
        """Add one learned output; True when it restarted the member (another version)."""
        m = self.moments.get(member)
        restarted = m is not None and other_version(m.version, version)
        if m is None or restarted:
            m = self.moments[member] = Moments(version)
        elif m.version is None:
            m.version = version
        m.weight = self.decay * m.weight + 1.0
        for k, value in enumerate(member_scores(vector)):
            m.sums[k] = self.decay * m.sums[k] + value
            m.squares[k] = self.decay * m.squares[k] + value * value
        return restarted

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per member: version, trailing weight, means and standard deviations."""
        out = {}
        for member, m in self.moments.items():
            (d_mean, d_std), (m_mean, m_std) = m.mean_std(0), m.mean_std(1)
            out[member] = {
                "version": m.version,
                "bars": m.weight,
                "direction_mean": d_mean,
                "direction_std": d_std,
                "move_mean": m_mean,
                "move_std": m_std,
            }
        return out

    def state_dict(self) -> dict[str, list[Any]]:
        return {member: m.to_list() for member, m in self.moments.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        try:
            self.moments = {str(k): Moments.from_list(v) for k, v in dict(state).items()}
        except (TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state standardizer: malformed ({exc})") from None
