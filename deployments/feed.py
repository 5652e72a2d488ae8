"""The feed deployment: one replica following the exchange for the configured symbols.

Thin wrapper over :mod:`models.feed`: a :class:`~models.feed.SymbolFeed` per symbol runs as
a task on the replica's event loop, storing through :class:`ServeSink`, i.e. the state
deployment's ``append_candles`` (the path of ``POST /v1/candles/{symbol}``) and the
ensemble's ``predict`` with the learned-state version the append returned (the path of
``/v1/predict``); after each signal the state steps the trading books through every bar
whose signals are all stored (docs/trading.md). Everything it needs to resume lives in the
state, so a killed replica or a restarted app carries on from the stored bars. Run exactly
one replica per followed symbol set (``num_replicas: 1``): two would append the same bars.
Without ``feed`` in the app's args the replica idles and ``GET /v1/feed`` says
``enabled: false``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any

import polars as pl
from ray import serve

from deployments import metrics
from deployments.handles import Handle
from deployments.settings import AppSettings
from models.feed import Bar, KlinesClient, SymbolFeed, bars_frame
from models.feed.signals import LEADER_WAIT_S, BarWindows, wait_for_leaders
from models.predictors.registry import PREDICTORS
from models.serving.pipeline import required_bars

logger = logging.getLogger("ray.serve")


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def _ms(us: int | None) -> int | None:
    return None if us is None else us // 1000


def _checked(result: Any) -> Any:
    """A state call's result; our error types (returned as values) raised."""
    if isinstance(result, BaseException):
        raise result
    return result


