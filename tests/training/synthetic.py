"""Synthetic hourly candles for tests of mechanics (splits, loop, registry), not of markets:
the seeded random walk the replicas' warm-up runs on (one generator for both)."""

from __future__ import annotations

from models.predictors.warm_up import synthetic_candles as random_walk_candles

__all__ = ["random_walk_candles"]
