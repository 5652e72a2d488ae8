"""The ensemble deployment: features once, a concurrent fan-out with a deadline, combine.

One batch of requests (:class:`~models.serving.batching.AdaptiveBatcher`: no timer, the
backlog is the batch) costs one call per rule predictor and the regime detector, plus one
call per (trained predictor, symbol) in the batch, and one state write: the handle-call count
per request falls as load rises. A predictor that fails or misses the deadline is
dropped and the answer is marked ``degraded``.

Learned weights and thresholds come from the state deployment (the one place outcomes are
recorded): each state write returns the learned-state version, and a newer version is
fetched in the background, so serving replicas follow within one batch. A request may also
carry the version its client has already seen (``min_version``: the ingress passes the
version returned by the candle append or outcome it handled last); a batch holding such a
request first fetches that state, so a signal made right after its bar's candles were
stored has learned every outcome those candles resolved (read-your-writes, as the
evaluation's replay does).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from deployments import metrics
from deployments.ensemble_config import load_ensemble_config
from deployments.handles import Handle
from deployments.settings import AppSettings, parse_section
from models.ensemble import Ensemble
from models.labels import LabelConfig
from models.predictors.registry import predictor_entry
from models.serving.batching import AdaptiveBatcher
from models.serving.fanout import REGIME, FanOutPlan, HandleCallers, fan_out
from models.serving.pipeline import Answer, assemble, new_prediction_id, prepare_window
from models.serving.remote import MAX_CALL_BYTES, FailureLog, call_budget_for
from models.serving.replies import Reply

logger = logging.getLogger("ray.serve")


class EnsembleUserConfig(BaseModel):
    """Runtime knobs (the deployment's ``user_config``)."""

    model_config = ConfigDict(extra="forbid")

    deadline_s: float | None = Field(None, gt=0, description="per-call predictor deadline")
    window_bars: int | None = Field(None, ge=64, description="bars sent to the predictors")
    max_batch_size: int = Field(32, ge=1, le=1024, description="most requests per batch")
    batch_wait_timeout_s: float = Field(
        0.0, ge=0, le=1, description="wait for a fuller batch while a slot is free (0: none)"
    )
    max_concurrent_batches: int = Field(1, ge=1, le=256, description="batches in flight")
    stall_s: float = Field(0.5, gt=0, description="a batch running longer than this frees its slot")
    max_stalled_batches: int = Field(
        8, ge=0, le=256, description="most stalled batches beside max_concurrent_batches"
    )


class _Clock:
    """Milliseconds spent per stage of a batch (reported as ``timings_ms``)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self._last) * 1000.0, 3)
        self._last = now


_Call = tuple[str, pl.DataFrame, bool, int]
"""One request to the ensemble: symbol, candle frame, store as pending, learned-state
version it must see (0: any)."""


def call_budget() -> int:
    """Bytes of frames per call to another replica, for the limit Ray Serve's replicas
    apply (``RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH`` when set, else its 4 MiB)."""
    limit = os.environ.get("RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH", "")
    return call_budget_for(int(limit)) if limit.strip().isdigit() else MAX_CALL_BYTES


def _record(answers: list[Answer | Exception], call_ms: dict[str, float]) -> None:
    """Metrics of one batch: call latencies and every answered signal."""
    metrics.record_call_latencies(call_ms)
    for answer in answers:
        if not isinstance(answer, Exception):
            metrics.record_answer(answer.body)


@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=128)
class EnsembleDeployment:
    def __init__(
        self,
        predictors: Mapping[str, Handle],
        regime: Handle,
        state: Handle,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """``predictors``: name -> handle of every served predictor (registry names)."""
        app = AppSettings.parse(settings)
        self.predictors = dict(predictors)
        entries = [predictor_entry(n) for n in self.predictors]
        self.plan = FanOutPlan(entries)
        self.needs_bars = max([0, *(e.window_bars or 0 for e in entries)])
        self.callers = HandleCallers(
            self.predictors, [e.name for e in entries if e.trained], regime, self._read_candles
        )
        self._failures = FailureLog(logger)
        self.call_bytes = call_budget()
        """Most bytes of frames in one predictor call: larger batches go in parts."""
        self.regime, self.state = regime, state
        self.ensemble = Ensemble(load_ensemble_config(app))
        self.label_cfg = LabelConfig()
        self.deadline_s, self.window_bars = app.deadline_s, app.window_bars
        self._learned_version: int | None = None
        self._refresh_task: asyncio.Task[None] | None = None
        # One batch in flight makes big batches (fewer handle calls per request); a batch
        # stalled on a slow predictor (held up to the deadline) frees its slot after
        # stall_s, or it would queue every later request behind it (latency grew to 4x the
        # deadline at 4 clients with one slot and no escape; tests/reliability/test_faults.py).
        defaults = EnsembleUserConfig()
        self.batcher: AdaptiveBatcher[_Call, dict[str, Any] | Exception] = AdaptiveBatcher(
            self._predict_batch,
            defaults.max_batch_size,
            defaults.max_concurrent_batches,
            stall_s=defaults.stall_s,
            max_stalled=defaults.max_stalled_batches,
        )

    def reconfigure(self, user_config: dict[str, Any] | None) -> None:
        cfg = parse_section(EnsembleUserConfig, user_config, "ensemble user_config")
        self.deadline_s = cfg.deadline_s or self.deadline_s
        self.window_bars = cfg.window_bars or self.window_bars
        self.batcher.max_batch_size = cfg.max_batch_size
        self.batcher.max_concurrent = cfg.max_concurrent_batches
        self.batcher.linger_s = cfg.batch_wait_timeout_s
        self.batcher.stall_s = cfg.stall_s
        self.batcher.max_stalled = cfg.max_stalled_batches

    async def predict(
        self, symbol: str, frame: pl.DataFrame, store: bool = True, min_version: int = 0
    ) -> dict[str, Any] | Exception:
        """The answer body for ``frame`` (or that request's error); batched with the
        requests waiting beside it (:class:`AdaptiveBatcher`). ``min_version``: the
        learned-state version the answer must be combined with (at least)."""
        return await self.batcher.submit((symbol, frame, store, min_version))

    async def _predict_batch(self, calls: list[_Call]) -> list[dict[str, Any] | Exception]:
        """Answer bodies (or the error of that one request), pending records stored."""
        symbols = [c[0] for c in calls]
        frames = [c[1] for c in calls]
        store = [c[2] for c in calls]
        needed = max(c[3] for c in calls)
        if self._learned_version is None or needed > self._learned_version:
            await self._refresh_learned()
        clock = _Clock()
        history = [prepare_window(f, max(self.window_bars, self.needs_bars)) for f in frames]
        windows = [w.tail(self.window_bars) for w in history]
        clock.lap("features")
        fanned = await fan_out(
            self.plan, self.callers, symbols, windows, history, self.deadline_s, self.call_bytes
        )
        self._failures.note(fanned.results)
        replies, call_ms = fanned.replies, fanned.call_ms
        clock.lap("predictors")
        answers = [
            self._answer(symbol, window, replies, i, "stored" if keep_it else "request")
            for i, (symbol, window, keep_it) in enumerate(zip(symbols, windows, store, strict=True))
        ]
        clock.lap("combine")
        keep = [
            a.stored
            for a, s in zip(answers, store, strict=True)
            if s and not isinstance(a, Exception)
        ]
        if keep:
            self._note_version(await self.state.add_predictions.remote(keep))
        clock.lap("store")
        timings = {**clock.laps, **call_ms, "batch_size": len(frames)}
        _record(answers, call_ms)
        return [
            a if isinstance(a, Exception) else {**a.body, "timings_ms": timings} for a in answers
        ]

    def _answer(
        self,
        symbol: str,
        window: pl.DataFrame,
        replies: dict[str, list[Reply]],
        i: int,
        source: str,
    ) -> Answer | Exception:
        """The answer for request ``i`` of a batch, or its error (the others still answer)."""
        mine = {name: rs[i] for name, rs in replies.items() if name != REGIME}
        regime = replies[REGIME][i]
        try:
            return assemble(
                self.ensemble,
                symbol,
                window,
                mine,
                regime,
                self.label_cfg,
                new_prediction_id(),
                source,
            )
        except Exception as exc:
            return exc

    async def _read_candles(self, leader: str, until: int, limit: int) -> pl.DataFrame | None:
        """The stored candles of ``leader`` covering the batch's windows of other symbols
        (None when there are none or the read fails: the predictor then says it lacks them)."""
        try:
            found = await self.state.candles.remote(leader, limit, until)
        except Exception as exc:  # keep serving: the predictor says what it lacks
            logger.warning("could not read %s candles: %s", leader, exc)
            return None
        return found if isinstance(found, pl.DataFrame) else None  # an error: none stored

    def _note_version(self, version: int) -> None:
        """Fetch the learned state in the background when the state has a newer one."""
        if version == self._learned_version:
            return
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = asyncio.ensure_future(self._refresh_learned())

    async def _refresh_learned(self) -> None:
        try:
            state, version = await self.state.tracker_state.remote()
        except Exception as exc:  # keep serving with the weights we have
            logger.warning("could not fetch learned ensemble state: %s", exc)
            return
        self.ensemble.load_state_dict(state)
        self._learned_version = version

    async def ping(self) -> Mapping[str, Any]:
        return {"learned_version": self._learned_version, "deadline_s": self.deadline_s}
