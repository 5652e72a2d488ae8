"""End to end on a local Ray: the app's feed follows the fake exchange.

Candles are stored through the state's validated path, a signal is stored for each new
bar, pending predictions resolve as later bars arrive, a malformed row is refused and the
feed goes on, and neither killing the feed replica in the middle nor restarting the whole
app loses or repeats a bar or a signal.
"""

from __future__ import annotations

import os

import pytest

from tests.feed.conftest import HOUR_MS, START_ROW, fast_feed, open_ms
from tests.feed.fake_exchange import FakeExchange
from tests.feed.serve_feed import FeedApp

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SYMBOL = "BTCUSDT"
HISTORY = 300
HORIZON = 4


def _following_at(row_open: int, signalled: bool):
    """The feed follows with ``row_open`` as its newest stored (and signalled) bar."""

    def check(body) -> bool:
        st = body["symbols"].get(SYMBOL, {})
        at = st.get("state") == "following" and _ms(st.get("last_bar")) == row_open
        return at and (not signalled or st["last_signal"] == st["last_bar"])

    return check


def _ms(iso: str | None) -> int | None:
    from datetime import datetime

    return None if iso is None else int(datetime.fromisoformat(iso).timestamp() * 1000)


@pytest.fixture(scope="module")
def feed_app(ray_session, btc, tmp_path_factory):
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    frame = btc.slice(0, START_ROW + 100)
    start = open_ms(frame, START_ROW) + 600_000
    with FakeExchange({SYMBOL: frame}, HOUR_MS, start) as exchange:
        feed = fast_feed([SYMBOL], exchange.url, HISTORY)
        app = FeedApp("feed-e2e", tmp_path_factory.mktemp("feed") / "state.db", feed)
        app.deploy()
        yield app, exchange
        app.close()


def test_feed_follows_stores_signals_and_survives_a_replica_kill(feed_app, btc) -> None:
    app, exchange = feed_app
    app.wait(_following_at(open_ms(btc, START_ROW - 1), False), what="backfill")
    assert app.query("SELECT COUNT(*) FROM candles") == [(HISTORY,)]
    assert app.query("SELECT COUNT(*) FROM predictions") == [(0,)]

    for i in range(4):  # live bars, one by one, one with a malformed row first
        if i == 2:
            exchange.inject("malformed", row=0)
        exchange.advance(1)
        app.wait(_following_at(open_ms(btc, START_ROW + i), True), what=f"bar {i}")
    body = app.feed()["symbols"][SYMBOL]
    assert "malformed" in body["last_error"] and body["rows_rejected"] == 1
    assert body["lag_s"] > 0

    exchange.advance(2)
    app.kill()  # while it may be storing those two bars
    exchange.advance(2)
    app.wait(_following_at(open_ms(btc, START_ROW + 7), True), timeout_s=120, what="resume")

    app.restart()  # the whole app, while the exchange moves on
    exchange.advance(3)
    app.wait(_following_at(open_ms(btc, START_ROW + 10), True), timeout_s=120, what="restart")
    assert "/v1/feed" in app.client.get("/openapi.json").json()["paths"]

    bars = 11
    stored = app.query("SELECT ts, close FROM candles ORDER BY ts")
    real = btc.slice(START_ROW - HISTORY, HISTORY + bars)
    assert [t // 1000 for t, _ in stored] == [open_ms(real, i) for i in range(real.height)]
    assert [c for _, c in stored] == real["close"].to_list()
    preds = app.query(
        "SELECT COUNT(*), COUNT(DISTINCT as_of), SUM(resolved_at IS NOT NULL) FROM predictions"
    )
    assert preds == [(bars, bars, bars - HORIZON)]
    as_of = [r[0] // 1000 for r in app.query("SELECT as_of FROM predictions ORDER BY as_of")]
    assert as_of == [open_ms(btc, START_ROW + i) for i in range(bars)]
    perf = app.client.get(f"/v1/performance/{SYMBOL}").json()
    assert perf["predictions"] == {"pending": HORIZON, "resolved": bars - HORIZON}
