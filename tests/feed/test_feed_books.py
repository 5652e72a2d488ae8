"""End to end on a local Ray: the paper and shadow books the service runs itself.

The feed follows two symbols on the fake exchange; after every bar's signals are stored the
state steps the books. Killing the state replica and the feed replica in the middle and
restarting the whole app neither repeats nor skips a bar, and the books stored equal the
evaluation's replay of the same bars (``models.trading.replay``, what ``book.csv`` runs)
over the stored candles and signals, fill by fill and to the bit.
"""

from __future__ import annotations

import os
from datetime import datetime

import pytest

from models.data.times import epoch_us
from models.trading import TradingSettings
from models.trading.replay import replay
from scripts.bench_book import stored_series
from tests.feed.conftest import HOUR_MS, START_ROW, fast_feed, open_ms
from tests.feed.fake_exchange import FakeExchange
from tests.feed.serve_feed import FeedApp

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SYMBOLS = ("BTCUSDT", "ETHUSDT")
HISTORY = 300
BARS = 36
TRADING = {
    "uncertainty_z": 0.0,
    "min_outcomes": 12,
    "certificate": {"min_trades": 5, "draws": 1000},
}


def _ms(iso: str) -> int:
    return epoch_us(datetime.fromisoformat(iso)) // 1000


def _books_at(app: FeedApp, bar_ms: int, timeout_s: float = 120.0) -> None:
    """Wait until the books have stepped bar ``bar_ms``."""

    def stepped(body: dict) -> bool:
        as_of = body.get("as_of")
        return as_of is not None and _ms(as_of) >= bar_ms

    app.wait(stepped, timeout_s, what=f"books at {bar_ms}", path="/v1/portfolio")


@pytest.fixture(scope="module")
def books_app(ray_session, real_candles, tmp_path_factory):
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    frames = {s: real_candles(s).slice(0, START_ROW + BARS + 5) for s in SYMBOLS}
    start = open_ms(frames["BTCUSDT"], START_ROW) + 600_000
    with FakeExchange(frames, HOUR_MS, start) as exchange:
        feed = fast_feed(list(SYMBOLS), exchange.url, HISTORY)
        db = tmp_path_factory.mktemp("books") / "state.db"
        app = FeedApp("books-e2e", db, feed, TRADING)
        app.deploy()
        yield app, exchange, frames
        app.close()


def test_books_run_live_equal_the_replay_and_survive_kills_and_a_restart(books_app):
    app, exchange, frames = books_app
    btc = frames["BTCUSDT"]
    app.wait(
        lambda b: all(
            b["symbols"].get(s, {}).get("last_bar") is not None
            and _ms(b["symbols"][s]["last_bar"]) == open_ms(btc, START_ROW - 1)
            for s in SYMBOLS
        ),
        what="backfill",
    )
    for i in range(BARS):
        exchange.advance(1)
        if i == 12:
            app.kill("StateDeployment")  # while it may be stepping this bar
        if i == 20:
            app.kill()  # the feed replica
        if i == 28:
            app.restart()  # the whole app
        _books_at(app, open_ms(btc, START_ROW + i))

    settings = TradingSettings.parse(TRADING)
    expected = replay(settings, HOUR_MS, stored_series(app, SYMBOLS, TradingSettings().vol_window))
    for book in ("paper", "shadow"):
        stored = app.query(
            "SELECT bar_ms, symbol, action, quantity, price, fee FROM trading_fills "
            f"WHERE book = '{book}' ORDER BY seq"
        )
        mine = [
            (f.bar_ms, f.symbol, f.action, f.quantity, f.price, f.fee)
            for f in expected.fills
            if f.book == book
        ]
        assert stored == mine, book
        bars = app.query(f"SELECT bar_ms, equity FROM trading_equity WHERE book = '{book}'")
        assert [b for b, _ in bars] == sorted({p.bar_ms for p in expected.equity[book]})
        assert bars[-1][1] == expected.equity[book][-1].equity
    assert len(expected.book_fills("shadow")) > 0

    view = app.client.get("/v1/portfolio").json()
    assert view["enabled"] and set(view["books"]) == {"paper", "shadow"}
    shadow = view["books"]["shadow"]
    assert shadow["equity"] == expected.equity["shadow"][-1].equity
    assert shadow["buy_and_hold"]["equity"] == expected.equity["shadow"][-1].benchmark
    trades = app.client.get("/v1/trades", params={"book": "shadow", "limit": 2}).json()
    assert len(trades["trades"]) == min(2, len(expected.book_fills("shadow")))
    targets = app.client.get("/v1/portfolio/targets").json()
    assert set(targets["books"]["shadow"]) == set(SYMBOLS)
    answer = app.client.post("/v1/predict", json={"symbol": "BTCUSDT"}).json()
    assert {"expected_return_bps", "expected_return_se_bps", "position"} <= set(answer)
    assert answer["position"]["reason"]

    refused = app.client.post("/v1/portfolio/reset", json={"book": "paper"})
    assert refused.status_code == 401  # a write: the key is required
    auth = {"Authorization": f"Bearer {app.key}"}
    done = app.client.post("/v1/portfolio/reset", json={"book": "paper"}, headers=auth)
    assert done.status_code == 200, done.text
    paper = app.client.get("/v1/portfolio").json()["books"]["paper"]
    assert paper["equity"] == settings.initial_cash and paper["bars"] == 0