class ServeSink:
    """The feed's :class:`~models.feed.Sink` over the state and ensemble handles.

    ``leaders``: followed symbols whose candles a served predictor needs beside other
    symbols' windows (registry ``leader``); each symbol feeds on its own task, so a signal
    of another symbol first waits (at most ``leader_wait_s``) for the leader's bar."""

    def __init__(
        self,
        state: Handle,
        ensemble: Handle,
        window_bars: int,
        min_bars: int,
        interval_ms: int,
        leaders: frozenset[str] = frozenset(),
        leader_wait_s: float = LEADER_WAIT_S,
    ) -> None:
        self.state, self.ensemble = state, ensemble
        self.window_bars, self.min_bars = window_bars, min_bars
        self.interval_ms = interval_ms
        self.leaders, self.leader_wait_s = leaders, leader_wait_s
        self._windows = BarWindows()

    async def cursor(self, symbol: str) -> tuple[int | None, int | None, int]:
        last_bar, last_signal, version = await self.state.feed_cursor.remote(symbol)
        return _ms(last_bar), _ms(last_signal), version

    async def append(self, symbol: str, bars: list[Bar]) -> int:
        """History in one ``append_candles``; a live bar through ``append_bar`` (the same
        validated append), which also returns the window its signal needs: one call."""
        close_ms = bars[-1].open_ms + self.interval_ms
        metrics.record_feed_lag(symbol, (time.time() * 1000 - close_ms) / 1000)
        if len(bars) > 1:
            done = _checked(await self.state.append_candles.remote(symbol, bars_frame(bars)))
            return int(done["learned_version"])
        bar = bars_frame(bars).to_dicts()[0]
        call = self.state.append_bar.remote(symbol, bar, self.window_bars)
        window, done = _checked(await call)
        self._windows.put(symbol, bars[0].open_ms, window)
        return int(done["learned_version"])

    async def _window(self, symbol: str, as_of_ms: int) -> pl.DataFrame:
        cached = self._windows.take(symbol, as_of_ms)
        if cached is not None:
            return cached
        window: pl.DataFrame = _checked(await self.state.candles.remote(symbol, self.window_bars))
        return window

    async def _last_bar_ms(self, symbol: str) -> int | None:
        last_bar, _, _ = await self.cursor(symbol)
        return last_bar

    async def signal(self, symbol: str, as_of_ms: int, min_version: int) -> bool:
        """Store the bar's signal, then step the trading books through every bar that is
        ready (this signal may have been the last one a bar waited for)."""
        made = await self._signal(symbol, as_of_ms, min_version)
        await self._advance_books()
        return made

    async def _advance_books(self) -> None:
        """The books' step never stops the feed: a failure is logged, and the bar is
        stepped by the next call (each step is committed whole or not at all)."""
        try:
            _checked(await self.state.trading_advance.remote())
        except Exception as exc:
            logger.warning("feed: trading books not stepped: %r", exc)

    async def _signal(self, symbol: str, as_of_ms: int, min_version: int) -> bool:
        await wait_for_leaders(
            self.leaders, symbol, as_of_ms, self._last_bar_ms, self.leader_wait_s
        )
        window = await self._window(symbol, as_of_ms)
        if window.height < self.min_bars:
            return False
        newest = int(window["timestamp"][-1].timestamp() * 1000)
        if newest != as_of_ms:
            logger.warning("feed %s: newest stored bar %s is not %s", symbol, newest, as_of_ms)
            return False
        answer = await self.ensemble.predict.remote(symbol, window, True, min_version)
        if isinstance(answer, BaseException):  # this window cannot be predicted: skip it
            logger.warning("feed %s: no signal for %s: %r", symbol, _iso_ms(as_of_ms), answer)
            return False
        return True


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0.05}, max_ongoing_requests=16)
class FeedDeployment:
    # Serve awaits an async __init__; the type rules have no such thing (__init__ -> None).
    async def __init__(  # type: ignore[misc]
        self, state: Handle, ensemble: Handle, settings: dict[str, Any] | None = None
    ) -> None:
        app = AppSettings.parse(settings)
        self.cfg, self.window_bars = app.feed, app.fetch_bars()
        self.feeds: list[SymbolFeed] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        if self.cfg is None:
            return
        self.client = KlinesClient(self.cfg.base_url, self.cfg.request_timeout_s)
        served = app.served_predictors()
        leaders = frozenset(e.leader for e in PREDICTORS if e.name in served and e.leader)
        sink = ServeSink(
            state,
            ensemble,
            self.window_bars,
            required_bars(),
            self.cfg.interval_ms,
            leaders & set(self.cfg.symbols),
        )
        self.feeds = [SymbolFeed(s, self.cfg, self.client, sink) for s in self.cfg.symbols]
        self._tasks = [asyncio.create_task(feed.run(self._stop)) for feed in self.feeds]

    async def status(self) -> dict[str, Any]:
        """What ``GET /v1/feed`` answers."""
        if self.cfg is None:
            return {"enabled": False, "symbols": {}}
        now_ms, step = time.time() * 1000, self.cfg.interval_ms
        out = {}
        for feed in self.feeds:
            st = feed.status
            close = None if st.last_bar_ms is None else st.last_bar_ms + step
            out[st.symbol] = {
                **{k: getattr(st, k) for k in ("state", "last_error", "bars_stored")},
                **{k: getattr(st, k) for k in ("signals_stored", "rows_rejected", "retries")},
                "last_bar": _iso_ms(st.last_bar_ms),
                "last_bar_close": _iso_ms(close),
                "lag_s": None if close is None else round((now_ms - close) / 1000, 3),
                "last_signal": _iso_ms(st.last_signal_ms),
                "last_error_at": _iso_ms(st.last_error_at_ms),
            }
        return {
            "enabled": True,
            "interval": self.cfg.interval,
            "base_url": self.cfg.base_url,
            "symbols": out,
        }

    def check_health(self) -> None:
        """A feed task that died (a bug) fails the health check: Serve restarts us."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"feed task failed: {task.exception()!r}")

    async def ping(self) -> dict[str, Any]:
        return {"enabled": self.cfg is not None, "symbols": [f.symbol for f in self.feeds]}

    def __del__(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
