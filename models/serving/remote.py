"""Calling other deployments: a shared deadline for a fan-out, and readable failures.

A handle call that fails surfaces as Ray's wrapper exception (its text is a remote
traceback); :func:`unwrap` gives back the original exception so callers can map our
error types to HTTP statuses and never show a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Hashable, Mapping
from typing import Any, TypeVar

from models.serving.replies import TIMEOUT, Reply, reply_for

K = TypeVar("K", bound=Hashable)


def unwrap(exc: BaseException) -> BaseException:
    """The exception raised inside the deployment when ``exc`` wraps one, else ``exc``."""
    seen = 0
    while seen < 5:
        cause = getattr(exc, "cause", None)
        if not isinstance(cause, BaseException) or cause is exc:
            return exc
        exc, seen = cause, seen + 1
    return exc


async def _wait(response: Awaitable[Any]) -> Any:
    return await response


def _note_duration(durations: dict[K, float], key: K, started: float, _: object) -> None:
    durations[key] = (time.perf_counter() - started) * 1e3


async def gather_with_deadline(
    calls: Mapping[K, Awaitable[Any]], deadline_s: float, durations: dict[K, float] | None = None
) -> dict[K, Any | Reply]:
    """Await every handle call concurrently for at most ``deadline_s`` seconds.

    Returns each call's result, or a :class:`Reply` standing for its failure: ``timeout``
    for a call still running at the deadline (it is cancelled), ``error: ...`` for one
    that raised. Never raises itself, so one slow or broken deployment degrades the
    answer instead of failing it. ``durations`` (if given) receives each finished call's
    time in milliseconds.
    """
    started = time.perf_counter()
    tasks = {key: asyncio.ensure_future(_wait(resp)) for key, resp in calls.items()}
    if not tasks:
        return {}
    if durations is not None:
        for key, task in tasks.items():
            task.add_done_callback(functools.partial(_note_duration, durations, key, started))
    _, pending = await asyncio.wait(tasks.values(), timeout=deadline_s)
    out: dict[K, Any | Reply] = {}
    for key, task in tasks.items():
        if task in pending:
            task.cancel()
            cancel = getattr(calls[key], "cancel", None)
            if cancel is not None:
                cancel()
            out[key] = Reply(TIMEOUT, detail=f"no answer within {deadline_s:g} s")
        elif (error := task.exception()) is not None:
            out[key] = reply_for(unwrap(error))
        else:
            out[key] = task.result()
    return out
