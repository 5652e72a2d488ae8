"""The retraining scheduler as a Serve deployment (one replica): a timer around
:class:`models.training.retrain_schedule.RetrainScheduler`.

Every ``check_s`` it ticks the scheduler in a worker thread (registry I/O never stalls the
replica's event loop); a due (symbol, model) becomes a Ray task running a Tune search
(:func:`models.training.retrain.run_retraining`, on the cluster when there is one), so
serving never waits for training. Every trained predictor is scheduled (the networks and
the tree model). When a version is published its deployment is asked to reload (the
replica that gets the call at once, the others within their ``version_check_s``). Idle
when ``retrain_after`` is not set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import ray
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from deployments import metrics
from deployments.handles import Handle
from deployments.settings import AppSettings, parse_section
from models.registry import ModelRegistry
from models.serving.remote import unwrap
from models.training.retrain import RetrainJob, run_retraining
from models.training.retrain_schedule import Finished, RetrainScheduler

logger = logging.getLogger("ray.serve")


class RetrainUserConfig(BaseModel):
    """Runtime knobs (the deployment's ``user_config``): how often to look, how big a search."""

    model_config = ConfigDict(extra="forbid")

    check_s: float = Field(60.0, gt=0, description="seconds between scheduler ticks")
    retry_after_s: float = Field(3600.0, ge=0, description="wait after a failed retraining")
    storage: str | None = Field(None, description="Tune storage (None: a temp directory)")
    num_samples: int = Field(1, ge=1, description="Tune trials per retraining")
    max_epochs: int = Field(2, ge=1)
    max_rows: int | None = Field(5_000, ge=1, description="newest candles trained on")
    cpus_per_trial: float = Field(1.0, gt=0)
    small: bool = Field(True, description="the small search space (quick, beside serving)")


class RayPending:
    """A retraining running as a Ray task."""

    def __init__(self, ref: ray.ObjectRef[str]) -> None:
        self.ref = ref

    def done(self) -> bool:
        ready, _ = ray.wait([self.ref], timeout=0)
        return bool(ready)

    def result(self) -> str:
        try:
            return ray.get(self.ref)
        except Exception as exc:  # a task error wraps the retraining's own
            raise unwrap(exc) from None


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=16)
class RetrainerDeployment:
    def __init__(self, trained: Mapping[str, Handle], settings: dict[str, Any] | None = None):
        """``trained``: name -> handle of every trained predictor (what retraining covers)."""
        self.app = AppSettings.parse(settings)
        self.trained = dict(trained)
        self.config = RetrainUserConfig()
        self.scheduler: RetrainScheduler | None = None
        if self.app.registry and self.app.retrain_after is not None:
            self.scheduler = RetrainScheduler(
                ModelRegistry(self.app.registry),
                self.app.lifecycle(),
                self._submit,
                lambda: datetime.now(timezone.utc),
                symbols=self.app.symbols,
                models=tuple(self.trained),
            )
        self._loop: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # the timer's tick and a called one never overlap
        with contextlib.suppress(RuntimeError):  # no running loop here: the first call starts it
            self._ensure_loop()

    def reconfigure(self, user_config: dict[str, Any] | None) -> None:
        self.config = parse_section(RetrainUserConfig, user_config, "retrainer user_config")
        if self.scheduler is not None:
            self.scheduler.retry_after = timedelta(seconds=self.config.retry_after_s)

    def _submit(self, symbol: str, model: str) -> RayPending:
        cfg = self.config
        storage = cfg.storage or str(Path(tempfile.gettempdir()) / "smartmarket-retrain")
        job = RetrainJob(
            symbol=symbol,
            model=model,
            registry=str(self.app.registry),
            storage=storage,
            state_db=None if self.app.retrain_data else self.app.state_db,
            data_dir=self.app.retrain_data,
            num_samples=cfg.num_samples,
            max_epochs=cfg.max_epochs,
            max_rows=cfg.max_rows,
            cpus_per_trial=cfg.cpus_per_trial,
            small=cfg.small,
        )
        task = ray.remote(run_retraining).options(num_cpus=0.1, max_retries=0)
        return RayPending(task.remote(job))

    def _ensure_loop(self) -> None:
        if self.scheduler is not None and (self._loop is None or self._loop.done()):
            self._loop = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.check_s)  # first look one period after start
            try:
                await self.tick()
            except Exception as exc:  # keep ticking: a registry hiccup must not stop retraining
                logger.warning("retraining scheduler tick failed: %s", exc)

    async def tick(self) -> dict[str, Any]:
        """One scheduler step now (the timer calls it too): submitted and finished jobs."""
        self._ensure_loop()
        if self.scheduler is None:
            return {"submitted": [], "finished": []}
        async with self._lock:
            loaded = [v for h in self.trained.values() for v in (await h.loaded.remote()).values()]
            submitted, finished = await asyncio.to_thread(self.scheduler.tick, loaded)
            for done in finished:
                await self._after(done)
        return {
            "submitted": [f"{s}/{m}" for s, m in submitted],
            "finished": [done.__dict__ for done in finished],
        }

    async def _after(self, done: Finished) -> None:
        metrics.record_retraining(done.model, "failed" if done.error else "published")
        if done.error:
            logger.warning("retraining %s/%s failed: %s", done.symbol, done.model, done.error)
            return
        logger.info("retrained %s/%s: %s", done.symbol, done.model, done.version)
        with contextlib.suppress(Exception):  # the others follow on their version check
            await self.trained[done.model].reload.remote()

    async def ping(self) -> dict[str, Any]:
        self._ensure_loop()
        running = self.scheduler.status() if self.scheduler is not None else {}
        return {"enabled": self.scheduler is not None, "running": running}
