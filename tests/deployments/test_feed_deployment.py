"""The feed deployment's adapter (ServeSink) over an in-process state, without Ray."""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
import pytest

from deployments.feed import FeedDeployment, ServeSink
from models.ensemble import Ensemble, EnsembleConfig
from models.errors import DataValidationError
from models.feed import Bar
from models.serving.state import ServingState
from models.store import StateStore


class _Method:
    def __init__(self, fn) -> None:
        self.fn = fn

    def remote(self, *args: Any) -> Any:
        async def call() -> Any:
            try:
                return self.fn(*args)
            except DataValidationError as exc:  # as client_errors_as_values does
                return exc

        return call()


class FakeHandle:
    """``handle.method.remote(...)`` awaiting the object's method in process."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getattr__(self, name: str) -> _Method:
        return _Method(getattr(self.obj, name))


class FakeEnsemble:
    def __init__(self, answer: Any = None) -> None:
        self.calls: list[tuple] = []
        self.answer = answer

    def predict(self, symbol: str, frame: pl.DataFrame, store: bool, min_version: int) -> Any:
        self.calls.append((symbol, frame.height, store, min_version, frame["timestamp"][-1]))
        return self.answer if self.answer is not None else {"signal": "HOLD"}


def _bars(frame: pl.DataFrame) -> list[Bar]:
    return [
        Bar(
            int(r["timestamp"].timestamp() * 1000),
            r["open"],
            r["high"],
            r["low"],
            r["close"],
            r["volume"],
        )
        for r in frame.iter_rows(named=True)
    ]


def _parts(path, **sink_options: Any) -> tuple[ServingState, FakeEnsemble, ServeSink]:
    """An in-process state, a fake ensemble and the sink over both (hourly bars)."""
    state = ServingState(StateStore(path / "s.db"), Ensemble(EnsembleConfig()))
    ensemble = FakeEnsemble()
    sink = ServeSink(
        FakeHandle(state),
        FakeHandle(ensemble),
        window_bars=256,
        min_bars=229,
        interval_ms=3_600_000,
        **sink_options,
    )
    return state, ensemble, sink


@pytest.fixture
def parts(tmp_path, btc):
    state, ensemble, sink = _parts(tmp_path)
    yield state, ensemble, sink, _bars(btc.slice(5000, 300))
    state.store.close()


def test_history_and_live_bars_take_the_validated_append_and_predict(parts) -> None:
    state, ensemble, sink, bars = parts
    assert asyncio.run(sink.cursor("BTCUSDT")) == (None, None, 0)
    asyncio.run(sink.append("BTCUSDT", bars[:299]))
    version = asyncio.run(sink.append("BTCUSDT", bars[299:]))
    assert asyncio.run(sink.signal("BTCUSDT", bars[-1].open_ms, version))
    symbol, height, store, min_version, newest = ensemble.calls[-1]
    assert (symbol, height, store, min_version) == ("BTCUSDT", 256, True, version)
    assert int(newest.timestamp() * 1000) == bars[-1].open_ms
    assert asyncio.run(sink.cursor("BTCUSDT")) == (bars[-1].open_ms, None, state.version)
    assert state.store.candles("BTCUSDT").height == 300


def test_a_duplicate_bar_is_refused_by_the_store(parts) -> None:
    _, _, sink, bars = parts
    asyncio.run(sink.append("BTCUSDT", bars[:10]))
    with pytest.raises(DataValidationError, match="continue after"):
        asyncio.run(sink.append("BTCUSDT", bars[9:10]))


def test_no_signal_on_too_short_a_history_or_an_unpredictable_window(parts) -> None:
    _, ensemble, sink, bars = parts
    asyncio.run(sink.append("BTCUSDT", bars[:100]))
    assert not asyncio.run(sink.signal("BTCUSDT", bars[99].open_ms, 0))
    asyncio.run(sink.append("BTCUSDT", bars[100:299]))
    ensemble.answer = ValueError("cannot predict this window")
    assert not asyncio.run(sink.signal("BTCUSDT", bars[298].open_ms, 0))
    assert not asyncio.run(sink.signal("BTCUSDT", bars[0].open_ms, 0))  # not the newest


def test_without_feed_settings_the_deployment_idles() -> None:
    cls = FeedDeployment.func_or_class
    feed = cls.__new__(cls)
    asyncio.run(feed.__init__(None, None, {}))
    assert asyncio.run(feed.status()) == {"enabled": False, "symbols": {}}
    feed.check_health()


def test_a_signal_waits_for_the_leaders_bar(tmp_path, btc, real_candles) -> None:
    """Symbols feed on their own tasks: ETHUSDT's signal waits until BTCUSDT's same bar is
    stored (its lgbm needs it beside the window), and gives up after ``leader_wait_s``."""
    state, _, sink = _parts(tmp_path, leaders=frozenset({"BTCUSDT"}), leader_wait_s=5.0)
    leader, other = _bars(btc.slice(5000, 300)), _bars(real_candles("ETHUSDT").slice(5000, 300))
    assert leader[-1].open_ms == other[-1].open_ms

    async def run() -> list[str]:
        order: list[str] = []
        await sink.append("BTCUSDT", leader[:299])
        await sink.append("ETHUSDT", other)

        async def eth() -> None:
            await sink.signal("ETHUSDT", other[-1].open_ms, 0)
            order.append("ETHUSDT signal")

        async def btc_late() -> None:
            await asyncio.sleep(0.3)
            order.append("BTCUSDT bar")
            await sink.append("BTCUSDT", leader[299:])

        await asyncio.gather(eth(), btc_late())
        return order

    assert asyncio.run(run()) == ["BTCUSDT bar", "ETHUSDT signal"]
    sink.leader_wait_s = 0.2  # the leader never comes: predict without it, in time
    assert asyncio.run(sink.signal("ETHUSDT", other[-1].open_ms + 3_600_000, 0)) is False
    state.store.close()
