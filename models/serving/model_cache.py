"""The trained-model cache policy of a predictor replica, without Ray.

What a trained predictor's deployment decides per call, written once so it is tested
without a cluster: a symbol without a model is remembered for ``version_check_s`` (the
registry is asked before any load is tried, so a missing model never shows as a failed
load); a cached model re-reads ``LATEST`` at most every ``version_check_s`` (a bad new
version keeps the working one); a loaded version older than ``expire_after`` answers
``expired``; calls of one symbol share one forward pass. Which models stay loaded (the LRU)
is the caller's: the Serve deployment hands its ``@serve.multiplexed`` loader in.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import polars as pl

from models.errors import ModelNotFoundError, SmartMarketError
from models.registry import ModelRegistry
from models.registry.lifecycle import Lifecycle, age_seconds, created_at
from models.serving import trained_models
from models.serving.fanout import group_rows
from models.serving.replies import EXPIRED, NO_MODEL, Reply, reply_for


def _ignore(*_: Any) -> None:
    return None


@dataclass
class CacheEvents:
    """Hooks the deployment points at its metrics (nothing by default)."""

    loaded: Callable[[str], None] = _ignore
    """A model of this predictor was loaded (argument: the predictor's name)."""
    hit: Callable[[str], None] = _ignore
    """A call found its model already loaded."""
    age: Callable[[str, str, float], None] = _ignore
    """The age in seconds of the version that answered (symbol, predictor, age)."""


Loader = Callable[[str], Awaitable[trained_models.SymbolModel]]
"""Gives the holder of a symbol, loading it (with :meth:`ModelCache.load`) when needed."""


class ModelCache:
    """Per-symbol models of the trained predictor ``model_name`` as one replica holds them."""

    def __init__(
        self,
        model_name: str,
        registry: ModelRegistry | None,
        lifecycle: Lifecycle,
        precision: str = "auto",
        version_check_s: float = 10.0,
        events: CacheEvents | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model_name = model_name
        self.registry = registry
        self.lifecycle = lifecycle
        self.precision = precision
        self.version_check_s = version_check_s
        self.events = events or CacheEvents()
        self.clock = clock
        self.holders: weakref.WeakValueDictionary[str, trained_models.SymbolModel] = (
            weakref.WeakValueDictionary()
        )
        self._absent: dict[str, float] = {}
        self.loads = 0

    def set_registry(self, registry: ModelRegistry) -> None:
        """Serve from another registry: every cached model re-reads it on its next use."""
        self.registry = registry
        self._absent.clear()
        for holder in list(self.holders.values()):
            holder.checked_at = 0.0

    def load(self, symbol: str) -> trained_models.SymbolModel:
        """Load the latest version of ``symbol`` (what the caller's LRU calls on a miss)."""
        holder = trained_models.load(self.registry, symbol, self.model_name, self.precision)
        if holder.predictor is None:
            raise ModelNotFoundError(f"no trained {self.model_name} model for {symbol}")
        self.holders[symbol] = holder
        self.loads += 1
        self.events.loaded(self.model_name)
        return holder

    async def holder(self, symbol: str, get: Loader) -> trained_models.SymbolModel | None:
        """The cached holder of ``symbol`` (refreshed when due), None when it has no model."""
        now = self.clock()
        if symbol not in self.holders:  # ask the registry before the loader
            if now - self._absent.get(symbol, -1e18) < self.version_check_s:
                return None
            if trained_models.latest_version(self.registry, symbol, self.model_name) is None:
                self._absent[symbol] = now
                return None
        loads = self.loads
        try:
            holder = await get(symbol)
        except ModelNotFoundError:  # removed between the check and the load
            self._absent[symbol] = now
            return None
        if self.loads == loads:
            self.events.hit(self.model_name)
        self._absent.pop(symbol, None)
        if now - holder.checked_at >= self.version_check_s:
            trained_models.refresh(holder, self.registry, strict=False)
        return holder

    async def predict(
        self, symbols: Sequence[str], windows: Sequence[Sequence[pl.DataFrame]], get: Loader
    ) -> list[list[Reply]]:
        """Replies per call (``symbols[i]``, ``windows[i]``); calls of one symbol share a
        single forward pass, and a symbol that fails (a corrupt artifact) fails alone."""
        out: list[list[Reply]] = [[] for _ in symbols]
        for symbol, calls in group_rows(symbols).items():
            flat = [w for i in calls for w in windows[i]]
            try:
                replies = self.replies(symbol, await self.holder(symbol, get), flat)
            except Exception as exc:  # a corrupt artifact fails this symbol only
                replies = [reply_for(exc) for _ in flat]
            for i in calls:
                out[i], replies = replies[: len(windows[i])], replies[len(windows[i]) :]
        return out

    def replies(
        self,
        symbol: str,
        holder: trained_models.SymbolModel | None,
        windows: Sequence[pl.DataFrame],
    ) -> list[Reply]:
        """``no_model``, ``expired`` (older than ``expire_after``), or the model's replies."""
        if holder is None:
            detail = f"no trained {self.model_name} model for {symbol}"
            return [Reply(NO_MODEL, detail=detail) for _ in windows]
        now = datetime.now(timezone.utc)
        age = age_seconds(holder.created, now)
        if age is not None:
            self.events.age(symbol, self.model_name, age)
        if self.lifecycle.is_expired(holder.created, now):
            detail = (
                f"{self.model_name} {holder.version} for {symbol} is {age:.0f} s old; "
                f"expire_after is {self.lifecycle.expire_after}"
            )
            return [Reply(EXPIRED, version=holder.version, detail=detail) for _ in windows]
        return trained_models.predict(holder, windows)

    def reload(self) -> dict[str, str | None]:
        """Re-read ``LATEST`` of every cached symbol now; returns symbol -> loaded version."""
        self._absent.clear()
        for holder in list(self.holders.values()):
            trained_models.refresh(holder, self.registry)
        return self.loaded()

    def loaded(self) -> dict[str, str | None]:
        """Symbol -> version loaded."""
        return {s: h.version for s, h in sorted(self.holders.items())}

    def describe(self) -> dict[str, Any]:
        """Registry versions of this predictor per symbol, and what is loaded here."""
        versions: dict[str, list[str]] = {}
        if self.registry is not None:
            for symbol, models in self.registry.list_models().items():
                if self.model_name in models:
                    versions[symbol] = models[self.model_name]
        latest = {
            s: trained_models.latest_version(self.registry, s, self.model_name) for s in versions
        }
        registry = None if self.registry is None else str(self.registry.root)
        out = {
            "registry": registry,
            "versions": versions,
            "latest": latest,
            "loaded": self.loaded(),
        }
        return {**out, **self._lifecycle_info(latest)}

    def _lifecycle_info(self, latest: dict[str, str | None]) -> dict[str, dict[str, Any]]:
        """Per symbol: LATEST's creation time, ``ok`` / ``expired``, the last retraining."""
        now = datetime.now(timezone.utc)
        info: dict[str, dict[str, Any]] = {"created_at": {}, "status": {}, "retraining": {}}
        for symbol, version in latest.items():
            if self.registry is None or version is None:
                continue
            try:
                created = created_at(self.registry.manifest(symbol, self.model_name, version))
                note = self.registry.retrain_note(symbol, self.model_name)
            except SmartMarketError as exc:  # a broken version must not break the listing
                info["status"][symbol] = f"error: {exc}"
                continue
            info["created_at"][symbol] = created.isoformat() if created else None
            info["status"][symbol] = self.lifecycle.status(created, now)
            info["retraining"][symbol] = note
        return info
