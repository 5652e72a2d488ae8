"""The feed sink's leader wait and window hand-over, without Ray."""

from __future__ import annotations

import asyncio

import polars as pl

from models.feed.signals import BarWindows, wait_for_leaders


def test_a_window_is_read_once_and_only_for_its_bar() -> None:
    windows = BarWindows()
    frame = pl.DataFrame({"close": [1.0]})
    windows.put("ETHUSDT", 1000, frame)
    assert windows.take("ETHUSDT", 2000) is None  # another bar: not this window
    assert windows.take("ETHUSDT", 1000) is None  # and it was dropped
    windows.put("ETHUSDT", 1000, frame)
    assert windows.take("ETHUSDT", 1000) is frame
    assert windows.take("ETHUSDT", 1000) is None


def test_waits_for_the_leaders_bar_then_goes_on() -> None:
    stored = {"BTCUSDT": 0}
    polls: list[str] = []

    async def last_bar(symbol: str) -> int | None:
        polls.append(symbol)
        stored["BTCUSDT"] += 500  # the leader's bar arrives on the third poll
        return stored["BTCUSDT"] if stored["BTCUSDT"] > 500 else None

    done = asyncio.run(
        wait_for_leaders({"BTCUSDT"}, "ETHUSDT", 1500, last_bar, wait_s=5.0, poll_s=0.001)
    )
    assert done and polls == ["BTCUSDT"] * 3


def test_the_leader_itself_and_a_late_leader_do_not_hold_a_signal_long() -> None:
    async def never(symbol: str) -> int | None:
        return None

    assert asyncio.run(wait_for_leaders({"BTCUSDT"}, "BTCUSDT", 1000, never))  # no wait
    now = [0.0]

    def clock() -> float:
        now[0] += 0.5
        return now[0]

    late = wait_for_leaders({"BTCUSDT"}, "ETHUSDT", 1000, never, 2.0, 0.0, clock)
    assert asyncio.run(late) is False
