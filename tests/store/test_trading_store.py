"""The books' rows in SQLite: one step's fills and equity points, paged, cleared."""

from __future__ import annotations

import sqlite3

import pytest

from models.store import trading as rows
from models.store.db import open_db
from models.trading import Desk, TradingSettings
from models.trading.replay import timeline
from tests.trading.simulate import HOUR_MS, market


@pytest.fixture
def conn():
    db = open_db(":memory:")
    rows.create_tables(db)
    yield db
    db.close()


def test_steps_round_trip_and_page(conn):
    desk = Desk(TradingSettings(uncertainty_z=0.0, min_outcomes=50), HOUR_MS)
    fills = []
    for bar_ms, quotes in timeline(market(1, symbols=2, bars=300, edge=0.2)):
        step = desk.step(bar_ms, quotes)
        rows.insert_step(conn, step.fills, step.equity)
        fills += step.fills
    shadow = [f for f in fills if f.book == "shadow"]
    assert rows.fill_objects(conn, "shadow") == shadow
    assert rows.closed_trades(conn, "shadow") == sum(f.pnl is not None for f in shadow)
    page = rows.fills(conn, "shadow", None, 5)
    assert [p["seq"] for p in page] == list(range(len(shadow), len(shadow) - 5, -1))
    older = rows.fills(conn, "shadow", page[-1]["seq"], 5)
    assert older[0]["seq"] == page[-1]["seq"] - 1
    history = rows.history(conn, "paper")
    assert len(history) == 300 and history[-1].equity == desk.books["paper"].equity()
    assert rows.history(conn, "paper", limit=2) == history[-2:]


def test_a_bar_is_stored_once_and_clear_forgets_a_book(conn):
    desk = Desk(TradingSettings(), HOUR_MS)
    bar_ms, quotes = next(iter(timeline(market(2, symbols=1, bars=5))))
    step = desk.step(bar_ms, quotes)
    rows.insert_step(conn, step.fills, step.equity)
    with pytest.raises(sqlite3.IntegrityError):
        rows.insert_step(conn, step.fills, step.equity)
    rows.clear(conn, "paper")
    assert rows.history(conn, "paper") == [] and len(rows.history(conn, "shadow")) == 1
