"""The settings of one evaluation run (kept free of heavy imports: the CLI checks them first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from models.evaluation.period import DEFAULT_LOOKBACK
from models.predictors.registry import trained_names

TRAINED: tuple[str, ...] = trained_names()
"""Trained predictors looked up in the model registry for every symbol."""

QUICK_LOOKBACK = timedelta(days=21)
"""Period of a ``--quick`` smoke run (at most; later if a model's window ends later)."""


@dataclass(frozen=True)
class EvaluationConfig:
    """Everything ``scripts/evaluate.py`` can set."""

    data: Path
    registry: Path | None
    symbols: tuple[str, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None
    costs_bps: tuple[float, ...] = (0.0, 5.0, 10.0)
    horizon: int = 4
    jobs: int = 2
    draws: int = 200
    seed: int = 0
    quick: bool = False
    ensemble_config: dict[str, Any] | None = None
    device: str = "cpu"
    trained: tuple[str, ...] = TRAINED
    """Registry-backed members to look up: networks and trees."""
    book_costs_bps: tuple[float, ...] = (0.0, 4.0, 10.0)
    """Round-trip costs the trading layer's book is replayed at (``book.csv``)."""
    trading: dict[str, Any] | None = None
    """The ``trading`` settings replayed (the app's ``args.trading``; None: defaults)."""

    @property
    def lookback(self) -> timedelta:
        return QUICK_LOOKBACK if self.quick else DEFAULT_LOOKBACK

    @property
    def headline_cost(self) -> float:
        """The cost the report leads with: the middle of the requested costs."""
        costs = sorted(self.costs_bps)
        return costs[len(costs) // 2]
