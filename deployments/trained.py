"""The deployment of a trained predictor (neural or tree): per-symbol models, multiplexed
and batched. One class for every trained predictor: the predictor's name is its first
constructor argument (``deployments.app`` binds one per registry entry).

Callers pick the symbol with ``handle.options(multiplexed_model_id=symbol)``; each replica
keeps an LRU of loaded symbols (``max_models_per_replica``) and batches concurrent calls
(``@serve.batch``), running one forward pass per symbol in a batch. A symbol without a
trained model answers ``no_model`` for its windows instead of failing the ensemble.

New versions: every cached model re-reads the registry's ``LATEST`` pointer at most every
``version_check_s`` seconds, and ``reload()`` re-reads it at once on the replica that
receives it (other replicas follow within ``version_check_s``). A loaded version older than
``expire_after`` (:mod:`models.registry.lifecycle`) answers ``expired`` until a newer one
is published.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from deployments import metrics
from deployments.settings import AppSettings, parse_section
from models.predictors.base import predictor_class
from models.predictors.registry import predictor_entry
from models.predictors.warm_up import compile_feature_kernels
from models.registry import ModelRegistry
from models.serving import trained_models
from models.serving.model_cache import CacheEvents, ModelCache
from models.serving.replies import Reply


class TrainedUserConfig(BaseModel):
    """Runtime knobs (the deployment's ``user_config``)."""

    model_config = ConfigDict(extra="forbid")

    registry: str | None = Field(None, description="registry root; None keeps the current one")
    max_batch_size: int = Field(32, ge=1, le=1024)
    batch_wait_timeout_s: float = Field(0.0, ge=0, le=1)
    version_check_s: float = Field(10.0, gt=0)
    threads: int | None = Field(
        None, ge=1, le=64, description="OpenMP / intra-op threads; None: the registry default"
    )


class TrainedPredictor:
    """Serves the per-symbol models of the trained predictor ``name``: Ray Serve's
    multiplexing and batching around the cache policy of :class:`ModelCache`."""

    def __init__(self, name: str, settings: dict[str, Any] | None = None) -> None:
        app = AppSettings.parse(settings)
        entry = predictor_entry(name)
        if not entry.trained:
            raise ValueError(f"{name} is a {entry.kind} predictor, not a trained one")
        self.model_name = name
        self._threads = entry.threads
        predictor_class(name).set_threads(entry.threads)  # replicas share few cores
        compile_feature_kernels()  # while starting, not in the first request's deadline
        self._config = TrainedUserConfig()
        events = CacheEvents(
            metrics.record_model_load, metrics.record_cache_hit, metrics.record_model_age
        )
        self.cache = ModelCache(
            name,
            ModelRegistry(app.registry) if app.registry else None,
            app.lifecycle(),
            app.inference_precision,
            self._config.version_check_s,
            events,
        )

        async def load_symbol(symbol: str) -> trained_models.SymbolModel:
            return self.cache.load(symbol)

        self.get_model = serve.multiplexed(max_num_models_per_replica=app.max_models_per_replica)(
            load_symbol
        )

    def reconfigure(self, user_config: dict[str, Any] | None) -> None:
        cfg = parse_section(TrainedUserConfig, user_config, f"{self.model_name} user_config")
        if cfg.threads is not None and cfg.threads != self._threads:
            predictor_class(self.model_name).set_threads(cfg.threads)
            self._threads = cfg.threads
        if cfg.registry is not None:
            self.cache.set_registry(ModelRegistry(cfg.registry))
        self.cache.version_check_s = cfg.version_check_s
        # Ray's types for @serve.batch know neither these setters nor a method batching two
        # arguments (symbols and windows): the ignores here and on predict are for that.
        self.predict.set_max_batch_size(cfg.max_batch_size)  # type: ignore[attr-defined,misc]
        self.predict.set_batch_wait_timeout_s(  # type: ignore[attr-defined,misc]
            cfg.batch_wait_timeout_s
        )
        self._config = cfg

    @serve.batch(  # type: ignore[arg-type]  # two batched arguments (see reconfigure)
        max_batch_size=32, batch_wait_timeout_s=0.0, max_concurrent_batches=2
    )
    async def predict(  # type: ignore[misc]
        self, symbols: list[str], windows: list[Sequence[pl.DataFrame]]
    ) -> list[list[Reply]]:
        """Replies per call; calls of one symbol share a single forward pass."""
        return await self.cache.predict(symbols, windows, self.get_model)

    async def reload(self) -> dict[str, str | None]:
        """Re-read ``LATEST`` of every cached symbol now; returns symbol -> loaded version."""
        return self.cache.reload()

    def loaded(self) -> dict[str, str | None]:
        """Symbol -> version loaded on this replica."""
        return self.cache.loaded()

    async def describe(self) -> dict[str, Any]:
        """Registry versions of this predictor per symbol, and what this replica has loaded."""
        return self.cache.describe()

    async def ping(self) -> dict[str, Any]:
        return {"model": self.model_name, "loaded": len(self.cache.holders)}


TrainedDeployment = serve.deployment(ray_actor_options={"num_cpus": 0.2}, max_ongoing_requests=64)(
    TrainedPredictor
)
"""Serve deployment of :class:`TrainedPredictor`; ``deployments.app`` names one per entry."""
