"""The serving pipeline in one process, without Ray: the baseline of the serving benchmark
and the reference the integration tests compare the Serve answers with.

Same functions as the deployments (:mod:`models.serving.pipeline`, :mod:`models.serving.replies`,
:mod:`models.serving.trained_models`), same batching: one ``predict_batch`` per rule predictor
per batch of requests, one forward pass per (trained predictor, symbol).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from models.ensemble import Ensemble
from models.predictors.base import create_predictor
from models.predictors.registry import PREDICTORS
from models.regime.detector import RegimeDetector
from models.registry import ModelRegistry
from models.serving import trained_models
from models.serving.pipeline import (
    Answer,
    assemble,
    leader_cut,
    leader_request,
    member_windows,
    new_prediction_id,
    prepare_window,
    with_leader,
)
from models.serving.replies import Reply, batch_or_each, each_window
from models.training.labels import LabelConfig


class InProcessEnsemble:
    """Predict batches of ``(symbol, candles)`` requests in this process.

    ``stored``: candles per symbol standing in for the state's (a predictor that needs a
    leader's candles gets them from here, cut as the ensemble deployment reads them);
    ``predictors``: the served predictors to run (None: every one, as the app's default)."""

    def __init__(
        self,
        registry: str | None,
        ensemble: Ensemble | None = None,
        window_bars: int = 512,
        precision: str = "auto",
        stored: Mapping[str, pl.DataFrame] | None = None,
        predictors: Sequence[str] | None = None,
    ) -> None:
        served = [
            e for e in PREDICTORS if e.served and (predictors is None or e.name in predictors)
        ]
        self.served = tuple(served)
        self.stored = dict(stored or {})
        self.rules = {e.name: create_predictor(e.name) for e in served if not e.trained}
        self.trained = tuple(e.name for e in served if e.trained)
        self.detector = RegimeDetector()
        self.registry = ModelRegistry(registry) if registry else None
        self.ensemble = ensemble or Ensemble()
        self.label_cfg = LabelConfig()
        self.window_bars = window_bars
        self.precision = precision
        self._models: dict[tuple[str, str], trained_models.SymbolModel] = {}

    def _model(self, name: str, symbol: str) -> trained_models.SymbolModel:
        key = (name, symbol)
        if key not in self._models:
            self._models[key] = trained_models.load(self.registry, symbol, name, self.precision)
        return self._models[key]

    def _trained(
        self, name: str, symbols: Sequence[str], windows: list[pl.DataFrame]
    ) -> list[Reply]:
        by_row: dict[int, Reply] = {}
        groups: dict[str, list[int]] = {}
        for i, symbol in enumerate(symbols):
            groups.setdefault(symbol, []).append(i)
        for symbol, rows in groups.items():
            replies = trained_models.predict(self._model(name, symbol), [windows[i] for i in rows])
            for i, reply in zip(rows, replies, strict=True):
                by_row[i] = reply
        return [by_row[i] for i in range(len(windows))]

    def _with_leader(
        self, leader: str, symbols: Sequence[str], windows: list[pl.DataFrame]
    ) -> list[pl.DataFrame]:
        span = leader_request(symbols, windows, leader)
        if span is None or leader not in self.stored:
            return windows
        candles = leader_cut(self.stored[leader], *span)
        return [
            w if s == leader else with_leader(w, candles)
            for s, w in zip(symbols, windows, strict=True)
        ]

    def predict_many(self, requests: Sequence[tuple[str, pl.DataFrame]]) -> list[Answer]:
        """Answers for a batch of requests (nothing is stored)."""
        symbols = [symbol for symbol, _ in requests]
        longest = max([self.window_bars, *(e.window_bars or 0 for e in self.served)])
        history = [prepare_window(frame, longest) for _, frame in requests]
        windows = [w.tail(self.window_bars) for w in history]
        replies: dict[str, list[Reply]] = {}
        for entry in self.served:
            mine = member_windows(entry.window_bars, self.window_bars, windows, history)
            if entry.leader is not None:
                mine = self._with_leader(entry.leader, symbols, mine)
            if entry.trained:
                replies[entry.name] = self._trained(entry.name, symbols, mine)
            else:
                p = self.rules[entry.name]
                replies[entry.name] = batch_or_each(p.predict_batch, p.predict, mine, None)
        regimes = each_window(self.detector.current, windows)
        return [
            assemble(
                self.ensemble,
                symbol,
                window,
                {name: rs[i] for name, rs in replies.items()},
                regimes[i],
                self.label_cfg,
                new_prediction_id(),
            )
            for i, (symbol, window) in enumerate(zip(symbols, windows, strict=True))
        ]
