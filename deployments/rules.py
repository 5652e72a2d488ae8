"""Deployments of the rule-based predictors and the regime detector.

One class serves every rule-based predictor: the predictor's name is its first constructor
argument (``deployments.app`` binds one per registry entry of kind ``rule``).

Each takes a list of windows per call (the ensemble sends one call per batch of requests)
and answers one :class:`~models.serving.replies.Reply` per window. The windows already carry
the indicator columns, computed once by the ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from ray import serve

from models.predictors.base import create_predictor
from models.predictors.registry import predictor_entry
from models.predictors.warm_up import compile_feature_kernels
from models.regime.detector import RegimeDetector
from models.serving.replies import Reply, batch_or_each, each_window


class RulePredictor:
    """Serves the rule-based predictor ``name`` (``settings`` is accepted for a uniform
    bind; a rule predictor needs none)."""

    def __init__(self, name: str, settings: dict[str, Any] | None = None) -> None:
        entry = predictor_entry(name)
        if entry.kind != "rule":
            raise ValueError(f"{name} is a {entry.kind} predictor, not a rule-based one")
        self.model_name = name
        self.predictor = create_predictor(name)
        self.predictor.set_threads(entry.threads)
        compile_feature_kernels()  # while starting, not in the first request's deadline

    async def predict(self, windows: Sequence[pl.DataFrame]) -> list[Reply]:
        p = self.predictor
        return batch_or_each(p.predict_batch, p.predict, windows, None)

    async def ping(self) -> dict[str, Any]:
        return {"model": self.model_name, "min_bars": self.predictor.min_bars}


RuleDeployment = serve.deployment(ray_actor_options={"num_cpus": 0.2}, max_ongoing_requests=64)(
    RulePredictor
)
"""Serve deployment of :class:`RulePredictor`; ``deployments.app`` names one per entry."""


@serve.deployment(ray_actor_options={"num_cpus": 0.2}, max_ongoing_requests=64)
class RegimeDeployment:
    """The regime at the last bar of each window (a :class:`RegimeState` per reply)."""

    def __init__(self) -> None:
        self.detector = RegimeDetector()
        compile_feature_kernels()

    async def current(self, windows: Sequence[pl.DataFrame]) -> list[Reply]:
        return each_window(self.detector.current, windows)

    async def ping(self) -> dict[str, Any]:
        return {"model": "regime", "min_bars": self.detector.min_bars}
