"""The service's trading desk over the state file: stepped as signals are stored, one
transaction per bar.

:meth:`TradingState.advance` steps every bar that is ready (:mod:`models.trading.live`:
every followed symbol has stored that bar's signal or moved past it), oldest first, and
commits each step whole: its fills, its equity rows and the desk's new state (model,
certificate, books, pending outcomes) under :data:`STATE_KEY`. If the commit fails the
desk in memory goes back to the state before the step, so memory never runs ahead of
disk; a replica killed anywhere restarts from the last committed bar and steps the next
one once. The stored signals, candles and the desk's state are all it reads: whoever calls
``advance`` (the feed after each signal, a restarted replica) gets the same book.

A desk saved for another bar interval (or in a form this code cannot read) is not
continued: the books stay as stored, nothing is stepped, ``/v1/portfolio`` says why, and
the keyed reset of every book starts new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.data.times import iso_ms
from models.errors import ConfigError, TradingError
from models.labels import trailing_sigma
from models.store.store import StateStore
from models.trading import BOOKS, Book, Desk, Quote, StepResult, TradingSettings
from models.trading.live import next_ready, quotes_at
from models.trading.views import (
    book_view,
    certificate_view,
    signal_fields,
    targets_view,
)

STATE_KEY = "trading"
MAX_STEPS = 500
"""Bars stepped in one call at most (a long catch-up continues on the next call)."""


class StoreSource:
    """The stored bars and signals as the desk reads them (milliseconds; the store's µs)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def next_bar(self, symbol: str, after_ms: int | None) -> int | None:
        found = self.store.next_bar(symbol, None if after_ms is None else after_ms * 1000)
        return None if found is None else found // 1000

    def first_signal(self, symbol: str) -> int | None:
        found = self.store.first_prediction(symbol)
        return None if found is None else found // 1000

    def signal(self, symbol: str, bar_ms: int) -> dict[str, object] | None:
        found = self.store.prediction_at(symbol, bar_ms * 1000)
        return None if found is None or found.answer is None else dict(found.answer)

    def closes(self, symbol: str, bar_ms: int, count: int) -> np.ndarray:
        return self.store.closes(symbol, bar_ms * 1000, count)


class TradingState:
    """The paper and shadow books of the followed ``symbols`` (module docstring)."""

    def __init__(
        self,
        store: StateStore,
        settings: TradingSettings,
        symbols: Sequence[str],
        step_ms: int,
    ) -> None:
        self.store, self.settings = store, settings
        self.symbols = tuple(sorted(symbols))
        self.step_ms = step_ms
        self.source = StoreSource(store)
        self.targets: dict[str, dict[str, Any]] = {}
        self.problem: str | None = None
        self.desk = self._load()

    @property
    def enabled(self) -> bool:
        """Books are stepped: symbols are followed and the stored desk could be continued."""
        return bool(self.symbols) and self.problem is None

    def _load(self) -> Desk:
        desk = Desk(self.settings, self.step_ms)
        saved, _ = self.store.load_state(STATE_KEY)
        if saved is None:
            return desk
        try:
            desk.load_state_dict(saved["desk"])
            self.targets = dict(saved.get("targets") or {})
        except (TradingError, KeyError, TypeError) as exc:
            self.problem = (
                f"the stored books cannot be continued ({exc}); POST /v1/portfolio/reset "
                "with book 'all' starts new ones"
            )
            return Desk(self.settings, self.step_ms)
        return desk

    def _saved(self) -> dict[str, Any]:
        return {"desk": self.desk.state_dict(), "targets": self.targets}

    # stepping --------------------------------------------------------------------------
    def advance(self, max_steps: int = MAX_STEPS) -> list[StepResult]:
        """Step and commit every ready bar, oldest first (at most ``max_steps``)."""
        done: list[StepResult] = []
        while self.enabled and len(done) < max_steps:
            bar = next_ready(self.desk, self.source, self.symbols)
            if bar is None:
                break
            before, targets = self.desk.state_dict(), self.targets
            try:
                result = self.desk.step(bar, quotes_at(self.desk, self.source, self.symbols, bar))
                self.targets = {
                    book: {s: t.to_dict() for s, t in chosen.items()}
                    for book, chosen in result.targets.items()
                }
                self.store.save_step(STATE_KEY, self._saved(), result.fills, result.equity)
            except BaseException:
                self.desk = Desk(self.settings, self.step_ms)
                self.desk.load_state_dict(before)
                self.targets = targets
                raise
            done.append(result)
        return done

    def reset(self, book: str) -> dict[str, Any]:
        """Start ``book`` (``paper``, ``shadow`` or ``all``) again with the initial cash,
        no position and no history; the model and the certificate's evidence stay (``all``
        on a desk that could not be continued starts a whole new desk)."""
        if book not in (*BOOKS, "all"):
            raise ConfigError(f"book: must be one of {[*BOOKS, 'all']}, got {book!r}")
        names = list(BOOKS) if book == "all" else [book]
        before, problem = self.desk.state_dict(), self.problem
        if self.problem is not None and book == "all":
            self.desk, self.problem, self.targets = Desk(self.settings, self.step_ms), None, {}
        for name in names:
            self.desk.books[name] = Book(name, self.settings.costs, self.settings.initial_cash)
            self.targets.pop(name, None)
        try:
            self.store.reset_books(STATE_KEY, self._saved(), names)
        except BaseException:
            self.desk = Desk(self.settings, self.step_ms)
            self.desk.load_state_dict(before)
            self.problem = problem
            raise
        return {"reset": names, "equity": self.settings.initial_cash}

    # reads -----------------------------------------------------------------------------
    def answer_fields(
        self,
        symbol: str,
        as_of_us: int,
        score: float | None,
        closes: Sequence[float] | None = None,
        cost_bps: float | None = None,
    ) -> dict[str, Any]:
        """``expected_return_bps``, ``expected_return_se_bps`` and ``position`` of an answer
        for bar ``as_of_us`` with ``score`` (None: degraded); ``closes``: the window's newest
        closes when it is not the stored series (else read from the store)."""
        window = self.settings.vol_window + 1
        values = (
            np.asarray(closes[-window:], float)
            if closes is not None
            else self.store.closes(symbol, as_of_us, window)
        )
        if values.size == 0:
            return {"expected_return_bps": None, "expected_return_se_bps": None, "position": None}
        sigma = float(trailing_sigma(values, window - 1)[-1]) if values.size >= window else np.nan
        quote = Quote(float(values[-1]), score, sigma)
        estimate, decision = self.desk.proposal(symbol, as_of_us // 1000, quote, cost_bps)
        cost = self.settings.costs.round_trip_bps if cost_bps is None else cost_bps
        return signal_fields(self.desk, symbol, estimate, decision, cost)

    def portfolio(self) -> dict[str, Any]:
        """``GET /v1/portfolio``: both books against buy-and-hold, the certificate."""
        costs = self.settings.costs
        return {
            "enabled": self.enabled,
            "problem": self.problem,
            "symbols": list(self.symbols),
            "as_of": iso_ms(self.desk.last_bar_ms),
            "costs": {
                "fee_bps": costs.fee_bps,
                "slippage_bps": costs.slippage_bps,
                "round_trip_bps": costs.round_trip_bps,
            },
            "books": {
                name: book_view(
                    self.desk,
                    name,
                    self.store.trading_history(name),
                    self.store.closed_trades(name),
                )
                for name in BOOKS
            },
            "certificate": certificate_view(self.desk, self.symbols),
        }

    def equity(self, limit: int) -> dict[str, Any]:
        """The newest ``limit`` equity points of each book, with buy-and-hold (the chart)."""
        return {
            "books": {
                name: [
                    {
                        "time": iso_ms(p.bar_ms),
                        "equity": p.equity,
                        "benchmark": p.benchmark,
                        "gross": p.gross,
                    }
                    for p in self.store.trading_history(name, limit)
                ]
                for name in BOOKS
            }
        }

    def targets_now(self) -> dict[str, Any]:
        """``GET /v1/portfolio/targets``: what each book did at the newest bar, and why."""
        return targets_view(self.desk, self.targets) | {"symbols": list(self.symbols)}

    def trades(self, book: str, before: int | None, limit: int) -> dict[str, Any]:
        """``GET /v1/trades``: fills of ``book``, newest first, paged by ``seq``."""
        if book not in BOOKS:
            raise ConfigError(f"book: must be one of {list(BOOKS)}, got {book!r}")
        rows = self.store.trading_fills(book, before, limit + 1)
        kept = rows[:limit]
        for row in kept:
            row["time"] = iso_ms(row.pop("bar_ms"))
            row["opened_at"] = iso_ms(row.pop("opened_ms"))
        more = len(rows) > limit and bool(kept)
        return {"book": book, "trades": kept, "next_before": kept[-1]["seq"] if more else None}
