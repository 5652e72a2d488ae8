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

import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from deployments import metrics
from deployments.settings import AppSettings, parse_section
from models.errors import ModelNotFoundError, SmartMarketError
from models.predictors.base import predictor_class
from models.predictors.registry import predictor_entry
from models.registry import ModelRegistry
from models.registry.lifecycle import age_seconds, created_at
from models.serving import trained_models
from models.serving.replies import EXPIRED, NO_MODEL, Reply, reply_for


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
    """Serves the per-symbol models of the trained predictor ``name``."""

    def __init__(self, name: str, settings: dict[str, Any] | None = None) -> None:
        app = AppSettings.parse(settings)
        entry = predictor_entry(name)
        if not entry.trained:
            raise ValueError(f"{name} is a {entry.kind} predictor, not a trained one")
        self.model_name = name
        self._threads = entry.threads
        predictor_class(name).set_threads(entry.threads)  # replicas share few cores
        self._registry = ModelRegistry(app.registry) if app.registry else None
        self._precision = app.inference_precision
        self._holders: weakref.WeakValueDictionary[str, trained_models.SymbolModel] = (
            weakref.WeakValueDictionary()
        )
        self._absent: dict[str, float] = {}
        self._config = TrainedUserConfig()
        self._lifecycle = app.lifecycle()
        self._loads = 0

        async def load_symbol(symbol: str) -> trained_models.SymbolModel:
            return self._load(symbol)

        self.get_model = serve.multiplexed(max_num_models_per_replica=app.max_models_per_replica)(
            load_symbol
        )

    def reconfigure(self, user_config: dict[str, Any] | None) -> None:
        cfg = parse_section(TrainedUserConfig, user_config, f"{self.model_name} user_config")
        if cfg.threads is not None and cfg.threads != self._threads:
            predictor_class(self.model_name).set_threads(cfg.threads)
            self._threads = cfg.threads
        if cfg.registry is not None:
            self._registry = ModelRegistry(cfg.registry)
            self._absent.clear()
            for holder in list(self._holders.values()):
                holder.checked_at = 0.0  # re-read on next use
        # Ray's types for @serve.batch know neither these setters nor a method batching two
        # arguments (symbols and windows): the ignores here and on predict are for that.
        self.predict.set_max_batch_size(cfg.max_batch_size)  # type: ignore[attr-defined,misc]
        self.predict.set_batch_wait_timeout_s(  # type: ignore[attr-defined,misc]
            cfg.batch_wait_timeout_s
        )
        self._config = cfg

    def _load(self, symbol: str) -> trained_models.SymbolModel:
        holder = trained_models.load(self._registry, symbol, self.model_name, self._precision)
        if holder.predictor is None:
            raise ModelNotFoundError(f"no trained {self.model_name} model for {symbol}")
        self._holders[symbol] = holder
        self._loads += 1
        metrics.record_model_load(self.model_name)
        return holder

    async def _holder(self, symbol: str) -> trained_models.SymbolModel | None:
        """The cached holder of ``symbol`` (refreshed when due), None when it has no model."""
        now = time.monotonic()
        if symbol not in self._holders:  # ask the registry before the multiplexer, which
            # would log every symbol without a model as a failed load
            if now - self._absent.get(symbol, -1e18) < self._config.version_check_s:
                return None
            if trained_models.latest_version(self._registry, symbol, self.model_name) is None:
                self._absent[symbol] = now
                return None
        loads = self._loads
        try:
            holder: trained_models.SymbolModel = await self.get_model(symbol)
        except ModelNotFoundError:  # removed between the check and the load
            self._absent[symbol] = now
            return None
        if self._loads == loads:
            metrics.record_cache_hit(self.model_name)
        self._absent.pop(symbol, None)
        if now - holder.checked_at >= self._config.version_check_s:
            trained_models.refresh(holder, self._registry, strict=False)
        return holder

    @serve.batch(  # type: ignore[arg-type]  # two batched arguments (see reconfigure)
        max_batch_size=32, batch_wait_timeout_s=0.0, max_concurrent_batches=2
    )
    async def predict(  # type: ignore[misc]
        self, symbols: list[str], windows: list[Sequence[pl.DataFrame]]
    ) -> list[list[Reply]]:
        """Replies per call; calls of one symbol share a single forward pass."""
        groups: dict[str, list[int]] = {}
        for i, symbol in enumerate(symbols):
            groups.setdefault(symbol, []).append(i)
        out: list[list[Reply]] = [[] for _ in symbols]
        for symbol, calls in groups.items():
            flat = [w for i in calls for w in windows[i]]
            try:
                replies = self._replies(symbol, await self._holder(symbol), flat)
            except Exception as exc:  # a corrupt artifact fails this symbol only
                replies = [reply_for(exc) for _ in flat]
            for i in calls:
                out[i], replies = replies[: len(windows[i])], replies[len(windows[i]) :]
        return out

    def _replies(
        self,
        symbol: str,
        holder: trained_models.SymbolModel | None,
        windows: Sequence[pl.DataFrame],
    ) -> list[Reply]:
        """``no_model``, ``expired`` (older than ``expire_after``), or the model's replies."""
        if holder is None:
            return self._no_model(symbol, windows)
        now = datetime.now(timezone.utc)
        age = age_seconds(holder.created, now)
        if age is not None:
            metrics.record_model_age(symbol, self.model_name, age)
        if self._lifecycle.is_expired(holder.created, now):
            detail = (
                f"{self.model_name} {holder.version} for {symbol} is {age:.0f} s old; "
                f"expire_after is {self._lifecycle.expire_after}"
            )
            return [Reply(EXPIRED, version=holder.version, detail=detail) for _ in windows]
        return trained_models.predict(holder, windows)

    def _no_model(self, symbol: str, windows: Sequence[pl.DataFrame]) -> list[Reply]:
        detail = f"no trained {self.model_name} model for {symbol}"
        return [Reply(NO_MODEL, detail=detail) for _ in windows]

    async def reload(self) -> dict[str, str | None]:
        """Re-read ``LATEST`` of every cached symbol now; returns symbol -> loaded version."""
        self._absent.clear()
        for holder in list(self._holders.values()):
            trained_models.refresh(holder, self._registry)
        return self.loaded()

    def loaded(self) -> dict[str, str | None]:
        """Symbol -> version loaded on this replica."""
        return {s: h.version for s, h in sorted(self._holders.items())}

    async def describe(self) -> dict[str, Any]:
        """Registry versions of this predictor per symbol, and what this replica has loaded."""
        versions: dict[str, list[str]] = {}
        if self._registry is not None:
            for symbol, models in self._registry.list_models().items():
                if self.model_name in models:
                    versions[symbol] = models[self.model_name]
        latest = {
            s: trained_models.latest_version(self._registry, s, self.model_name) for s in versions
        }
        registry = None if self._registry is None else str(self._registry.root)
        loaded = self.loaded()
        out = {"registry": registry, "versions": versions, "latest": latest, "loaded": loaded}
        return {**out, **self._lifecycle_info(latest)}

    def _lifecycle_info(self, latest: dict[str, str | None]) -> dict[str, dict[str, Any]]:
        """Per symbol: LATEST's creation time, ``ok`` / ``expired``, the last retraining."""
        now = datetime.now(timezone.utc)
        info: dict[str, dict[str, Any]] = {"created_at": {}, "status": {}, "retraining": {}}
        for symbol, version in latest.items():
            if self._registry is None or version is None:
                continue
            try:
                created = created_at(self._registry.manifest(symbol, self.model_name, version))
                note = self._registry.retrain_note(symbol, self.model_name)
            except SmartMarketError as exc:  # a broken version must not break the listing
                info["status"][symbol] = f"error: {exc}"
                continue
            info["created_at"][symbol] = created.isoformat() if created else None
            info["status"][symbol] = self._lifecycle.status(created, now)
            info["retraining"][symbol] = note
        return info

    async def ping(self) -> dict[str, Any]:
        return {"model": self.model_name, "loaded": len(self._holders)}


TrainedDeployment = serve.deployment(ray_actor_options={"num_cpus": 0.2}, max_ongoing_requests=64)(
    TrainedPredictor
)
"""Serve deployment of :class:`TrainedPredictor`; ``deployments.app`` names one per entry."""
