"""What the feed's sink does between storing a bar and asking for its signal, without Ray.

Each followed symbol feeds on its own task, so a symbol's signal may be asked for before the
leader's bar at the same time is stored (a predictor needs the leader's candles beside the
window): :func:`wait_for_leaders` holds it, for a bounded time. Storing a live bar returns
the window its signal needs; :class:`BarWindows` keeps it until the signal of that bar reads
it, so the signal costs no second read of the stored candles.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

import polars as pl

LEADER_WAIT_S = 2.0
"""Longest a followed symbol's signal waits for the same bar of a followed leader (whose
candles a predictor needs beside it) to be stored; after it, it predicts without."""


class BarWindows:
    """The newest window per symbol, as the append of its live bar returned it."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, pl.DataFrame]] = {}

    def put(self, symbol: str, open_ms: int, window: pl.DataFrame) -> None:
        """Keep the window whose newest bar opened at ``open_ms``."""
        self._windows[symbol] = (open_ms, window)

    def take(self, symbol: str, as_of_ms: int) -> pl.DataFrame | None:
        """The kept window of ``symbol`` when its newest bar opened at ``as_of_ms`` (it is
        removed either way: a window is read once)."""
        kept = self._windows.pop(symbol, None)
        return kept[1] if kept is not None and kept[0] == as_of_ms else None


async def wait_for_leaders(
    leaders: Iterable[str],
    symbol: str,
    as_of_ms: int,
    last_bar_ms: Callable[[str], Awaitable[int | None]],
    wait_s: float = LEADER_WAIT_S,
    poll_s: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Wait until every leader but ``symbol`` has stored its bar opening at ``as_of_ms`` (or
    later), at most ``wait_s`` in all; True when they all have."""
    deadline = clock() + wait_s
    for leader in sorted(set(leaders) - {symbol}):
        while True:
            stored = await last_bar_ms(leader)
            if stored is not None and stored >= as_of_ms:
                break
            if clock() >= deadline:
                return False
            await asyncio.sleep(poll_s)
    return True
