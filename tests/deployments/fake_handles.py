"""A stand-in for Ray Serve's ``DeploymentHandle``, so the ensemble's and the ingress's logic
run in one event loop without a Ray cluster.

``handle.options(...)`` returns a handle on the same object with those options (recorded
with each of its calls, in the shared ``calls`` list); ``handle.method.remote(*args)``
returns an awaitable that runs ``method`` of the wrapped object (sync or async). What was
called, with which options and arguments, is kept in ``handle.calls``. :func:`fake_graph`
wires every deployment the ensemble and the ingress call: the real rule predictors, regime
detector and state (SQLite in a temporary directory) in this process, and
:class:`FakeTrained` stand-ins for the trained predictors.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from deployments.rules import RegimeDeployment, RulePredictor
from deployments.settings import AppSettings
from deployments.state import StateDeployment
from models.predictors.base import Prediction
from models.predictors.registry import PREDICTORS
from models.serving.replies import OK, Reply


@dataclass
class Call:
    """One ``.remote`` call: method, the options set just before it, its arguments."""

    method: str
    options: dict[str, Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    response: FakeResponse


class FakeResponse:
    """Awaitable result of a fake handle call (like ``DeploymentResponse``)."""

    def __init__(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.cancelled = False

    async def _run(self) -> Any:
        result = self._fn(*self._args, **self._kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def __await__(self) -> Any:
        return self._run().__await__()

    def cancel(self) -> None:
        self.cancelled = True


class _Method:
    def __init__(self, handle: FakeHandle, name: str) -> None:
        self._handle, self._name = handle, name

    def remote(self, *args: Any, **kwargs: Any) -> FakeResponse:
        handle = self._handle
        options = dict(handle.pending_options)
        response = FakeResponse(getattr(handle.target, self._name), args, kwargs)
        handle.calls.append(Call(self._name, options, args, kwargs, response))
        if handle.journal is not None:
            handle.journal.append(handle.label)
        return response


@dataclass
class FakeHandle:
    """A handle on ``target`` (any object whose methods the deployment would have)."""

    target: Any
    journal: list[str] | None = None
    """Shared by several handles: their labels in the order their calls went out."""
    label: str = ""
    calls: list[Call] = field(default_factory=list)
    pending_options: dict[str, Any] = field(default_factory=dict)

    def options(self, **kwargs: Any) -> FakeHandle:
        """A handle with these options added (sharing the target and the call record)."""
        return replace(self, pending_options={**self.pending_options, **kwargs})

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self, name)

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


class Failing:
    """A deployment whose every method raises (a crashed replica)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        async def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("predictor crashed")

        return fail


class Slow:
    """A deployment that answers pings but never answers ``predict`` within a deadline."""

    async def predict(self, *args: Any) -> Any:
        await asyncio.sleep(60)

    async def ping(self) -> dict[str, Any]:
        return {"model": "slow"}


class FakeTrained:
    """A trained predictor's deployment with one fixed model for every symbol."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def predict(self, symbol: str, windows: list[pl.DataFrame]) -> list[Reply]:
        p = Prediction(self.name, (0.2, 0.3, 0.5), 0.2, version=f"v-{symbol}")
        return [Reply(OK, p, p.version) for _ in windows]

    async def ping(self) -> dict[str, Any]:
        return {"model": self.name}

    async def describe(self) -> dict[str, Any]:
        return {
            "registry": "/reg",
            "versions": {"BTCUSDT": ["v1", "v2"]},
            "latest": {"BTCUSDT": "v2"},
            "loaded": {"BTCUSDT": "v2"},
        }

    async def reload(self) -> dict[str, str]:
        return {"BTCUSDT": "v2"}


def fake_graph(tmp_path: Path, deadline_s: float = 5.0, **replace: Any) -> dict[str, Any]:
    """Settings and fake handles of every deployment the ensemble and ingress call."""
    settings = AppSettings.parse(
        state_db=str(tmp_path / f"state-{uuid.uuid4().hex[:8]}.db"),  # one writer per file
        deadline_s=deadline_s,
        allow_open_writes=True,
    ).model_dump(mode="json")
    journal: list[str] = []
    predictors = {}
    for entry in PREDICTORS:
        target = FakeTrained(entry.name) if entry.trained else RulePredictor(entry.name)
        predictors[entry.name] = FakeHandle(replace.get(entry.name, target), journal, entry.name)
    return {
        "settings": settings,
        "predictors": predictors,
        "regime": FakeHandle(RegimeDeployment.func_or_class(), journal, "regime"),
        "state": FakeHandle(StateDeployment.func_or_class(settings), journal, "state"),
        "journal": journal,
    }
