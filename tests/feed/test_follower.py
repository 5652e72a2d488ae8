"""The Ray-free feed against the fake exchange: backfill, follow, and every fault."""

from __future__ import annotations

import asyncio
import random

import polars as pl
import pytest

from models.feed import Backoff, FeedSettings, KlinesClient, SymbolFeed
from tests.feed.conftest import HOUR_MS, START_ROW, MemorySink, open_ms
from tests.feed.fake_exchange import FakeExchange

SYMBOL = "BTCUSDT"


def settings(exchange: FakeExchange, **kw) -> FeedSettings:
    base = {"symbols": (SYMBOL,), "base_url": exchange.url, "backfill_bars": 300}
    return FeedSettings(**{**base, "request_timeout_s": 2.0, **kw})


def run(coro):
    return asyncio.run(coro)


async def cycles(feed: SymbolFeed, n: int = 1) -> list[float]:
    return [await feed.cycle() for _ in range(n)]


def make(exchange: FakeExchange, sink: MemorySink, **kw) -> SymbolFeed:
    cfg = settings(exchange, **kw)
    client = KlinesClient(cfg.base_url, cfg.request_timeout_s)
    backoff = Backoff(cfg.backoff_base_s, cfg.backoff_max_s, rng=random.Random(1))
    return SymbolFeed(SYMBOL, cfg, client, sink, backoff=backoff)


def assert_matches_exchange(sink: MemorySink, btc: pl.DataFrame, last_row: int) -> None:
    """Stored bars are exactly the real rows ending at ``last_row``: no holes, no dups."""
    n = len(sink.bars)
    real = btc.slice(last_row - n + 1, n)
    assert [b.open_ms for b in sink.bars] == [open_ms(real, i) for i in range(n)]
    assert [b.close for b in sink.bars] == real["close"].to_list()


def test_backfill_pages_by_start_time_and_stores_only_closed_bars(exchange, btc) -> None:
    sink = MemorySink()
    feed = make(exchange, sink, backfill_bars=2500)
    assert run(cycles(feed))[0] > 0
    assert len(sink.bars) == 2500 and feed.status.state == "following"
    assert_matches_exchange(sink, btc, START_ROW - 1)  # START_ROW is still forming
    asks = exchange.klines_requests()
    assert [int(r.params["limit"]) for r in asks] == [1000, 1000, 1000]
    starts = [int(r.params["startTime"]) for r in asks]
    assert starts[1] == starts[0] + 1000 * HOUR_MS and starts[2] == starts[1] + 1000 * HOUR_MS
    assert sink.signals == []  # history is not signalled


def test_following_stores_and_signals_each_new_bar_once(exchange, btc) -> None:
    sink = MemorySink()
    feed = make(exchange, sink)

    async def scenario() -> None:
        await feed.cycle()
        for _ in range(3):
            exchange.advance(1)
            await feed.cycle()
        exchange.advance(2)
        await feed.cycle()
        await feed.cycle()  # nothing new: nothing stored twice

    run(scenario())
    assert_matches_exchange(sink, btc, START_ROW + 4)
    assert [s[0] for s in sink.signals] == [b.open_ms for b in sink.bars[-5:]]
    assert sink.appends[1:] == [1] * 5  # live bars are appended one by one
    versions = [v for _, v in sink.signals]
    assert versions == sorted(versions) and versions[0] > 1  # each append's version


@pytest.mark.parametrize(
    ("kind", "kw", "needle"),
    [
        ("drop", {}, "connection failed"),
        ("stall", {"seconds": 1.5}, "stalled"),
        ("status", {"code": 503}, "HTTP 503"),
        ("status", {"code": 502}, "HTTP 502"),
    ],
)
def test_transient_faults_back_off_then_recover(exchange, btc, kind, kw, needle) -> None:
    sink = MemorySink()
    feed = make(exchange, sink, request_timeout_s=0.5, backoff_base_s=1.0, backoff_max_s=8.0)
    exchange.inject(kind, count=3, **kw)
    waits = run(cycles(feed, 3))
    assert feed.status.state == "retrying" and needle in feed.status.last_error
    assert all(0.1 <= w <= 8.0 for w in waits) and feed.status.retries == 3
    assert sink.bars == []
    run(cycles(feed))
    assert feed.status.state == "following" and feed.backoff.failures == 0
    assert_matches_exchange(sink, btc, START_ROW - 1)


@pytest.mark.parametrize("code", [429, 418])
def test_rate_limits_wait_as_the_exchange_says(exchange, code) -> None:
    sink = MemorySink()
    feed = make(exchange, sink)
    exchange.inject("status", code=code, retry_after=7)
    assert run(cycles(feed)) == [7.0]
    assert f"HTTP {code}" in feed.status.last_error and feed.status.state == "retrying"
    run(cycles(feed))
    assert len(sink.bars) == 300


