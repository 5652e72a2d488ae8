"""Per-symbol trained models (neural or tree) from the registry, as their deployments hold them.

A :class:`SymbolModel` is a mutable holder: the Serve multiplexer caches the holder, and a
newer published version is swapped into it in place (``refresh``), so picking up a new
version never needs Ray's LRU to be emptied. Used without Ray by the in-process baseline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from models.errors import ModelNotFoundError, SmartMarketError
from models.predictors.base import Predictor, load_trained
from models.registry import ModelRegistry
from models.registry.lifecycle import created_at
from models.serving.replies import NO_MODEL, Reply, batch_or_each

logger = logging.getLogger(__name__)


@dataclass
class SymbolModel:
    """The loaded version of one (symbol, model), or none (``predictor is None``)."""

    symbol: str
    model_name: str
    predictor: Predictor | None = None
    checked_at: float = 0.0
    precision: str = "auto"
    """Inference precision of every version loaded into this holder (``NeuralPredictor``)."""
    created: datetime | None = None
    """``created_at`` of the loaded version's manifest (its age decides expiry)."""

    @property
    def version(self) -> str | None:
        return None if self.predictor is None else self.predictor.version


def latest_version(registry: ModelRegistry | None, symbol: str, model_name: str) -> str | None:
    """The version ``LATEST`` points at, or None when the symbol has no such model."""
    if registry is None:
        return None
    try:
        return registry.latest(symbol, model_name)
    except ModelNotFoundError:
        return None


def refresh(holder: SymbolModel, registry: ModelRegistry | None, strict: bool = True) -> bool:
    """Load the registry's latest version into ``holder`` if it differs; True if swapped.

    A version that cannot be loaded (corrupt, half written) raises our error and leaves the
    loaded version in place; with ``strict=False`` (the periodic re-read while serving) it
    is logged instead, so a bad publish never takes a working model out of service.
    """
    holder.checked_at = time.monotonic()
    try:
        latest = latest_version(registry, holder.symbol, holder.model_name)
        if latest == holder.version:
            return False
        if latest is None or registry is None:  # no registry: no version (latest_version)
            holder.predictor, holder.created = None, None
            return True
        artifact = registry.load(holder.symbol, holder.model_name, latest)
        # a GPU when the replica has one; bf16 where it is fast (AMX CPUs, CUDA)
        predictor = load_trained(
            holder.model_name, artifact, device="auto", precision=holder.precision
        )
    except SmartMarketError as exc:
        if strict or holder.predictor is None:
            raise
        name = f"{holder.symbol} {holder.model_name}"
        logger.warning("%s: keeping version %s: %s", name, holder.version, exc)
        return False
    holder.predictor, holder.created = predictor, created_at(artifact.manifest)
    return True


def load(
    registry: ModelRegistry | None, symbol: str, model_name: str, precision: str = "auto"
) -> SymbolModel:
    """A holder with the latest version of ``model_name`` for ``symbol`` (or none)."""
    holder = SymbolModel(symbol, model_name, precision=precision)
    refresh(holder, registry)
    return holder


def predict(holder: SymbolModel, windows: Sequence[pl.DataFrame]) -> list[Reply]:
    """Replies for ``windows``: one forward pass, or ``no_model`` for every window."""
    model = holder.predictor
    if model is None:
        detail = f"no trained {holder.model_name} model for {holder.symbol}"
        return [Reply(NO_MODEL, detail=detail) for _ in windows]
    return batch_or_each(model.predict_batch, model.predict, windows, model.version)
