"""The books' Prometheus series: what ``record_books`` sets after the bars just stepped."""

from __future__ import annotations

import pytest

from deployments import metrics
from models.trading import Desk, TradingSettings
from models.trading.replay import timeline
from tests.trading.simulate import HOUR_MS, market


class Recorder:
    def __init__(self) -> None:
        self.values: dict[tuple, float] = {}

    def set(self, value, tags):
        self.values[tuple(sorted(tags.items()))] = value

    def inc(self, value=1.0, tags=None):
        key = tuple(sorted((tags or {}).items()))
        self.values[key] = self.values.get(key, 0.0) + value


def test_record_books_sets_equity_drawdown_exposure_and_counts_fills(monkeypatch):
    fakes = {name: Recorder() for name in ("equity", "drawdown", "exposure", "fills")}
    for name, fake in fakes.items():
        monkeypatch.setattr(metrics, f"_book_{name}", lambda fake=fake: fake)
    desk = Desk(TradingSettings(uncertainty_z=0.0, min_outcomes=30), HOUR_MS)
    steps = [desk.step(b, q) for b, q in timeline(market(2, symbols=2, bars=300, edge=0.3))]
    metrics.record_books(steps, {name: book.peak for name, book in desk.books.items()})
    shadow = desk.books["shadow"]
    assert fakes["equity"].values[(("book", "shadow"),)] == shadow.equity()
    drawdown = fakes["drawdown"].values[(("book", "shadow"),)]
    assert drawdown == pytest.approx(1 - shadow.equity() / shadow.peak) and drawdown >= 0
    gross = fakes["exposure"].values[(("book", "shadow"), ("kind", "gross"))]
    assert gross == steps[-1].equity["shadow"].gross
    opened = fakes["fills"].values[(("action", "open"), ("book", "shadow"))]
    assert opened == sum(f.action == "open" and f.book == "shadow" for s in steps for f in s.fills)
    assert opened > 0
