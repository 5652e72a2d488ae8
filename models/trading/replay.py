"""Run the desk over stored series: the evaluation's book is the live book, bar by bar.

A :class:`Series` is one symbol's bars (open times, closes, the score of each bar's signal
with NaN where it was degraded, the trailing volatility). :func:`replay` walks the union of
their bars in time order and calls :meth:`Desk.step` with the quotes of the symbols that
have that bar, exactly as the live service does once every followed symbol's bar is stored.
:func:`replay_with` trades with the estimates of an earlier replay (another cost, or one
symbol alone with the estimates of a desk that followed every symbol: the per-symbol rows
of the evaluation), and :func:`follow_targets`
runs a fixed target per bar (buy-and-hold, the old per-bar rule) through the same book.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.errors import TradingError
from models.trading.book import Book, EquityPoint, Fill
from models.trading.config import TradingSettings
from models.trading.desk import BOOKS, Desk, Quote, StepResult
from models.trading.expected import Estimate
from models.trading.portfolio import Target
from models.trading.rule import Action


@dataclass(frozen=True)
class Series:
    """One symbol's bars as the desk would see them (aligned arrays)."""

    symbol: str
    bar_ms: np.ndarray
    close: np.ndarray
    score: np.ndarray
    """NaN where the signal was degraded or missing."""
    sigma: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.bar_ms)
        for name in ("close", "score", "sigma"):
            if len(getattr(self, name)) != n:
                raise TradingError(f"series {self.symbol}: {name} has a different length")
        if n > 1 and np.any(np.diff(np.asarray(self.bar_ms)) <= 0):
            raise TradingError(f"series {self.symbol}: bar times must increase")

    def quote(self, i: int) -> Quote:
        score = float(self.score[i])
        return Quote(
            float(self.close[i]), score if math.isfinite(score) else None, float(self.sigma[i])
        )


def timeline(series: Sequence[Series]) -> Iterator[tuple[int, dict[str, Quote]]]:
    """``(bar_ms, quotes)`` for every bar of any series, oldest first."""
    stamps = np.unique(np.concatenate([np.asarray(s.bar_ms, np.int64) for s in series]))
    cursor = [0] * len(series)
    for stamp in stamps:
        quotes = {}
        for k, s in enumerate(series):
            i = cursor[k]
            if i < len(s.bar_ms) and int(s.bar_ms[i]) == stamp:
                quotes[s.symbol] = s.quote(i)
                cursor[k] = i + 1
        yield int(stamp), quotes


@dataclass
class Run:
    """Everything a replay produced."""

    equity: dict[str, list[EquityPoint]] = field(default_factory=lambda: {b: [] for b in BOOKS})
    fills: list[Fill] = field(default_factory=list)
    estimates: dict[str, dict[int, Estimate | None]] = field(default_factory=dict)
    """Symbol -> bar_ms -> the estimate traded on (market-neutral: centred)."""
    missing: dict[str, dict[int, str]] = field(default_factory=dict)
    """Symbol -> bar_ms -> why there was no estimate."""
    steps: int = 0

    def add(self, result: StepResult) -> None:
        for book, point in result.equity.items():
            self.equity.setdefault(book, []).append(point)
        for symbol, estimate in result.estimates.items():
            self.estimates.setdefault(symbol, {})[result.bar_ms] = estimate
        for symbol, why in result.missing.items():
            self.missing.setdefault(symbol, {})[result.bar_ms] = why
        self.fills += result.fills
        self.steps += 1

    def book_fills(self, book: str) -> list[Fill]:
        return [f for f in self.fills if f.book == book]


def replay(settings: TradingSettings, step_ms: int, series: Sequence[Series]) -> Run:
    """The live desk over every bar of ``series`` (module docstring)."""
    desk = Desk(settings, step_ms)
    run = Run()
    for bar_ms, quotes in timeline(series):
        run.add(desk.step(bar_ms, quotes))
    return run


def replay_with(
    settings: TradingSettings, step_ms: int, series: Sequence[Series], source: Run
) -> Run:
    """The desk's books over ``series`` with the estimates of an earlier replay
    (``source``): at another cost (estimates do not depend on it), or one symbol alone
    with those of a desk that followed every symbol."""
    desk = Desk(settings, step_ms)
    run = Run()
    for bar_ms, quotes in timeline(series):
        known = {s: source.estimates.get(s, {}).get(bar_ms) for s in quotes}
        why = {s: source.missing.get(s, {}).get(bar_ms, "no estimate") for s in quotes}
        run.add(desk.trade(bar_ms, quotes, known, why))
    return run


def follow_targets(
    name: str,
    settings: TradingSettings,
    series: Sequence[Series],
    weights: Mapping[str, np.ndarray],
    reason: str,
) -> Run:
    """A book that holds ``weights[symbol][i]`` of equity in each symbol from bar ``i`` on,
    trading only when the wanted weight changes (buy-and-hold, the old per-bar rule)."""
    book = Book(name, settings.costs, settings.initial_cash)
    index = {s.symbol: 0 for s in series}
    wanted: dict[str, float] = {}
    run = Run(equity={name: []})
    for bar_ms, quotes in timeline(series):
        closes = {s: q.close for s, q in quotes.items()}
        book.update_marks(closes)
        targets = {}
        for symbol in sorted(quotes):
            w = float(weights[symbol][index[symbol]])
            index[symbol] += 1
            if w != wanted.get(symbol, 0.0):
                action: Action = "flip" if symbol in book.positions else "open"
                targets[symbol] = Target(symbol, "close" if w == 0 else action, w, 0, 0.0, reason)
                wanted[symbol] = w
        before = book.equity()
        fills = book.execute(bar_ms, closes, targets)
        run.equity[name].append(book.mark(bar_ms, fills, before))
        run.fills += fills
        run.steps += 1
    return run
