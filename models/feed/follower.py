"""One symbol's feed: resume from the stored state, backfill, follow closed bars.

The follower knows nothing of Ray: it talks to the exchange through a
:class:`~models.feed.client.KlinesClient`-like object and stores through a :class:`Sink`
(the serving app's state and ensemble, or a fake in tests). Each :meth:`SymbolFeed.cycle`
catches up page by page from the newest stored bar (``startTime`` = that bar + one
interval, so no duplicates and no holes) and answers how long to wait before the next.

Signals: a bar gets one when the feed is *live* for the symbol: a signal was stored before
(the feed resumes), or the first catch-up of this run reached the present (the history
it loaded before is not signalled). Bars older than ``signal_catchup_bars`` before the
exchange's clock are stored without one (after a long outage). Live bars are appended one
at a time and each is predicted right after its append, passing the learned-state version
the append returned, so every signal has learned exactly the outcomes known at its bar
(as when a client posts a bar and predicts). A bar stored whose signal was lost (the
replica died in between) is signalled when the feed resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from models.errors import DataValidationError, FeedError
from models.feed.backoff import Backoff
from models.feed.config import FeedSettings
from models.feed.klines import Bar, parse_page

logger = logging.getLogger(__name__)

STATES = ("starting", "backfilling", "following", "retrying")


class Sink(Protocol):
    """Where bars and signals go (the state and ensemble deployments in the app)."""

    async def cursor(self, symbol: str) -> tuple[int | None, int | None, int]:
        """(newest stored bar, newest stored signal) open times in ms, None when none, and
        the learned-state version."""

    async def append(self, symbol: str, bars: list[Bar]) -> int:
        """Store bars after the stored history; the learned-state version after it."""

    async def signal(self, symbol: str, as_of_ms: int, min_version: int) -> bool:
        """Compute and store the signal of the newest stored bar (``as_of_ms``); False
        when there is too little history to predict."""


@dataclass
class FeedStatus:
    """What ``GET /v1/feed`` shows for one symbol."""

    symbol: str
    state: str = "starting"
    last_bar_ms: int | None = None
    last_signal_ms: int | None = None
    last_error: str | None = None
    last_error_at_ms: int | None = None
    bars_stored: int = 0
    signals_stored: int = 0
    rows_rejected: int = 0
    retries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SymbolFeed:
    """The feed of one symbol; ``run`` loops ``cycle`` until stopped."""

    def __init__(
        self,
        symbol: str,
        settings: FeedSettings,
        client: Any,
        sink: Sink,
        *,
        backoff: Backoff | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.symbol, self.settings, self.client, self.sink = symbol, settings, client, sink
        self.step_ms = settings.interval_ms
        self.backoff = backoff or Backoff(
            settings.backoff_base_s,
            settings.backoff_max_s,
            max_retry_after_s=settings.retry_after_max_s,
        )
        self.wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        self.status = FeedStatus(symbol)
        self._resumed = False
        self._live = False

    async def run(self, stop: asyncio.Event) -> None:
        """Follow until ``stop`` is set."""
        while not stop.is_set():
            wait = await self.cycle()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def cycle(self) -> float:
        """One poll: catch up to the exchange's present; seconds until the next poll."""
        try:
            now_ms = await self.client.server_time()
            if not self._resumed:
                await self._resume(now_ms)
            problem = await self._catch_up(now_ms)
        except FeedError as exc:
            return self._failed(str(exc), exc.retry_after)
        except DataValidationError as exc:  # the stored history moved (a client appended)
            self._resumed = False
            return self._failed(f"store refused bars: {exc}", None)
        except Exception as exc:  # the store is unreachable (its replica restarting)
            self._resumed = False  # an append may have landed: re-read where we are
            return self._failed(f"store unavailable: {type(exc).__name__}: {exc}", None)
        if problem is not None:
            self.status.rows_rejected += 1
            return self._failed(problem, None)
        self.backoff.reset()
        self.status.state = "following"
        return self._next_poll(now_ms)

    def _failed(self, message: str, retry_after: float | None) -> float:
        logger.warning("feed %s: %s", self.symbol, message)
        self.status.state = "retrying"
        self.status.last_error, self.status.last_error_at_ms = message, self.wall_ms()
        self.status.retries += 1
        return self.backoff.next(retry_after)

    def _next_poll(self, now_ms: int) -> float:
        """Until the next bar closes by the exchange's clock, plus ``poll_delay_s``."""
        next_close = (now_ms // self.step_ms + 1) * self.step_ms
        wait = (next_close - now_ms) / 1000.0 + self.settings.poll_delay_s
        return min(wait, self.settings.poll_max_s)

    async def _resume(self, now_ms: int) -> None:
        """Read where the stored state is; signal a stored bar whose signal was lost."""
        last_bar, last_signal, version = await self.sink.cursor(self.symbol)
        self.status.last_bar_ms, self.status.last_signal_ms = last_bar, last_signal
        self._live = self._live or last_signal is not None
        self._resumed = True
        unsignalled = last_bar is not None and last_bar > (last_signal or 0)
        if unsignalled and last_bar is not None and self._signal_due(last_bar, now_ms):
            await self._signal(last_bar, version)

    def _signal_due(self, open_ms: int, now_ms: int) -> bool:
        oldest = now_ms - (self.settings.signal_catchup_bars + 1) * self.step_ms
        return self._live and open_ms >= oldest

    async def _catch_up(self, now_ms: int) -> str | None:
        """Pages from the newest stored bar until the present; the first bad row's
        description (the good rows before it are stored), else None."""
        limit = self.settings.page_limit
        for _ in range(self.settings.max_pages_per_cycle):
            last = self.status.last_bar_ms
            start = last + self.step_ms if last is not None else self._backfill_start(now_ms)
            if last is None or now_ms - last >= 3 * self.step_ms:  # bars behind
                self.status.state = "backfilling"
            rows = await self.client.klines(self.symbol, self.settings.interval, start, limit)
            page = parse_page(rows, self.step_ms, last, now_ms)
            await self._store(page.bars, now_ms)
            if page.problem is not None:
                return page.problem
            if page.forming or len(page.bars) < limit:
                self._live = True  # caught up: later bars are signalled
                return None
        return None

    def _backfill_start(self, now_ms: int) -> int:
        current_open = now_ms // self.step_ms * self.step_ms
        return current_open - self.settings.backfill_bars * self.step_ms

    async def _store(self, bars: list[Bar], now_ms: int) -> None:
        """History in one append; bars due a signal one by one, each then predicted."""
        history = [b for b in bars if not self._signal_due(b.open_ms, now_ms)]
        if history:
            await self.sink.append(self.symbol, history)
            self._stored(history[-1].open_ms, len(history))
        for bar in bars[len(history) :]:
            version = await self.sink.append(self.symbol, [bar])
            self._stored(bar.open_ms, 1)
            await self._signal(bar.open_ms, version)

    def _stored(self, open_ms: int, count: int) -> None:
        self.status.last_bar_ms = open_ms
        self.status.bars_stored += count

    async def _signal(self, open_ms: int, version: int) -> None:
        if await self.sink.signal(self.symbol, open_ms, version):
            self.status.last_signal_ms = open_ms
            self.status.signals_stored += 1
