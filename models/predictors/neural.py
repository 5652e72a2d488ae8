"""Predictor around a trained network loaded from the model registry.

A window becomes model features (:mod:`models.features.model_features`), scaled with the
statistics saved at training time; the last ``seq_len`` rows go through the network and the
softmax gives (down, flat, up). ``confidence = p_top - p_second``: 0 when the two most
likely classes tie, 1 when one class takes everything, so it measures how decisive the
choice of direction is rather than how large the top probability is.
``min_bars = seq_len + MAX_LOOKBACK`` (every feature of every input row defined).

``precision`` trades exactness for speed at inference: ``float32`` is the model as trained
(evaluation uses it); ``auto`` (serving) runs in bf16 where that is fast: autocast on CUDA,
bf16 weights on CPUs with AMX for networks that run in bf16 (the Transformer). On real
windows bf16 moves probabilities by about 1e-3 (``tests/predictors/test_neural.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from models.errors import ConfigError, CorruptModelError, DataValidationError
from models.features.model_features import FEATURE_COLUMNS, MAX_LOOKBACK, compute_model_features
from models.features.scaler import Scaler
from models.nets.device import autocast, resolve_device, use_bf16_weights
from models.predictors.base import Prediction, Predictor, predictor_class
from models.predictors.networks import build_model
from models.registry import ModelArtifact, ModelRegistry
from models.vocabulary import CLASSES

_REQUIRED = ("model", "hparams", "feature_names", "seq_len", "horizon", "scaler")


class NeuralPredictor(Predictor):
    """Any registry network as a :class:`Predictor`; subclasses fix the network name."""

    def __init__(
        self,
        artifact: ModelArtifact,
        *,
        device: str | torch.device = "auto",
        precision: str = "float32",
    ) -> None:
        config = artifact.config
        missing = [k for k in _REQUIRED if k not in config]
        if missing:
            raise CorruptModelError(f"config.json of {artifact.version}: missing {missing}")
        if self.name and artifact.model_name != self.name:
            raise ConfigError(f"model: artifact is {artifact.model_name!r}, not {self.name!r}")
        if tuple(config["feature_names"]) != FEATURE_COLUMNS:
            raise ConfigError("feature_names: model was trained on a different feature set")
        self.device = resolve_device(device)
        self.precision = precision
        self.model_name = artifact.model_name
        self.symbol = artifact.symbol
        self.version = artifact.version
        self.seq_len = int(config["seq_len"])
        self.horizon = int(config["horizon"])
        self.scaler = Scaler.from_dict(config["scaler"])
        self.network = build_model(config["model"], len(FEATURE_COLUMNS), **config["hparams"])
        try:
            self.network.load_state_dict(artifact.state_dict)
        except RuntimeError as exc:
            raise CorruptModelError(f"weights.pt of {artifact.version}: {exc}") from None
        self.network.to(self.device).eval()
        supports_bf16 = bool(getattr(self.network, "runs_in_bf16", False))
        self.input_dtype = torch.float32
        if use_bf16_weights(precision, self.device, supports_bf16):
            self.network.to(torch.bfloat16)
            self.input_dtype = torch.bfloat16
        self.use_amp = precision != "float32"  # bf16 autocast, which only CUDA uses

    @classmethod
    def set_threads(cls, threads: int) -> None:
        torch.set_num_threads(threads)  # intra-op threads only contend on a shared machine

    @classmethod
    def from_artifact(
        cls, artifact: ModelArtifact, device: str = "auto", precision: str = "float32"
    ) -> NeuralPredictor:
        return cls(artifact, device=device, precision=precision)

    @classmethod
    def from_registry(
        cls,
        registry: ModelRegistry | str | Path,
        symbol: str,
        model_name: str | None = None,
        version: str = "latest",
        device: str = "auto",
        precision: str = "float32",
    ) -> NeuralPredictor:
        """Load ``version`` of this class's network (or ``model_name``) for ``symbol``."""
        name = model_name or cls.name
        if not name:
            raise ConfigError("model_name: required for the generic NeuralPredictor")
        reg = registry if isinstance(registry, ModelRegistry) else ModelRegistry(registry)
        return cls(reg.load(symbol, name, version), device=device, precision=precision)

    @property
    def min_bars(self) -> int:
        return self.seq_len + MAX_LOOKBACK

    def inputs(self, window: pl.DataFrame) -> np.ndarray:
        """The scaled (seq_len, n_features) float32 input of the window's last bar."""
        self.check_window(window)
        feats = compute_model_features(window).select(FEATURE_COLUMNS).tail(self.seq_len)
        values = feats.to_numpy()
        bad = ~np.isfinite(values).all(axis=0)
        if bad.any():
            name = FEATURE_COLUMNS[int(np.argmax(bad))]
            raise DataValidationError("not finite in the input window", column=name)
        return self.scaler.transform(values)

    @torch.no_grad()
    def predict_proba(self, windows: Sequence[pl.DataFrame]) -> np.ndarray:
        """(n, 3) probabilities for ``windows`` from one forward pass."""
        batch = torch.as_tensor(np.stack([self.inputs(w) for w in windows]), device=self.device)
        batch = batch.to(self.input_dtype)
        with autocast(self.device, self.use_amp):
            logits = self.network(batch)
        return torch.softmax(logits.float(), dim=1).cpu().numpy().astype(np.float64)

    def predict(self, window: pl.DataFrame) -> Prediction:
        return self.predict_batch([window])[0]

    def predict_batch(self, windows: Sequence[pl.DataFrame]) -> list[Prediction]:
        if len(windows) == 0:
            return []
        return [self._prediction(p) for p in self.predict_proba(windows)]

    def _prediction(self, probs: np.ndarray) -> Prediction:
        probs = probs / probs.sum()
        top, second = np.sort(probs)[::-1][:2]
        details: dict[str, Any] = {
            "symbol": self.symbol,
            "top_class": CLASSES[int(np.argmax(probs))],
            "seq_len": self.seq_len,
        }
        return Prediction(
            model=self.model_name,
            probabilities=(float(probs[0]), float(probs[1]), float(probs[2])),
            confidence=float(np.clip(top - second, 0.0, 1.0)),
            horizon_bars=self.horizon,
            version=self.version,
            details=details,
        )


def neural_predictor_class(name: str) -> type[NeuralPredictor]:
    """The class registered under ``name``, which must be a network's (ConfigError if not):
    the registry-loading paths call ``from_artifact`` with a device and a precision."""
    cls = predictor_class(name)
    if not issubclass(cls, NeuralPredictor):
        raise ConfigError(f"{name!r} is not a neural predictor")
    return cls
