"""Calling other deployments: a shared deadline for a fan-out, and readable failures.

A handle call that fails surfaces as Ray's wrapper exception (its text is a remote
traceback); :func:`unwrap` gives back the original exception so callers can map our
error types to HTTP statuses and never show a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import polars as pl

from models.serving.replies import TIMEOUT, Reply, reply_for

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

REPLICA_MESSAGE_LIMIT = 4 * 1024 * 1024
"""Ray Serve's default for the largest request a replica accepts in its throughput-optimised
mode (``RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH``): 31 windows of 720 bars with their
indicator columns are 5.6 MB."""


def call_budget_for(limit: int) -> int:
    """Most bytes of candle frames one call may carry when a replica accepts ``limit``: a
    pickled frame is 2-3 % over its estimated size, the last tenth is left for that and for
    the other arguments. Not less: splitting a batch that would have fit costs throughput
    (-11 % at 32 clients when a 3 MiB budget split every member's 3.3 MB batches)."""
    return max(1, limit * 9 // 10)


MAX_CALL_BYTES = call_budget_for(REPLICA_MESSAGE_LIMIT)
"""The per-call budget under Ray Serve's default limit."""


def unwrap(exc: BaseException) -> BaseException:
    """The exception raised inside the deployment when ``exc`` wraps one, else ``exc``."""
    seen = 0
    while seen < 5:
        cause = getattr(exc, "cause", None)
        if not isinstance(cause, BaseException) or cause is exc:
            return exc
        exc, seen = cause, seen + 1
    return exc


def chunks_by_bytes(frames: Sequence[pl.DataFrame], budget: int = MAX_CALL_BYTES) -> list[range]:
    """Consecutive runs of ``frames`` whose estimated sizes add up to at most ``budget``
    (a frame larger than ``budget`` goes alone); one run when everything fits."""
    if budget < 1:
        raise ValueError("budget must be >= 1 byte")
    runs: list[range] = []
    start, size = 0, 0
    for i, frame in enumerate(frames):
        nbytes = int(frame.estimated_size())
        if i > start and size + nbytes > budget:
            runs.append(range(start, i))
            start, size = i, 0
        size += nbytes
    if len(frames) > start:
        runs.append(range(start, len(frames)))
    return runs


async def call_in_chunks(
    call: Callable[[list[pl.DataFrame]], Awaitable[Sequence[T]]],
    frames: Sequence[pl.DataFrame],
    budget: int = MAX_CALL_BYTES,
) -> list[T]:
    """``call`` on ``frames`` (it returns one result per frame) as one call, or as
    concurrent calls of at most ``budget`` bytes each when they would not fit in one
    message; the results in the frames' order. A failed part fails the whole; cancelled
    (at the fan-out's deadline), it cancels the calls it made."""
    runs = chunks_by_bytes(frames, budget) or [range(0)]
    responses = [call([frames[i] for i in run]) for run in runs]
    try:
        parts = await asyncio.gather(*(_wait(r) for r in responses))
    except asyncio.CancelledError:  # the deadline passed: stop the work, not just the wait
        for response in responses:
            cancel = getattr(response, "cancel", None)
            if cancel is not None:
                cancel()
        raise
    out: list[T] = []
    for run, part in zip(runs, parts, strict=True):
        if len(part) != len(run):
            raise ValueError(f"a call answered {len(part)} results for {len(run)} frames")
        out.extend(part)
    return out


async def _wait(response: Awaitable[Any]) -> Any:
    return await response


def _note_duration(durations: dict[K, float], key: K, started: float, _: object) -> None:
    durations[key] = (time.perf_counter() - started) * 1e3


async def gather_with_deadline(
    calls: Mapping[K, Awaitable[Any]],
    deadline_s: float | None,
    durations: dict[K, float] | None = None,
) -> dict[K, Any | Reply]:
    """Await every handle call concurrently for at most ``deadline_s`` seconds (None: until
    every call is done).

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


class FailureLog:
    """Logs the failed calls of a fan-out with their whole detail, at most once per
    ``every_s`` for each call, counting the failures held back.

    A member's failure reaches the client only as a short ``error: ...`` status; the
    operator needs the rest (a remote traceback, an RPC status code) without a log line
    per request when a member fails on every call. Keyed by call, not by status: a status
    carries details that vary from call to call (sizes, ids)."""

    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.every_s = every_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def note(self, results: Mapping[Any, Any]) -> None:
        """Log every failed :class:`Reply` among ``results`` (keys name the call)."""
        now = self.clock()
        for key, result in results.items():
            if not isinstance(result, Reply) or not result.failed:
                continue
            call = ":".join(str(k) for k in key if k) if isinstance(key, tuple) else str(key)
            last = self._last.get(call)
            if last is not None and now - last < self.every_s:
                self._held[call] = self._held.get(call, 0) + 1
                continue
            held = self._held.pop(call, 0)
            self._last[call] = now
            also = f" ({held} more since the last report)" if held else ""
            self.logger.warning("call %s failed%s: %s", call, also, result.detail or result.status)
