"""The gradient-boosted tree model (LightGBM) from the registry as the ``lgbm`` predictor.

A window becomes tabular features (:mod:`models.features.tree_features`); the last row goes
through the booster, which gives (down, flat, up). ``confidence = p_top - p_second``, as the
networks. ``min_bars`` is the artifact's ``window_bars`` (30 days: every feature defined,
and the recursive / SMC state settled). Prediction uses one OpenMP thread unless
``num_threads`` says otherwise (a Serve replica should not take every core).

The leader's (BTCUSDT) candles come from the window's ``leader_*`` columns
(:func:`~models.features.tree_features.attach_leader`) or, when absent, from
``leader_candles`` given at construction (evaluation: the leader's history file), cut to the
window's time span; the leader's own model uses the window itself. Without either, a model
trained with leader features refuses the window (``DataValidationError`` on
``leader_close``) rather than predicting from NaN leader features it never saw in training.

``predict_frame`` with ``window_bars=None`` computes the features once over the frame:
prefix-causal, so row ``t`` equals ``predict(frame[: t + 1])`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.errors import ConfigError, CorruptModelError, DataValidationError
from models.features.tree_features import (
    LEADER_COLUMNS,
    TREE_FEATURES,
    leader_candles,
    tree_features,
)
from models.predictors.base import CLASSES, Prediction, Predictor, register_predictor
from models.registry import ModelArtifact, ModelRegistry
from models.training.lgbm import SYMBOL_FEATURE, booster_from_state

_REQUIRED = ("model", "feature_names", "horizon", "window_bars", "symbols", "symbol_feature")


@register_predictor("lgbm")
class LgbmPredictor(Predictor):
    """A published ``lgbm`` booster as a :class:`Predictor` for one symbol."""

    def __init__(
        self,
        artifact: ModelArtifact,
        *,
        leader_candles: pl.DataFrame | None = None,
        num_threads: int = 1,
    ) -> None:
        config = artifact.config
        missing = [k for k in _REQUIRED if k not in config]
        if missing:
            raise CorruptModelError(f"config.json of {artifact.version}: missing {missing}")
        if artifact.model_name != "lgbm":
            raise ConfigError(f"model: artifact is {artifact.model_name!r}, not 'lgbm'")
        self.symbol_feature = bool(config["symbol_feature"])
        names = tuple(config["feature_names"])
        expected = TREE_FEATURES + ((SYMBOL_FEATURE,) if self.symbol_feature else ())
        if names != expected:
            raise ConfigError("feature_names: model was trained on a different feature set")
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ConfigError(f"num_threads: must be an integer >= 1, got {num_threads!r}")
        self.booster = booster_from_state(artifact.state_dict, f"weights.pt of {artifact.version}")
        self.symbol = artifact.symbol
        self.version = artifact.version
        self.variant = str(config.get("variant", "per_symbol"))
        self.horizon = int(config["horizon"])
        self.window_bars = int(config["window_bars"])
        self.leader = str(config.get("leader", "BTCUSDT"))
        self.symbol_index = list(config["symbols"]).index(self.symbol)
        self.leader_history = leader_candles
        self.num_threads = num_threads

    @classmethod
    def from_artifact(
        cls, artifact: ModelArtifact, leader_candles: pl.DataFrame | None = None, **kwargs: Any
    ) -> LgbmPredictor:
        return cls(artifact, leader_candles=leader_candles, **kwargs)

    @classmethod
    def from_registry(
        cls,
        registry: ModelRegistry | str | Path,
        symbol: str,
        version: str = "latest",
        **kwargs: Any,
    ) -> LgbmPredictor:
        """Load ``version`` of ``symbol``'s lgbm model (``latest``: the default variant)."""
        reg = registry if isinstance(registry, ModelRegistry) else ModelRegistry(registry)
        return cls(reg.load(symbol, "lgbm", version), **kwargs)

    @property
    def min_bars(self) -> int:
        return self.window_bars

    def _leader_for(self, window: pl.DataFrame) -> pl.DataFrame:
        if self.symbol == self.leader:
            return window
        carried = leader_candles(window)
        if carried is not None:
            return carried
        if self.leader_history is None:
            raise DataValidationError(
                f"{self.leader} candles needed: add leader_* columns or give leader_candles",
                column=LEADER_COLUMNS[3],
            )
        first, last = window["timestamp"][0], window["timestamp"][-1]
        span = pl.col("timestamp").is_between(first, last)
        return self.leader_history.filter(span)

    def features(self, window: pl.DataFrame) -> np.ndarray:
        """(rows, features) model inputs of every row of ``window`` (float64, NaN allowed)."""
        feats = tree_features(window, self._leader_for(window)).select(TREE_FEATURES)
        values = feats.to_numpy().astype(np.float64)
        if self.symbol_feature:
            values = np.column_stack([values, np.full(len(values), float(self.symbol_index))])
        return values

    def _check_inputs(self, X: np.ndarray) -> None:
        bad = np.isinf(X).any(axis=0)
        if bad.any():
            name = (*TREE_FEATURES, SYMBOL_FEATURE)[int(np.argmax(bad))]
            raise DataValidationError("infinite in the model input", column=name)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities for feature rows ``X``."""
        self._check_inputs(X)
        probs = self.booster.predict(X, num_threads=self.num_threads)
        return np.asarray(probs, dtype=np.float64).reshape(len(X), len(CLASSES))

    def predict(self, window: pl.DataFrame) -> Prediction:
        return self.predict_batch([window])[0]

    def predict_batch(self, windows: Sequence[pl.DataFrame]) -> list[Prediction]:
        if len(windows) == 0:
            return []
        for window in windows:
            self.check_window(window)
        X = np.stack([self.features(w)[-1] for w in windows])
        return [self._prediction(p) for p in self.predict_proba(X)]

    def predict_frame(
        self, frame: pl.DataFrame, rows: Sequence[int], window_bars: int | None = None
    ) -> list[Prediction]:
        """One feature pass over the frame when every row sees its whole history."""
        if window_bars is not None:
            return super().predict_frame(frame, rows, window_bars)
        picked = list(self._replay_rows(rows, frame.height))
        if not picked:
            return []
        X = self.features(frame.head(max(picked) + 1))[picked]
        return [self._prediction(p) for p in self.predict_proba(X)]

    def _prediction(self, probs: np.ndarray) -> Prediction:
        probs = probs / probs.sum()
        top, second = np.sort(probs)[::-1][:2]
        return Prediction(
            model="lgbm",
            probabilities=(float(probs[0]), float(probs[1]), float(probs[2])),
            confidence=float(np.clip(top - second, 0.0, 1.0)),
            horizon_bars=self.horizon,
            version=self.version,
            details={
                "symbol": self.symbol,
                "top_class": CLASSES[int(np.argmax(probs))],
                "variant": self.variant,
            },
        )
