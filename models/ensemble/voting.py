"""The three voting rules, as pure functions over probability vectors and weights.

Every vector is (down, flat, up). The maths is deliberately small so each case can be
checked by hand:

- ``weighted``: ``p = sum_i w_i * p_i`` with the weights normalised to sum to 1.
- ``confidence_weighted``: the same with ``w_i * c_i`` renormalised (``c_i`` = the model's
  own confidence), so a model unsure of itself counts less. When every ``w_i * c_i`` is 0
  it falls back to ``w_i``.
- ``majority``: one vote per model for its own direction; ``p`` = the vote shares, the
  ensemble confidence = share of the winning class x mean confidence of its voters.

The direction is the top class; any tie for the top gives flat (a split vote is no signal).
The ensemble confidence of the weighted rules is the combined probability of that class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Vector = tuple[float, float, float]

UNIFORM: Vector = (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)


@dataclass(frozen=True)
class Vote:
    """Outcome of one voting rule: combined vector, its confidence and the weights used."""

    probabilities: Vector
    confidence: float
    weights: tuple[float, ...]
    """Normalised weight each input got (what multiplied its vector, or its vote share)."""


def direction_of(probabilities: Sequence[float]) -> int:
    """-1, 0 or +1 for the top class of (down, flat, up); a tie for the top gives 0."""
    top = max(probabilities)
    winners = [i for i, p in enumerate(probabilities) if p == top]
    return winners[0] - 1 if len(winners) == 1 else 0


def normalise(weights: Sequence[float]) -> tuple[float, ...]:
    """``weights`` scaled to sum to 1 (all zeros stay zeros: nobody gets a say)."""
    total = sum(weights)
    if total <= 0:
        return tuple(0.0 for _ in weights)
    return tuple(w / total for w in weights)


def apply_floor(weights: Sequence[float], floor: float) -> tuple[float, ...]:
    """Normalised weights with every entry at least ``floor``, still summing to 1.

    Water-filling: entries below the floor are pinned to it and the rest share what is
    left in proportion to their size, repeated until none falls below. When the floor
    cannot be met (``floor * n >= 1``) every entry gets ``1 / n``.
    """
    n = len(weights)
    if n == 0:
        return ()
    if floor * n >= 1.0:
        return tuple(1.0 / n for _ in weights)
    w = list(normalise(weights)) if sum(weights) > 0 else [1.0 / n] * n
    pinned: set[int] = set()
    while True:
        low = {i for i in range(n) if i not in pinned and w[i] < floor}
        if not low:
            return tuple(w)
        pinned |= low
        free = [i for i in range(n) if i not in pinned]
        free_total = sum(w[i] for i in free)
        left = 1.0 - floor * len(pinned)
        for i in pinned:
            w[i] = floor
        for i in free:
            w[i] = w[i] / free_total * left if free_total > 0 else left / len(free)


def _mix(vectors: Sequence[Vector], weights: Sequence[float]) -> Vector:
    mixed = [sum(w * v[k] for v, w in zip(vectors, weights, strict=True)) for k in range(3)]
    total = sum(mixed)
    return (mixed[0] / total, mixed[1] / total, mixed[2] / total)


def weighted_vote(vectors: Sequence[Vector], weights: Sequence[float]) -> Vote:
    """Weighted mean of ``vectors``; confidence = combined probability of the direction."""
    norm = normalise(weights)
    if not vectors or sum(norm) == 0:
        return Vote(UNIFORM, 0.0, norm)
    probs = _mix(vectors, norm)
    return Vote(probs, probs[direction_of(probs) + 1], norm)


def confidence_weighted_vote(
    vectors: Sequence[Vector], weights: Sequence[float], confidences: Sequence[float]
) -> Vote:
    """:func:`weighted_vote` with each weight multiplied by its model's confidence."""
    scaled = [w * c for w, c in zip(weights, confidences, strict=True)]
    return weighted_vote(vectors, scaled if sum(scaled) > 0 else weights)


def majority_vote(vectors: Sequence[Vector], confidences: Sequence[float]) -> Vote:
    """One vote per model; shares as probabilities; confidence = share x winners' mean."""
    n = len(vectors)
    if n == 0:
        return Vote(UNIFORM, 0.0, ())
    votes = [direction_of(v) for v in vectors]
    shares: Vector = tuple(votes.count(d) / n for d in (-1, 0, 1))  # type: ignore[assignment]
    direction = direction_of(shares)
    winners = [c for v, c in zip(votes, confidences, strict=True) if v == direction]
    mean_conf = sum(winners) / len(winners) if winners else 0.0
    return Vote(shares, shares[direction + 1] * mean_conf, tuple(1.0 / n for _ in vectors))
