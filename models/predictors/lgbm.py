"""The gradient-boosted tree model (LightGBM) from the registry as the ``lgbm`` predictor.

A window becomes tabular features (:mod:`models.predictors.tree_features`); the last row goes
through the booster, which gives (down, flat, up). ``confidence = p_top - p_second``, as the
networks. ``min_bars`` is the artifact's ``window_bars`` (30 days: every feature defined,
and the recursive / SMC state settled). Prediction uses one OpenMP thread unless
``num_threads`` says otherwise (a Serve replica should not take every core).

The leader's (BTCUSDT) candles come from the window's ``leader_*`` columns
(:func:`~models.predictors.leader.attach_leader`) or, when absent, from
``leader_candles`` given at construction (evaluation: the leader's history file), cut to the
window's time span; the leader's own model uses the window itself. A window whose newest bar
has no leader bar beside it, or with fewer leader bars than the features' look-back, is
refused with :class:`~models.errors.InsufficientDataError` (served: ``insufficient_data``,
the member sleeps) rather than predicted from NaN leader features. ``predict_batch`` reads
the newest bar's features from a process-wide cache keyed by the window's content
(:mod:`models.features.feature_cache`): computed once per symbol and bar, the leader's part
once per bar for every symbol.

``predict_frame`` with ``window_bars=None`` computes the features once over the frame:
prefix-causal, so row ``t`` equals ``predict(frame[: t + 1])`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.data.validation import OHLCV_COLUMNS
from models.errors import ConfigError, CorruptModelError, DataValidationError, InsufficientDataError
from models.features.feature_cache import FeatureCache, FeatureKey, window_key
from models.features.indicators import INDICATOR_COLUMNS
from models.predictors.base import Prediction, Predictor, register_predictor
from models.predictors.booster import SYMBOL_FEATURE, booster_from_state
from models.predictors.leader import leader_candles
from models.predictors.tree_features import (
    FEATURE_LOOKBACK,
    TREE_FEATURES,
    leader_block,
    leader_feature_block,
    own_feature_block,
    tree_feature_block,
    tree_feature_row,
)
from models.registry import ModelArtifact, ModelRegistry
from models.vocabulary import CLASSES

NEWEST_ROWS: FeatureCache[np.ndarray] = FeatureCache()
"""The newest bar's features of every window this process predicted (the symbol's, with the
leader's beside them) and of every leader history it read, keyed by content: shared by all
the lgbm predictors of the process (every symbol's model, every request at that bar)."""

OWN_INPUTS: tuple[str, ...] = (*OHLCV_COLUMNS, *INDICATOR_COLUMNS)
"""Columns a symbol's own features read (indicator columns are reused when present)."""

_REQUIRED = ("model", "feature_names", "horizon", "window_bars", "symbols", "symbol_feature")


@register_predictor("lgbm")
class LgbmPredictor(Predictor):
    """A published ``lgbm`` booster as a :class:`Predictor` for one symbol."""

    default_threads = 1
    """OpenMP threads when none are given (:meth:`set_threads`)."""

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
        trained_on = list(config["symbols"])
        if self.symbol_feature and self.symbol not in trained_on:
            raise ConfigError(f"symbols: a pooled model of {trained_on} cannot serve {self.symbol}")
        # a per-symbol model reads no symbol column (another symbol may serve a copy of it)
        self.symbol_index = trained_on.index(self.symbol) if self.symbol in trained_on else 0
        self.leader_history = leader_candles
        self.num_threads = num_threads
        self.leader_lookback = int(config.get("feature_lookback", FEATURE_LOOKBACK))

    @classmethod
    def set_threads(cls, threads: int) -> None:
        """OpenMP threads of predictors built afterwards without ``num_threads`` (a Serve
        replica calls it once: replicas share few cores)."""
        cls.default_threads = threads

    @classmethod
    def from_artifact(
        cls,
        artifact: ModelArtifact,
        device: str = "cpu",
        precision: str = "float32",
        *,
        leader_candles: pl.DataFrame | None = None,
        **kwargs: Any,
    ) -> LgbmPredictor:
        """The trained predictors' loader. ``device`` and ``precision`` are accepted for the
        common contract and unused: the booster runs on CPU in float64."""
        del device, precision
        kwargs.setdefault("num_threads", cls.default_threads)
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
        """The leader's candles beside ``window`` (the window itself for the leader)."""
        if self.symbol == self.leader:
            return window
        leader = leader_candles(window)
        if leader is None and self.leader_history is not None:
            first, last = window["timestamp"][0], window["timestamp"][-1]
            leader = self.leader_history.filter(pl.col("timestamp").is_between(first, last))
        got = 0 if leader is None else leader.height
        last = window["timestamp"][-1]
        newest = leader is not None and got > 0 and leader["timestamp"][-1] == last
        if leader is None or got < self.leader_lookback or not newest:
            reason = (
                f"{self.leader} candles beside this window: {got} bars"
                f"{'' if newest else ', not the newest'}; the window's newest bar and at least "
                f"{self.leader_lookback} bars are needed (leader_* columns, or the stored "
                f"{self.leader} history when served)"
            )
            raise InsufficientDataError(self.leader_lookback, got, reason=reason)
        return leader

    def features(self, window: pl.DataFrame) -> np.ndarray:
        """(rows, features) model inputs of every row of ``window`` (float64, NaN allowed)."""
        leader = self._leader_for(window)
        values = tree_feature_block(window, leader).values
        return self._with_symbol(values)

    def newest_features(self, window: pl.DataFrame) -> np.ndarray:
        """The model input of ``window``'s newest bar: ``features(window)[-1]``, computed once
        per window content in this process (:data:`NEWEST_ROWS`), the leader's part once per
        leader history."""
        leader = self._leader_for(window)
        own_key = window_key("tree", self.symbol, window, OWN_INPUTS)
        if leader is window:
            row = NEWEST_ROWS.get_or_compute(own_key, lambda: self._leader_own_row(window))
        else:
            lead_key = window_key("leader", self.leader, leader, OWN_INPUTS)
            key = replace(own_key, leader=lead_key)
            row = NEWEST_ROWS.get_or_compute(key, lambda: _newest_row(window, leader, lead_key))
        newest: np.ndarray = self._with_symbol(row[None, :])[0]
        return newest

    @staticmethod
    def _leader_own_row(window: pl.DataFrame) -> np.ndarray:
        own = own_feature_block(window)
        return tree_feature_row(own.values[-1], leader_block(own).values[-1])

    def _with_symbol(self, values: np.ndarray) -> np.ndarray:
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
        X = np.stack([self.newest_features(w) for w in windows])
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


def _newest_row(window: pl.DataFrame, leader: pl.DataFrame, lead_key: FeatureKey) -> np.ndarray:
    """The newest bar's features of a symbol's window, the leader's part from the cache."""
    own = own_feature_block(window)
    lead = NEWEST_ROWS.get_or_compute(lead_key, lambda: leader_feature_block(leader).values[-1])
    return tree_feature_row(own.values[-1], lead)
