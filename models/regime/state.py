"""The regime names and the per-window regime state shared by detector, ensemble and API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REGIMES: tuple[str, ...] = (
    "trending_bullish",
    "trending_bearish",
    "ranging",
    "volatile",
    "breakout_bullish",
    "breakout_bearish",
    "consolidation",
)


@dataclass(frozen=True)
class RegimeState:
    """The regime at the last bar of a window.

    ``confidence`` is the margin between the best and second-best regime score (0..1);
    ``transition_probability`` estimates the chance the regime changes on the next bar.
    """

    name: str
    confidence: float
    transition_probability: float
    scores: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in REGIMES:
            raise ValueError(f"unknown regime {self.name!r}; known: {', '.join(REGIMES)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "confidence": self.confidence,
            "transition_probability": self.transition_probability,
        }
