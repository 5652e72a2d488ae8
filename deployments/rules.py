"""Deployments of the rule-based predictors and the regime detector.

Each takes a list of windows per call (the ensemble sends one call per batch of requests)
and answers one :class:`~deployments.replies.Reply` per window. The windows already carry
the indicator columns, computed once by the ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import polars as pl
from ray import serve

from deployments.replies import Reply, batch_or_each, each_window
from models.predictors.base import create_predictor
from models.regime.detector import RegimeDetector


class RulePredictor:
    """Shared body of the rule-based predictor deployments; ``model_name`` picks one."""

    model_name: ClassVar[str] = ""

    def __init__(self) -> None:
        self.predictor = create_predictor(self.model_name)

    async def predict(self, windows: Sequence[pl.DataFrame]) -> list[Reply]:
        p = self.predictor
        return batch_or_each(p.predict_batch, p.predict, windows, None)

    async def ping(self) -> dict[str, Any]:
        return {"model": self.model_name, "min_bars": self.predictor.min_bars}


@serve.deployment(ray_actor_options={"num_cpus": 0.2}, max_ongoing_requests=64)
class IndicatorsDeployment(RulePredictor):
    model_name = "indicators"


@serve.deployment(ray_actor_options={"num_cpus": 0.2}, max_ongoing_requests=64)
class SmcDeployment(RulePredictor):
    model_name = "smc"


@serve.deployment(ray_actor_options={"num_cpus": 0.2}, max_ongoing_requests=64)
class RegimeDeployment:
    """The regime at the last bar of each window (a :class:`RegimeState` per reply)."""

    def __init__(self) -> None:
        self.detector = RegimeDetector()

    async def current(self, windows: Sequence[pl.DataFrame]) -> list[Reply]:
        return each_window(self.detector.current, windows)

    async def ping(self) -> dict[str, Any]:
        return {"model": "regime", "min_bars": self.detector.min_bars}
