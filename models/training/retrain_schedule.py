"""What is due for retraining, what finished, what to purge: the scheduler without Ray.

:class:`RetrainScheduler` is driven by ``tick()`` (a Serve replica calls it on a timer; tests
call it with a fake clock). Each tick collects finished retrainings, then submits one for
every (symbol, model) whose ``LATEST`` is older than ``retrain_after`` and is not already
running. ``submit`` is injected (a Ray task in serving, a fake in tests) and returns a
:class:`Pending`; it never blocks. Every attempt is written beside the versions as the
registry's retrain note (``running``, ``published`` or ``failed`` with the error), which is
what ``/v1/models`` shows. A failed retraining publishes nothing, so the version that served
keeps serving; it is tried again ``retry_after`` later. After a publish, versions beyond
``keep_versions`` are purged, never ``LATEST``, the version it replaced (replicas may still
hold it for one version check) or any version named by ``loaded``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from models.errors import ModelNotFoundError, SmartMarketError
from models.registry import ModelRegistry
from models.registry.lifecycle import Lifecycle, created_at, versions_to_purge

Key = tuple[str, str]
"""(symbol, model)."""


class Pending(Protocol):
    """A submitted retraining: ``done()`` never blocks; ``result()`` is the new version
    (or raises the retraining's error) once done."""

    def done(self) -> bool: ...

    def result(self) -> str: ...


@dataclass
class Running:
    pending: Pending
    started: datetime
    replaced: str | None


@dataclass(frozen=True)
class Finished:
    """One retraining that ended during a tick."""

    symbol: str
    model: str
    version: str | None
    error: str | None
    purged: tuple[str, ...] = ()


@dataclass
class RetrainScheduler:
    registry: ModelRegistry
    lifecycle: Lifecycle
    submit: Callable[[str, str], Pending]
    clock: Callable[[], datetime]
    models: tuple[str, ...] = ("transformer", "cnn_lstm")
    symbols: tuple[str, ...] | None = None
    retry_after: timedelta = timedelta(hours=1)
    running: dict[Key, Running] = field(default_factory=dict)
    failed_at: dict[Key, datetime] = field(default_factory=dict)

    def tick(self, loaded: Iterable[str | None] = ()) -> tuple[list[Key], list[Finished]]:
        """Collect finished retrainings (purging after a publish), then submit the due
        ones; returns (submitted, finished)."""
        finished = self._collect(set(loaded))
        submitted = []
        for key in self.due():
            self._submit(key)
            submitted.append(key)
        return submitted, finished

    def due(self) -> list[Key]:
        """(symbol, model) whose ``LATEST`` is older than ``retrain_after``, not running and
        not failed within ``retry_after``."""
        if self.lifecycle.retrain_after is None:
            return []
        now, out = self.clock(), []
        for symbol, models in sorted(self.registry.list_models().items()):
            if self.symbols is not None and symbol not in self.symbols:
                continue
            for model in self.models:
                key = (symbol, model)
                if model not in models or key in self.running:
                    continue
                failed = self.failed_at.get(key)
                if failed is not None and now - failed < self.retry_after:
                    continue
                if self.lifecycle.is_due(self._created(symbol, model), now):
                    out.append(key)
        return out

    def _created(self, symbol: str, model: str) -> datetime | None:
        try:
            version = self.registry.latest(symbol, model)
            return created_at(self.registry.manifest(symbol, model, version))
        except SmartMarketError:
            return None  # unknown age: due

    def _latest(self, symbol: str, model: str) -> str | None:
        try:
            return self.registry.latest(symbol, model)
        except ModelNotFoundError:
            return None

    def _submit(self, key: Key) -> None:
        now, replaced = self.clock(), self._latest(*key)
        note = {"status": "running", "started_at": now.isoformat(), "serving": replaced}
        try:
            pending = self.submit(*key)
        except Exception as exc:  # could not even be submitted: a failure like any other
            self._fail(key, now, replaced, f"{type(exc).__name__}: {exc}")
            return
        self.registry.write_retrain_note(*key, note)
        self.running[key] = Running(pending, now, replaced)

    def _collect(self, loaded: set[str | None]) -> list[Finished]:
        out = []
        for key, run in list(self.running.items()):
            if not run.pending.done():
                continue
            del self.running[key]
            try:
                version = run.pending.result()
            except Exception as exc:  # the retraining's own failure, reported not raised
                error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
                out.append(self._fail(key, run.started, run.replaced, error))
                continue
            purged = self._purge(key, {version, run.replaced, *loaded})
            self.failed_at.pop(key, None)
            note = {
                "status": "published",
                "version": version,
                "started_at": run.started.isoformat(),
                "finished_at": self.clock().isoformat(),
                "purged": purged,
            }
            self.registry.write_retrain_note(*key, note)
            out.append(Finished(*key, version, None, tuple(purged)))
        return out

    def _fail(self, key: Key, started: datetime, serving: str | None, error: str) -> Finished:
        now = self.clock()
        self.failed_at[key] = now
        note = {
            "status": "failed",
            "error": error,
            "serving": serving,
            "started_at": started.isoformat(),
            "finished_at": now.isoformat(),
            "retry_at": (now + self.retry_after).isoformat(),
        }
        self.registry.write_retrain_note(*key, note)
        return Finished(*key, None, error)

    def _purge(self, key: Key, protected: set[str | None]) -> list[str]:
        symbol, model = key
        protected.add(self._latest(symbol, model))
        versions = self.registry.versions(symbol, model)
        doomed = versions_to_purge(versions, self.lifecycle.keep_versions, protected)
        for version in doomed:
            self.registry.delete_version(symbol, model, version)
        return doomed

    def status(self) -> dict[str, Any]:
        """What is running now (for ``ping`` / logs; the notes carry the history)."""
        return {f"{s}/{m}": r.started.isoformat() for (s, m), r in self.running.items()}
