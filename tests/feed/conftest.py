"""Fixtures of the feed tests: a fake exchange over real candles, an in-memory sink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from models.errors import DataValidationError
from models.feed import Bar
from tests.feed.fake_exchange import FakeExchange

HOUR_MS = 3_600_000
START_ROW = 3000
"""Row of the real BTCUSDT history the exchange's clock starts at."""


class MemorySink:
    """The state and ensemble as the feed sees them, in memory, with the store's rule
    that candles continue after the stored history."""

    def __init__(self, min_bars: int = 50) -> None:
        self.bars: list[Bar] = []
        self.signals: list[tuple[int, int]] = []
        self.version = 0
        self.min_bars = min_bars
        self.appends: list[int] = []

    async def cursor(self, symbol: str) -> tuple[int | None, int | None, int]:
        last_bar = self.bars[-1].open_ms if self.bars else None
        return last_bar, (self.signals[-1][0] if self.signals else None), self.version

    async def append(self, symbol: str, bars: list[Bar]) -> int:
        if self.bars and bars[0].open_ms <= self.bars[-1].open_ms:
            raise DataValidationError("not after the stored history", column="timestamp")
        self.bars.extend(bars)
        self.appends.append(len(bars))
        self.version += 1
        return self.version

    async def signal(self, symbol: str, as_of_ms: int, min_version: int) -> bool:
        assert self.bars[-1].open_ms == as_of_ms
        if len(self.bars) < self.min_bars:
            return False
        self.signals.append((as_of_ms, min_version))
        return True


def fast_feed(symbols: list[str], base_url: str, backfill_bars: int) -> dict[str, Any]:
    """The app's ``feed`` args for a test: the fake exchange, polled and retried quickly."""
    return {
        "symbols": symbols,
        "base_url": base_url,
        "backfill_bars": backfill_bars,
        "poll_delay_s": 0.0,
        "poll_max_s": 0.1,
        "request_timeout_s": 2.0,
        "backoff_base_s": 0.1,
        "backoff_max_s": 0.5,
    }


def open_ms(frame: pl.DataFrame, row: int) -> int:
    return int(frame["timestamp"][row].timestamp() * 1000)


@pytest.fixture
def exchange(btc: pl.DataFrame) -> Iterator[FakeExchange]:
    """BTCUSDT hourly candles; the clock 10 minutes into the bar of row START_ROW."""
    frame = btc.slice(0, START_ROW + 400)
    with FakeExchange({"BTCUSDT": frame}, HOUR_MS, open_ms(frame, START_ROW) + 600_000) as ex:
        yield ex
