"""The serving pipeline in one process, without Ray: the baseline of the serving benchmark
and the reference the integration tests compare the Serve answers with.

Same functions as the deployments (:mod:`models.serving.pipeline`, :mod:`models.serving.replies`,
:mod:`models.serving.trained_models`), same batching: one ``predict_batch`` per rule predictor
per batch of requests, one forward pass per (trained predictor, symbol).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import polars as pl

from models.ensemble import Ensemble
from models.ensemble.published import load_fits
from models.labels import LabelConfig
from models.predictors.base import create_predictor
from models.predictors.registry import PREDICTORS
from models.regime.detector import RegimeDetector
from models.registry import ModelRegistry
from models.serving import trained_models
from models.serving.fanout import REGIME, FanOutPlan, FanOutResult, PlannedCall, Send, fan_out
from models.serving.pipeline import (
    Answer,
    assemble,
    leader_cut,
    new_prediction_id,
    prepare_window,
)
from models.serving.replies import Reply, batch_or_each, each_window


class InProcessEnsemble:
    """Predict batches of ``(symbol, candles)`` requests in this process.

    ``stored``: candles per symbol standing in for the state's (a predictor that needs a
    leader's candles gets them from here, cut as the ensemble deployment reads them);
    ``predictors``: the served predictors to run (None: every one, as the app's default).
    The fan-out is the ensemble deployment's (:func:`models.serving.fanout.fan_out`), its
    calls answered by the predictors here, one after another, with no deadline."""

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
        self.plan = FanOutPlan(served)
        self.stored = dict(stored or {})
        self.rules = {e.name: create_predictor(e.name) for e in served if not e.trained}
        self.trained = tuple(e.name for e in served if e.trained)
        self.detector = RegimeDetector()
        self.registry = ModelRegistry(registry) if registry else None
        self.ensemble = ensemble or Ensemble()
        if ensemble is None:  # as the state deployment: symbols start from their published fit
            self.ensemble.seed(load_fits(registry))
        self.label_cfg = LabelConfig()
        self.window_bars = window_bars
        self.precision = precision
        self._models: dict[tuple[str, str], trained_models.SymbolModel] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_call_ms: dict[str, float] = {}
        """Milliseconds of each call of the last batch (``call:<member>[:<symbol>]``)."""

    def _run(self, batch: Coroutine[Any, Any, FanOutResult]) -> FanOutResult:
        """Run one fan-out on this pipeline's own event loop (made on first use)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(batch)

    def _model(self, name: str, symbol: str) -> trained_models.SymbolModel:
        key = (name, symbol)
        if key not in self._models:
            self._models[key] = trained_models.load(self.registry, symbol, name, self.precision)
        return self._models[key]

    def sender(self, call: PlannedCall) -> Send:
        """The fan-out's call of one member, run here (its own time noted in
        :attr:`last_call_ms`: the calls run one after another)."""
        name = f"call:{call.member}:{call.symbol}" if call.symbol else f"call:{call.member}"
        if call.member == REGIME:
            return self._now(name, lambda ws: each_window(self.detector.current, ws))
        if call.member in self.rules:
            p = self.rules[call.member]
            return self._now(name, lambda ws: batch_or_each(p.predict_batch, p.predict, ws, None))
        model = self._model(call.member, call.symbol)
        return self._now(name, lambda ws: trained_models.predict(model, ws))

    def _now(self, name: str, fn: Callable[[list[pl.DataFrame]], list[Reply]]) -> Send:
        """A call answered at once, in this thread, its duration noted under ``name``."""

        async def send(windows: list[pl.DataFrame]) -> list[Reply]:
            started = time.perf_counter()
            try:
                return fn(windows)
            finally:
                self.last_call_ms[name] = (time.perf_counter() - started) * 1000

        return send

    async def leader_candles(self, leader: str, until_us: int, limit: int) -> pl.DataFrame | None:
        stored = self.stored.get(leader)
        return None if stored is None else leader_cut(stored, until_us, limit)

    def predict_many(self, requests: Sequence[tuple[str, pl.DataFrame]]) -> list[Answer]:
        """Answers for a batch of requests (nothing is stored)."""
        symbols = [symbol for symbol, _ in requests]
        longest = max([self.window_bars, *(e.window_bars or 0 for e in self.served)])
        history = [prepare_window(frame, longest) for _, frame in requests]
        windows = [w.tail(self.window_bars) for w in history]
        self.last_call_ms = {}
        fanned = self._run(
            fan_out(self.plan, self, symbols, windows, history, None, budget=_NO_SPLIT)
        )
        replies = fanned.replies
        regimes = replies.pop(REGIME)
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


_NO_SPLIT = 1 << 62
"""In one process no message limit applies: a call is never split."""
