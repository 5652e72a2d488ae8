"""Driving the desk from stored bars and signals: which bar is ready, and its quotes.

The live service calls :func:`advance` after every stored signal (and when the feed
resumes); it steps the desk through every bar that is *ready*, oldest first, so a bar is
stepped exactly once however often it is called, and a bar missed by a dead replica is
stepped by the next call. Bar ``t`` is ready when every followed symbol either

- has its bar ``t`` stored with a stored signal for it, or
- has stored a bar after ``t`` (its signal for ``t`` will never come: missing or lost; a
  symbol without bar ``t`` at all, an exchange gap, has no quote at ``t``).

A symbol quoted at ``t`` without a usable signal (none stored, or a degraded one) has no
score: no trade on it. A new desk starts at the oldest bar with a stored signal of any
followed symbol. The quotes are read from the store: the close, the trailing volatility
of the stored closes up to ``t`` (the labels' own, exact on any window) and the score of
the stored signal (:func:`models.trading.score.answer_score`). The evaluation builds the
same quotes from the same candles, so its replay and the live book agree trade by trade.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from models.labels import trailing_sigma
from models.trading.desk import Desk, Quote, StepResult


class BarSource(Protocol):
    """What the desk needs of the stored state (``models.store`` implements it)."""

    def next_bar(self, symbol: str, after_ms: int | None) -> int | None:
        """Open time (ms) of the first stored bar after ``after_ms`` (the oldest when None)."""

    def first_signal(self, symbol: str) -> int | None:
        """Open time (ms) of the oldest bar with a stored signal (None: none yet)."""

    def signal(self, symbol: str, bar_ms: int) -> dict[str, object] | None:
        """The stored signal (its answer) of the bar, None when there is none."""

    def closes(self, symbol: str, bar_ms: int, count: int) -> np.ndarray:
        """The newest ``count`` stored closes up to and including ``bar_ms``, oldest first."""


def quote(source: BarSource, symbol: str, bar_ms: int, vol_window: int) -> Quote:
    """The desk's view of a stored bar: close, trailing volatility, the signal's score."""
    from models.trading.score import answer_score

    closes = source.closes(symbol, bar_ms, vol_window + 1)
    sigma = float(trailing_sigma(closes, vol_window)[-1]) if closes.size > vol_window else np.nan
    answer = source.signal(symbol, bar_ms)
    return Quote(float(closes[-1]), None if answer is None else answer_score(answer), sigma)


def _start(source: BarSource, symbols: Sequence[str]) -> int | None:
    """The bar before which a new desk has nothing to do: the oldest stored signal."""
    firsts = [b for s in symbols if (b := source.first_signal(s)) is not None]
    return min(firsts) if firsts else None


def next_ready(desk: Desk, source: BarSource, symbols: Sequence[str]) -> int | None:
    """The next bar to step, if it is ready (module docstring)."""
    after = desk.last_bar_ms
    if after is None:
        start = _start(source, symbols)
        if start is None:
            return None
        after = start - 1
    nexts = {s: source.next_bar(s, after) for s in symbols}
    if any(n is None for n in nexts.values()):
        return None  # a followed symbol has not stored a bar after the desk's yet
    bar = min(n for n in nexts.values() if n is not None)
    for symbol, n in nexts.items():
        if n == bar and source.signal(symbol, bar) is None and source.next_bar(symbol, bar) is None:
            return None  # its signal may still come
    return bar


def quotes_at(desk: Desk, source: BarSource, symbols: Sequence[str], bar: int) -> dict[str, Quote]:
    """The quotes of the symbols with a stored bar at ``bar``."""
    return {
        s: quote(source, s, bar, desk.settings.vol_window)
        for s in sorted(symbols)
        if source.next_bar(s, bar - 1) == bar
    }


def step_next(desk: Desk, source: BarSource, symbols: Sequence[str]) -> StepResult | None:
    """Step the next bar if it is ready (None: nothing to do yet)."""
    bar = next_ready(desk, source, symbols)
    if bar is None:
        return None
    return desk.step(bar, quotes_at(desk, source, symbols, bar))


def advance(
    desk: Desk, source: BarSource, symbols: Sequence[str], max_steps: int = 1000
) -> list[StepResult]:
    """Step every ready bar, oldest first (at most ``max_steps``; the rest next call)."""
    done = []
    for _ in range(max_steps):
        result = step_next(desk, source, symbols)
        if result is None:
            break
        done.append(result)
    return done
