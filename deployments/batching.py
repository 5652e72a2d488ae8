"""Backlog-driven batching: a batch starts as soon as a slot is free and takes everything
waiting (up to ``max_batch_size``).

``@serve.batch`` forms a batch a fixed time after its first request, whether or not the
replica could start it, so under load it produces many small batches that then queue,
and alone a request still waits the full timer. Here there is no timer: a lone request
starts at once, and when all ``max_concurrent`` slots are busy the backlog becomes the
next batch, so batches grow exactly as fast as the load outgrows the slots (and the
handle calls per request fall with them).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class AdaptiveBatcher(Generic[T, R]):
    """Runs ``fn`` on batches of submitted items; ``fn`` returns one result per item."""

    def __init__(
        self,
        fn: Callable[[list[T]], Awaitable[Sequence[R]]],
        max_batch_size: int = 16,
        max_concurrent: int = 4,
        linger_s: float = 0.0,
    ) -> None:
        self._fn = fn
        self.max_batch_size = max_batch_size
        self.max_concurrent = max_concurrent
        self.linger_s = linger_s
        """With a free slot and fewer than ``max_batch_size`` waiting, wait this long for
        more before starting (0: start at once; a backlog never waits)."""
        self._timer: asyncio.TimerHandle | None = None
        self._waiting: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()  # strong references while they run

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait for its result (or its batch's exception)."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._start_ready()
        return await future

    def _flush(self) -> None:
        self._timer = None
        self._start_ready(linger=False)

    def _start_ready(self, linger: bool = True) -> None:
        while self._waiting and self._running < self.max_concurrent:
            if linger and self.linger_s > 0 and len(self._waiting) < self.max_batch_size:
                if self._timer is None:
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_later(self.linger_s, self._flush)
                return
            batch = []
            while self._waiting and len(batch) < self.max_batch_size:
                item, future = self._waiting.popleft()
                if not future.cancelled():
                    batch.append((item, future))
            if batch:
                self._running += 1
                task = asyncio.ensure_future(self._run(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._fn([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} gave {len(results)} results")
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._running -= 1
            self._start_ready()
