"""Stand-ins for a predictor deployment that is down or too slow (integration tests only).

Built inside functions so Ray pickles the classes by value: the replicas cannot import
the ``tests`` package.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve.deployment import Deployment


def failing_predictor() -> Deployment:
    """A predictor whose every call raises, health check included."""

    @serve.deployment(ray_actor_options={"num_cpus": 0.1})
    class FailingPredictor:
        def __init__(self, *args: Any) -> None:  # bound like the real one: (name, settings)
            pass

        async def predict(self, windows: Any) -> Any:
            raise RuntimeError("predictor crashed")

        async def ping(self) -> Any:
            raise RuntimeError("predictor crashed")

    return FailingPredictor


def slow_predictor(delay_s: float = 60.0) -> Deployment:
    """A predictor that is alive (answers pings) but never answers within a deadline."""

    @serve.deployment(ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=64)
    class SlowPredictor:
        def __init__(self, *args: Any) -> None:  # bound like the real one: (name, settings)
            pass

        async def predict(self, windows: Any) -> Any:
            import asyncio

            await asyncio.sleep(delay_s)
            return []

        async def ping(self) -> Any:
            return {"model": "slow"}

    return SlowPredictor