@pytest.mark.parametrize("kind", ["malformed", "out_of_order"])
def test_a_bad_row_is_rejected_and_the_feed_goes_on_without_a_hole(exchange, btc, kind) -> None:
    sink = MemorySink()
    feed = make(exchange, sink)
    run(cycles(feed))
    exchange.advance(4)
    exchange.inject(kind, row=2)
    run(cycles(feed))
    assert len(sink.bars) == 302  # the two rows before the bad one
    assert feed.status.rows_rejected == 1 and feed.status.state == "retrying"
    assert kind.replace("_", "-") in feed.status.last_error
    run(cycles(feed))
    assert_matches_exchange(sink, btc, START_ROW + 3)
    assert feed.status.state == "following"


def test_downtime_gap_is_backfilled_and_signalled_after_a_restart(exchange, btc) -> None:
    sink = MemorySink()
    first = make(exchange, sink)
    run(cycles(first))
    exchange.advance(1)
    run(cycles(first))
    assert len(sink.signals) == 1
    exchange.advance(30)  # the feed is down for 30 bars
    feed = make(exchange, sink)
    run(cycles(feed))
    assert_matches_exchange(sink, btc, START_ROW + 30)
    assert [s[0] for s in sink.signals] == [b.open_ms for b in sink.bars[-31:]]


def test_a_signal_lost_between_append_and_predict_is_made_on_resume(exchange) -> None:
    sink = MemorySink()
    first = make(exchange, sink)
    run(cycles(first))
    exchange.advance(1)
    run(cycles(first))
    bar = sink.bars[-1]
    exchange.advance(1)
    real_signal = sink.signal

    async def dies(symbol: str, as_of_ms: int, min_version: int) -> bool:
        raise asyncio.CancelledError  # the replica is killed here

    sink.signal = dies
    with pytest.raises(asyncio.CancelledError):
        run(cycles(make(exchange, sink)))
    assert sink.signals[-1][0] == bar.open_ms  # newest bar stored, its signal lost
    sink.signal = real_signal
    run(cycles(make(exchange, sink)))
    assert sink.signals[-1] == (sink.bars[-1].open_ms, sink.version) and len(sink.signals) == 2


def test_after_a_long_outage_only_the_newest_bars_are_signalled(exchange) -> None:
    sink = MemorySink()
    first = make(exchange, sink)
    run(cycles(first))
    exchange.advance(1)
    run(cycles(first))
    exchange.advance(50)
    run(cycles(make(exchange, sink, signal_catchup_bars=10)))
    assert len(sink.signals) == 1 + 10 and len(sink.bars) == 351


def test_the_exchanges_own_gap_is_accepted(exchange, btc) -> None:
    sink = MemorySink()
    feed = make(exchange, sink)
    run(cycles(feed))
    gap = open_ms(btc, START_ROW + 1)
    exchange.remove(SYMBOL, gap, gap + 2 * HOUR_MS)
    exchange.advance(5)
    run(cycles(feed))
    opens = [b.open_ms for b in sink.bars[-3:]]
    assert opens == [open_ms(btc, START_ROW + i) for i in (0, 3, 4)]


def test_a_client_append_beside_the_feed_makes_it_resume(exchange) -> None:
    sink = MemorySink()
    feed = make(exchange, sink)
    run(cycles(feed))
    exchange.advance(2)
    sink.bars.append(sink.bars[-1].__class__(sink.bars[-1].open_ms + HOUR_MS, 1, 1, 1, 1, 1))
    run(cycles(feed))  # its cursor is stale: the store refuses, the feed re-reads it
    assert "store refused" in feed.status.last_error
    run(cycles(feed))
    assert feed.status.state == "following" and len(sink.bars) == 302


def test_run_polls_until_stopped(exchange) -> None:
    sink = MemorySink()
    feed = make(exchange, sink, poll_max_s=0.05, poll_delay_s=0.0)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        await asyncio.sleep(0.3)
        exchange.advance(1)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.wait_for(task, 2)

    run(scenario())
    assert len(sink.bars) == 301 and len(sink.signals) == 1


def test_backoff_has_jitter_a_cap_and_resets() -> None:
    backoff = Backoff(1.0, 8.0, rng=random.Random(0))
    waits = [backoff.next() for _ in range(20)]
    assert all(0.1 <= w <= 8.0 for w in waits) and len(set(waits)) > 10
    assert backoff.next(retry_after=30) == 30 and backoff.next(retry_after=10_000) == 600
    backoff.reset()
    assert backoff.next() <= 1.0


def test_an_unreachable_store_is_retried_from_the_stored_cursor(exchange, btc) -> None:
    sink = MemorySink()
    feed = make(exchange, sink)
    run(cycles(feed))
    exchange.advance(2)
    real_append = sink.append

    async def lands_then_fails(symbol, bars):
        await real_append(symbol, bars)
        raise ConnectionError("state replica died")

    sink.append = lands_then_fails
    run(cycles(feed))
    assert "store unavailable" in feed.status.last_error and len(sink.bars) == 301
    sink.append = real_append
    run(cycles(feed))
    assert_matches_exchange(sink, btc, START_ROW + 1)
    assert [s[0] for s in sink.signals] == [b.open_ms for b in sink.bars[-2:]]
