"""The state deployment: one replica owning the SQLite state file.

Thin wrapper over :class:`models.serving.state.ServingState`; our error types come back as return
values (see :func:`client_errors_as_values`). Every write is committed before the
method returns, so the ingress acknowledges nothing a restart could lose. Run exactly one
replica per state file (``num_replicas: 1``): the learned ensemble state lives in this
replica's memory between commits, so the store takes an exclusive lock on the file and a
second opener fails (after ``state_lock_wait_s``, the time a replica being replaced gets to
stop) with an error naming the file and the holder. Reads of history run in a worker
thread so a large page does not hold up appends; overload is a fast 503 (``max_queued_requests``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import polars as pl
from ray import serve

from deployments import metrics
from deployments.ensemble_config import load_ensemble_config
from deployments.settings import AppSettings
from models.ensemble import Ensemble
from models.ensemble.published import load_fits
from models.errors import SmartMarketError
from models.serving.state import ServingState
from models.serving.trading_state import TradingState
from models.store import StateStore, StoredPrediction

T = TypeVar("T")


def client_errors_as_values(
    method: Callable[..., Awaitable[T]],
) -> Callable[..., Awaitable[T | SmartMarketError]]:
    """Return our error types instead of raising them: a client's bad request is an
    answer, not a replica failure (Serve would log a traceback for every one)."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> T | SmartMarketError:
        try:
            return await method(*args, **kwargs)
        except SmartMarketError as exc:
            return exc

    return wrapper


@serve.deployment(
    num_replicas=1,
    ray_actor_options={"num_cpus": 0.1},
    max_ongoing_requests=256,
    max_queued_requests=1024,
)
class StateDeployment:
    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        app = AppSettings.parse(settings)
        self.app = app
        store = StateStore(
            app.state_db,
            retain_bars=app.retain_bars,
            retain_predictions=app.retain_predictions,
            lock_wait_s=app.state_lock_wait_s,
        )
        ensemble = Ensemble(load_ensemble_config(app))
        self.state = ServingState(store, ensemble, combiners=load_fits(app.registry))
        self.trading = TradingState(store, app.trading, app.book_symbols(), app.book_interval_ms())

    @client_errors_as_values
    async def append_candles(self, symbol: str, frame: pl.DataFrame) -> dict[str, Any]:
        done = self.state.append_candles(symbol, frame, self.app.interval_us(symbol))
        metrics.record_outcomes(symbol, len(done["resolved"]), "candles")
        return done

    @client_errors_as_values
    async def append_bar(
        self,
        symbol: str,
        bar: Mapping[str, Any],
        window_bars: int,
        closed_by_us: int | None = None,
    ) -> tuple[pl.DataFrame, dict[str, Any]]:
        """Append one bar; ``closed_by_us``: it must have closed by then (a client's bar;
        the feed's bars are closed by the exchange's clock, which tests run fast)."""
        step = self.app.interval_us(symbol)
        window, done = self.state.append_bar(symbol, bar, window_bars, step, closed_by_us)
        metrics.record_outcomes(symbol, len(done["resolved"]), "candles")
        return window, done

    @client_errors_as_values
    async def newest_signal(self, symbol: str, window_bars: int) -> dict[str, Any]:
        return self.state.newest_signal(symbol, window_bars)

    async def stored_answer(self, symbol: str, as_of: int) -> dict[str, Any] | None:
        return self.state.stored_answer(symbol, as_of)

    @client_errors_as_values
    async def candles(
        self, symbol: str, limit: int | None, until: int | None = None
    ) -> pl.DataFrame:
        return self.state.candles(symbol, limit, until)

    async def add_predictions(self, items: Sequence[StoredPrediction]) -> int:
        return self.state.add_predictions(items)

    @client_errors_as_values
    async def record_outcome(self, prediction_id: str, realized_return: float) -> dict[str, Any]:
        done = self.state.record_outcome(prediction_id, realized_return)
        metrics.record_outcomes(str(done.get("symbol", "")), 1, "reported")
        return done

    @client_errors_as_values
    async def performance(self, symbol: str) -> dict[str, Any]:
        return self.state.performance(symbol)

    async def symbols(self) -> dict[str, int]:
        return self.state.symbols()

    async def predictions(
        self, symbol: str, since: int | None, until: int | None, limit: int
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.state.predictions, symbol, since, until, limit)

    async def calibration(self, symbol: str, limit: int, bins: int) -> dict[str, Any]:
        return await asyncio.to_thread(self.state.calibration, symbol, limit, bins)

    async def weights(
        self, symbol: str, since: int | None, until: int | None, limit: int
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.state.weights, symbol, since, until, limit)

    async def feed_cursor(self, symbol: str) -> tuple[int | None, int | None, int]:
        return self.state.feed_cursor(symbol)

    async def tracker_state(self) -> tuple[dict[str, Any], int]:
        return self.state.tracker_state()

    # trading books ---------------------------------------------------------------------
    @client_errors_as_values
    async def trading_advance(self) -> dict[str, Any]:
        """Step the books through every bar that is ready (the feed calls this after each
        signal it stores, and when it resumes)."""
        steps = self.trading.advance()
        peaks = {name: book.peak for name, book in self.trading.desk.books.items()}
        metrics.record_books(steps, peaks)
        return {"stepped": len(steps), "last_bar_ms": self.trading.desk.last_bar_ms}

    @client_errors_as_values
    async def trading_answer(
        self,
        symbol: str,
        as_of_us: int,
        score: float | None,
        closes: Sequence[float] | None,
        cost_bps: float | None,
    ) -> dict[str, Any]:
        return self.trading.answer_fields(symbol, as_of_us, score, closes, cost_bps)

    async def portfolio(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.trading.portfolio)

    async def portfolio_equity(self, limit: int) -> dict[str, Any]:
        return await asyncio.to_thread(self.trading.equity, limit)

    async def portfolio_targets(self) -> dict[str, Any]:
        return self.trading.targets_now()

    @client_errors_as_values
    async def trades(self, book: str, before: int | None, limit: int) -> dict[str, Any]:
        return self.trading.trades(book, before, limit)

    @client_errors_as_values
    async def reset_books(self, book: str) -> dict[str, Any]:
        return self.trading.reset(book)

    async def ping(self) -> dict[str, Any]:
        return {"state_db": self.state.store.path, "version": self.state.version}

    def __del__(self) -> None:
        state = getattr(self, "state", None)
        if state is not None:
            state.store.close()
