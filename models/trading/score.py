"""The one number per signal that the trading layer trades on: its score.

The trading layer never reads probabilities itself; it asks for a *score* (larger: more
up), regresses realized returns on it (:mod:`models.trading.expected`) and so works for
any monotone score whatever its scale. Today the score is ``P(up) - P(down)``, the signed
score whose rank correlation with the forward return is the evaluation's IC. An ensemble
that states its own score (a ``score`` field in the answer, or a ``score`` attribute on
the signal: a combined, standardized score) is traded on that instead, with no change here.

A degraded answer (a member failed, or too few voted) has no score: no trade is made on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from models.errors import TradingError

SCORE_FIELD = "score"
"""The answer field (or signal attribute) holding an ensemble's own score."""


def probability_score(probabilities: Sequence[float] | Mapping[str, float]) -> float:
    """``P(up) - P(down)`` of a (down, flat, up) vector or a ``{down, flat, up}`` mapping."""
    if isinstance(probabilities, Mapping):
        try:
            down, up = probabilities["down"], probabilities["up"]
        except KeyError as exc:
            raise TradingError(f"probabilities: missing {exc.args[0]!r}") from None
    elif len(probabilities) == 3:
        down, up = probabilities[0], probabilities[2]
    else:
        raise TradingError(f"probabilities: need (down, flat, up), got {probabilities!r}")
    score = float(up) - float(down)
    if not math.isfinite(score):
        raise TradingError(f"probabilities: not finite ({probabilities!r})")
    return score


def signal_score(signal: Any) -> float:
    """The score of an ensemble signal: its own ``score`` when it has one, else
    ``P(up) - P(down)`` of its probabilities."""
    own = getattr(signal, SCORE_FIELD, None)
    if own is not None:
        return _finite(own)
    return probability_score(signal.probabilities)


def answer_score(answer: Mapping[str, Any]) -> float | None:
    """The score of a ``/v1/predict`` answer (or its stored part); None when degraded or
    without probabilities (nothing to trade on)."""
    if answer.get("degraded"):
        return None
    own = answer.get(SCORE_FIELD)
    if own is not None:
        return _finite(own)
    probabilities = answer.get("probabilities")
    if probabilities is None:
        return None
    return probability_score(probabilities)


def _finite(value: Any) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise TradingError(f"{SCORE_FIELD}: must be a number, got {value!r}") from None
    if not math.isfinite(score):
        raise TradingError(f"{SCORE_FIELD}: must be finite, got {value!r}")
    return score
